//! `stats`: task counts by status. dev-kid parses the lines `Total tasks: N`,
//! `Running: N`, `Completed: N` and `Failed: N`, so their wording and order stay fixed.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::JsonArgs;
use crate::error::Result;
use crate::process::{self, ProcessState};
use crate::registry::{Registry, Status, Store, Task, TaskEntry};

/// Task counts. `total` counts every record, invalid ones included, so it can exceed
/// the sum of the status counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub running: usize,
    pub completed: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub invalid: usize,
    /// Running tasks backed by a native process whose identity-verified process is alive.
    pub running_with_process: usize,
    /// Running tasks backed by a native process that is gone, reused or unverifiable.
    pub running_without_process: usize,
}

/// Counts the tasks in `registry`, checking the process of each running native task.
pub fn count(registry: &Registry) -> Counts {
    let mut counts = Counts {
        total: registry.tasks.len(),
        ..Counts::default()
    };
    for entry in registry.tasks.values() {
        let task = match entry {
            TaskEntry::Valid(task) => task,
            TaskEntry::Invalid { .. } => {
                counts.invalid += 1;
                continue;
            }
        };
        match task.status {
            Status::Running => counts.running += 1,
            Status::Completed => counts.completed += 1,
            Status::Failed => counts.failed += 1,
            Status::Cancelled => counts.cancelled += 1,
        }
        if task.status == Status::Running && is_native(task) {
            if has_live_process(task, process::main_state(task)) {
                counts.running_with_process += 1;
            } else {
                counts.running_without_process += 1;
            }
        }
    }
    counts
}

/// True for a task backed by a local process: launched by `start` or attached with
/// `register --pid`. Containers and logical tasks are not.
pub fn is_native(task: &Task) -> bool {
    task.docker.is_none() && task.mode != "docker" && !task.is_logical()
}

/// True when the native task's process is alive with the recorded identity, or, for a
/// task whose monitor has not recorded the process yet, when the monitor is alive.
pub fn has_live_process(task: &Task, main: ProcessState) -> bool {
    if main.is_alive() {
        return true;
    }
    task.native.is_none() && process::monitor_alive(task)
}

pub fn run(store: &Store, args: &JsonArgs) -> Result<u8> {
    let registry = store.load()?;
    let counts = count(&registry);
    if args.json {
        super::print_json(&counts)?;
    } else {
        super::write_stdout(&human_view(&counts))?;
    }
    Ok(0)
}

fn human_view(counts: &Counts) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Total tasks: {}", counts.total);
    let _ = writeln!(out, "Running: {}", counts.running);
    let _ = writeln!(out, "Completed: {}", counts.completed);
    let _ = writeln!(out, "Failed: {}", counts.failed);
    let _ = writeln!(out, "Cancelled: {}", counts.cancelled);
    let _ = writeln!(
        out,
        "Running with a live process: {}",
        counts.running_with_process
    );
    let _ = writeln!(
        out,
        "Running without a live process: {}",
        counts.running_without_process
    );
    if counts.invalid > 0 {
        let _ = writeln!(out, "Invalid: {}", counts.invalid);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(json: &str) -> Registry {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn counts_by_status_and_invalid() {
        let registry = registry(
            r#"{"tasks": {
                "a": {"command": "x", "status": "running", "started_at": "2026-01-01T00:00:00Z"},
                "b": {"command": "x", "status": "completed", "started_at": "2026-01-01T00:00:00Z"},
                "c": {"command": "x", "status": "failed", "started_at": "2026-01-01T00:00:00Z"},
                "d": {"command": "x", "status": "cancelled", "started_at": "2026-01-01T00:00:00Z"},
                "e": {"command": "x", "status": "failed", "started_at": "2026-01-01T00:00:00Z"},
                "f": {"command": "x", "status": "paused", "started_at": "2026-01-01T00:00:00Z"}
            }}"#,
        );
        let counts = count(&registry);
        assert_eq!(counts.total, 6);
        assert_eq!(counts.running, 1);
        assert_eq!(counts.completed, 1);
        assert_eq!(counts.failed, 2);
        assert_eq!(counts.cancelled, 1);
        assert_eq!(counts.invalid, 1);
        // The running task is logical, so it has no process to be missing.
        assert_eq!(counts.running_without_process, 0);
    }

    #[test]
    fn counts_gone_native_process() {
        // PID 0 is never a task's process, and an earlier-version record without
        // identity cannot be verified, so neither counts as live.
        let registry = registry(
            r#"{"tasks": {
                "a": {"command": "x", "status": "running", "started_at": "2026-01-01T00:00:00Z",
                      "native": {"pid": 0, "pgid": 0}}
            }}"#,
        );
        let counts = count(&registry);
        assert_eq!(counts.running_with_process, 0);
        assert_eq!(counts.running_without_process, 1);
    }

    #[test]
    fn human_lines_keep_fixed_order() {
        let text = human_view(&Counts {
            total: 4,
            running: 1,
            completed: 1,
            failed: 1,
            cancelled: 1,
            ..Counts::default()
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..4],
            ["Total tasks: 4", "Running: 1", "Completed: 1", "Failed: 1"]
        );
        assert_eq!(lines[4], "Cancelled: 1");
        assert!(!text.contains("Invalid"));
    }
}
