//! Timeouts of tasks whose monitor is gone.
//!
//! A task's monitor ends it at its `--timeout` deadline. When the monitor was
//! killed, the daemon takes that over: it keeps one timer, set to the earliest
//! deadline among running tasks whose monitor is gone, so a daemon with no such
//! task has no timer at all.

use std::time::Duration;

use chrono::Utc;

use crate::error::{Error, Result};
use crate::process;
use crate::registry::{Event, Registry, Status, Store, Task};

/// Grace period between SIGTERM and SIGKILL when the daemon ends a timed-out tree.
const GRACE: Duration = Duration::from_secs(2);

/// Returns the earliest timeout among running tasks whose monitor is gone, as the time
/// left until it and the task's id.
pub fn next_deadline(registry: &Registry) -> Option<(Duration, String)> {
    registry
        .valid_tasks()
        .filter(|(_, task)| task.status == Status::Running && process::monitor_lost(task))
        .filter_map(|(id, task)| Some((time_left(task)?, id.clone())))
        .min()
}

/// Records task `id` failed with reason `timeout` and ends its tree, if it is still
/// running past its deadline with its monitor gone.
pub fn enforce(store: &Store, id: &str) -> Result<()> {
    let timed_out = store.update(|registry, events| {
        let Some(task) = registry.task_mut(id) else {
            return Ok(None);
        };
        if task.status != Status::Running
            || !process::monitor_lost(task)
            || time_left(task) != Some(Duration::ZERO)
        {
            return Ok(None);
        }
        task.end(Status::Failed, "timeout");
        events.push(
            Event::new(id, "exited")
                .with("status", task.status.as_str())
                .with("reason", "timeout")
                .with("by", "daemon"),
        );
        Ok(Some(task.clone()))
    })?;
    let Some(task) = timed_out else {
        return Ok(());
    };
    let outcome = process::end_tree(&task, libc::SIGTERM, GRACE)
        .map_err(|error| Error::io(format!("cannot end task {id:?} at its timeout"), error))?;
    tracing::info!(task = %id, signalled = outcome.signalled, killed = outcome.killed, "task timed out");
    Ok(())
}

/// Time until the task's timeout passes; zero once it has.
fn time_left(task: &Task) -> Option<Duration> {
    let limit = chrono::Duration::from_std(Duration::from_secs_f64(task.timeout_secs?)).ok()?;
    let deadline = task.started()? + limit;
    Some((deadline - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}
