//! `complete`: record a task `completed` and end any processes it left.

use std::time::Duration;

use crate::cli::IdArgs;
use crate::error::{Error, Result};
use crate::process;
use crate::registry::{Event, Status, Store};

/// Grace period between SIGTERM and SIGKILL for leftovers.
const GRACE: Duration = Duration::from_secs(2);

pub fn run(store: &Store, args: &IdArgs) -> Result<u8> {
    let registry = store.load()?;
    let task = super::find_task(store, &registry, &args.id)?.clone();

    let previous = store.update(|registry, events| {
        let Some(task) = registry.task_mut(&args.id) else {
            return Ok(None);
        };
        let previous = task.status;
        if previous == Status::Running {
            task.end(Status::Completed, "completed");
            events.push(Event::new(&args.id, "completed"));
        }
        Ok(Some(previous))
    })?;

    let outcome = process::end_tree(&task, libc::SIGTERM, GRACE)
        .map_err(|error| Error::io(format!("cannot end processes of task {:?}", args.id), error))?;
    if outcome.signalled > 0 {
        store.update(|_, events| {
            events.push(
                Event::new(&args.id, "leftovers_ended")
                    .with("count", outcome.signalled)
                    .with("killed", outcome.killed),
            );
            Ok(())
        })?;
    }

    let processes = crate::render::count(outcome.signalled, "process", "processes");
    let text = match previous {
        Some(Status::Running) | None => {
            format!("completed {}; ended {processes} still running\n", args.id)
        }
        Some(other) => format!(
            "{} had already ended ({}); ended {processes} left over\n",
            args.id,
            other.as_str()
        ),
    };
    super::write_stdout(&text)?;
    Ok(0)
}
