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
    let docker = crate::docker::is_docker(&task);
    if docker {
        // Reach the engine before recording, so an unreachable one leaves the record
        // as it was. The connection lives in this runtime only, so it is not kept.
        crate::docker::block_on(async { crate::docker::connect().await.map(drop) })?;
    }

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

    if docker {
        return stop_container(args, &task, previous);
    }

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

/// Stops the container of a Docker task just recorded completed, if it still runs.
fn stop_container(
    args: &IdArgs,
    task: &crate::registry::Task,
    previous: Option<Status>,
) -> Result<u8> {
    let mut stopped = false;
    if let Some(container) = crate::docker::record::container_ref(task) {
        stopped = crate::docker::block_on(async {
            let engine = crate::docker::connect().await?;
            let view = crate::docker::stats::view(&engine, container).await?;
            if view.running {
                crate::docker::stop::stop(&engine, container, None, GRACE).await?;
            }
            Ok(view.running)
        })?;
    }
    let container = if stopped {
        "stopped its container"
    } else {
        "its container was not running"
    };
    let text = match previous {
        Some(Status::Running) | None => format!("completed {}; {container}\n", args.id),
        Some(other) => format!(
            "{} had already ended ({}); {container}\n",
            args.id,
            other.as_str()
        ),
    };
    super::write_stdout(&text)?;
    Ok(0)
}
