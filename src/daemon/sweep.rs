//! The slow sweep: the one timer of the daemon (default every 300 s).
//!
//! Events cover what happens while the daemon runs; the sweep covers everything
//! else: exits that happened while it was down, processes it could not watch, and
//! processes left behind by tasks that have ended. It
//!
//! - records a `running` task whose main process and monitor are both gone
//!   (logical tasks, having no process, are never touched);
//! - ends the live processes of an ended task whose monitor is gone. Those are its
//!   identity-verified main process with that process's descendants, members of its
//!   process group started since the task, and processes whose environment carries
//!   its launch tag, which finds descendants that escaped the group.
//!
//! It blocks (a process-table scan, a grace period), so the daemon runs it on
//! tokio's blocking pool.

use std::collections::HashMap;
use std::time::Duration;

use task_watchdog_platform::proc_table::{self, ProcStat, ProcessTable};
use task_watchdog_platform::tree::{self, Target};
use task_watchdog_platform::{ProcessIdentity, identity};

use super::watcher;
use crate::error::{Error, Result};
use crate::process::{self, LAUNCH_VARIABLE, ProcessState};
use crate::registry::{Event, Status, Store, Task};

/// Grace period between SIGTERM and SIGKILL for leftovers.
const GRACE: Duration = Duration::from_secs(2);

/// The counts of what one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Running tasks found without a process and recorded as ended.
    pub recorded: usize,
    /// Leftover processes of ended tasks that were signalled.
    pub leftovers_ended: usize,
}

pub fn sweep(store: &Store) -> Result<SweepReport> {
    let registry = store.load()?;
    let mut report = SweepReport::default();

    for (id, task) in registry.valid_tasks() {
        if task.status != Status::Running || task.is_logical() || process::monitor_alive(task) {
            continue;
        }
        if matches!(
            process::main_state(task),
            ProcessState::Exited | ProcessState::Reused
        ) {
            watcher::record_lost(
                store,
                id,
                watcher::task_key(task),
                watcher::lost_reason(task),
            )?;
            report.recorded += 1;
        }
    }

    let ended: Vec<(&String, &Task)> = registry
        .valid_tasks()
        .filter(|(_, task)| {
            task.status.is_ended()
                && process::main_process(task).is_some()
                && !process::monitor_alive(task)
        })
        .collect();
    if ended.is_empty() {
        return Ok(report);
    }

    let table =
        ProcessTable::scan().map_err(|error| Error::io("cannot scan the process table", error))?;
    let tagged = tag_index(&table);
    let boot_id =
        identity::boot_id().map_err(|error| Error::io("cannot read the boot id", error))?;
    for (id, task) in ended {
        let targets = leftovers(task, &table, &tagged, &boot_id);
        if targets.is_empty() {
            continue;
        }
        let pids: Vec<i32> = targets.iter().map(|target| target.pid).collect();
        let outcome = tree::terminate(&targets, libc::SIGTERM, GRACE)
            .map_err(|error| Error::io(format!("cannot end leftovers of task {id:?}"), error))?;
        tracing::warn!(task = %id, status = task.status.as_str(), ?pids, killed = outcome.killed, "ended leftover processes of an ended task");
        report.leftovers_ended += outcome.signalled;
        store.update(|_, events| {
            events.push(
                Event::new(id, "leftovers_ended")
                    .with("count", outcome.signalled)
                    .with("killed", outcome.killed)
                    .with("by", "sweep"),
            );
            Ok(())
        })?;
    }
    Ok(report)
}

/// Maps each `TASK_WATCHDOG_LAUNCH` value to the live processes carrying it,
/// reading each process's environment once.
fn tag_index(table: &ProcessTable) -> HashMap<String, Vec<&ProcStat>> {
    let me = task_watchdog_platform::current_pid();
    let mut index: HashMap<String, Vec<&ProcStat>> = HashMap::new();
    for process in table.iter() {
        // PID 2 is kthreadd; kernel threads have no environment.
        if process.pid == me || process.pid == 2 || process.ppid == 2 || process.is_exited() {
            continue;
        }
        if let Some(tag) = proc_table::env_value(process.pid, LAUNCH_VARIABLE) {
            index.entry(tag).or_default().push(process);
        }
    }
    index
}

fn leftovers(
    task: &Task,
    table: &ProcessTable,
    tagged: &HashMap<String, Vec<&ProcStat>>,
    boot_id: &str,
) -> Vec<Target> {
    let Some((_, main_identity)) = process::main_process(task) else {
        return Vec::new();
    };
    if main_identity.boot_id != boot_id {
        return Vec::new();
    }
    let mut targets = process::members(task, table, false);
    let escaped = task
        .launch_id
        .as_deref()
        .and_then(|launch| tagged.get(launch));
    for process in escaped.into_iter().flatten() {
        if process.start_ticks >= main_identity.start_ticks
            && !targets.iter().any(|target| target.pid == process.pid)
        {
            targets.push(Target {
                pid: process.pid,
                identity: ProcessIdentity {
                    boot_id: boot_id.to_string(),
                    start_ticks: process.start_ticks,
                },
            });
        }
    }
    targets
}
