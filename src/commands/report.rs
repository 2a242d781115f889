//! `report`: CPU and memory of each running task, summed over its process tree.
//!
//! Every task is measured from one scan of the process table, so the rows and the
//! total describe the same moment.

use std::fmt::Write as _;

use serde_json::{Value, json};
use task_watchdog_platform::proc_table::ProcessTable;

use crate::cli::JsonArgs;
use crate::error::{Error, Result};
use crate::process::{self, Usage};
use crate::registry::{Status, Store, Task};
use crate::render;

use super::stats;

/// The line width the table is fitted to, shortening the command column.
const LINE_WIDTH: usize = 100;

/// The narrowest the command column gets, even when that makes a line longer.
const MIN_COMMAND_WIDTH: usize = 20;

/// One running task and what was measured for it.
struct Entry<'a> {
    id: &'a str,
    task: &'a Task,
    alive: bool,
    /// `None` for tasks with nothing to measure: logical tasks, and containers when no
    /// engine responds.
    usage: Option<Usage>,
}

pub fn run(store: &Store, args: &JsonArgs) -> Result<u8> {
    let registry = store.load()?;
    let running: Vec<(&String, &Task)> = registry
        .valid_tasks()
        .filter(|(_, task)| task.status == Status::Running)
        .collect();

    let table = if running.iter().any(|(_, task)| stats::is_native(task)) {
        Some(
            ProcessTable::scan()
                .map_err(|error| Error::io("cannot read the process table", error))?,
        )
    } else {
        None
    };
    let containers = measure_containers(&running);
    let entries: Vec<Entry> = running
        .into_iter()
        .map(|(id, task)| match containers.get(id.as_str()) {
            Some(view) => Entry {
                id,
                task,
                alive: view.running,
                usage: super::check::container_usage(view),
            },
            None => measure(id, task, table.as_ref()),
        })
        .collect();

    if args.json {
        let rows: Vec<Value> = entries.iter().map(json_row).collect();
        return super::print_json(&rows).map(|()| 0);
    }
    if entries.is_empty() {
        super::write_stdout(&format!("no running tasks in {}\n", store.path().display()))?;
        return Ok(0);
    }
    super::write_stdout(&human_view(&entries))?;
    Ok(0)
}

/// Measures the running Docker tasks through the engine. Without an engine their
/// rows show no numbers, and one line on stderr gives the cause.
fn measure_containers(
    running: &[(&String, &Task)],
) -> std::collections::HashMap<String, crate::docker::stats::ContainerView> {
    let containers: Vec<(&str, &Task)> = running
        .iter()
        .filter(|(_, task)| crate::docker::is_docker(task))
        .map(|(id, task)| (id.as_str(), *task))
        .collect();
    if containers.is_empty() {
        return Default::default();
    }
    crate::docker::stats::view_tasks(&containers).unwrap_or_else(|error| {
        eprintln!("task-watchdog: warning: container tasks are not measured: {error}");
        Default::default()
    })
}

fn measure<'a>(id: &'a str, task: &'a Task, table: Option<&ProcessTable>) -> Entry<'a> {
    let usage = match table {
        Some(table) if stats::is_native(task) => {
            Some(process::usage(&process::members(task, table, false), table))
        }
        _ => None,
    };
    Entry {
        id,
        task,
        alive: process::main_state(task).is_alive(),
        usage,
    }
}

fn json_row(entry: &Entry) -> Value {
    json!({
        "id": entry.id,
        "alive": entry.alive,
        "pid": entry.task.native.as_ref().map(|native| native.pid),
        "logical": entry.task.is_logical(),
        "processes": entry.usage.map(|usage| usage.processes),
        "cpu_percent": entry.usage.map(|usage| round_tenth(usage.cpu_percent)),
        "rss_bytes": entry.usage.map(|usage| usage.rss_bytes),
        "runtime_secs": render::runtime(entry.task).map(|span| span.as_secs_f64()),
        "command": entry.task.command,
    })
}

fn round_tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn human_view(entries: &[Entry]) -> String {
    let rows: Vec<[String; 6]> = entries.iter().map(cells).collect();
    let headers = ["ID", "PID", "PROCS", "CPU%", "RSS", "RUNTIME"].map(str::to_string);
    let mut widths = headers.clone().map(|header| header.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let fixed: usize = widths.iter().map(|width| width + 2).sum();
    let command_width = LINE_WIDTH.saturating_sub(fixed).max(MIN_COMMAND_WIDTH);

    let mut out = String::new();
    render::push_row(&mut out, &headers, &widths, "COMMAND");
    for (row, entry) in rows.iter().zip(entries) {
        render::push_row(
            &mut out,
            row,
            &widths,
            &render::truncate(&command_text(entry), command_width),
        );
    }

    let measured: Vec<Usage> = entries.iter().filter_map(|entry| entry.usage).collect();
    let processes: usize = measured.iter().map(|usage| usage.processes).sum();
    // Folding from +0.0, because an empty `f64` sum is -0.0 and would print as `-0.0`.
    let cpu_percent = measured
        .iter()
        .fold(0.0, |total, usage| total + usage.cpu_percent);
    let rss_bytes = measured.iter().map(|usage| usage.rss_bytes).sum();
    let tasks = match entries.len() {
        1 => "1 running task".to_string(),
        count => format!("{count} running tasks"),
    };
    let _ = writeln!(
        out,
        "Total: {tasks}, {processes} processes, CPU {cpu_percent:.1}%, RSS {}",
        render::bytes(rss_bytes),
    );
    out
}

/// Formats the id, main PID and numeric columns, with `-` where there is nothing to
/// measure.
fn cells(entry: &Entry) -> [String; 6] {
    let pid = entry
        .task
        .native
        .as_ref()
        .map_or_else(|| "-".to_string(), |native| native.pid.to_string());
    let runtime = render::runtime(entry.task).map_or_else(|| "-".to_string(), render::duration);
    match entry.usage {
        Some(usage) => [
            entry.id.to_string(),
            pid,
            usage.processes.to_string(),
            format!("{:.1}", usage.cpu_percent),
            render::bytes(usage.rss_bytes),
            runtime,
        ],
        None => [
            entry.id.to_string(),
            pid,
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
            runtime,
        ],
    }
}

/// Prefixes the command with the reason a task shows no numbers.
fn command_text(entry: &Entry) -> String {
    if entry.task.is_logical() {
        format!("(logical task, no process) {}", entry.task.command)
    } else if entry.usage.is_none() {
        // NOTE: container resources need the Docker engine, which `report` does not ask.
        format!("(container, not measured) {}", entry.task.command)
    } else if entry.usage.is_some_and(|usage| usage.processes == 0) {
        format!("(no live process) {}", entry.task.command)
    } else {
        entry.task.command.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: &str) -> Task {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn logical_task_shows_no_numbers() {
        let logical = task(
            r#"{"command": "review", "status": "running", "started_at": "2026-01-01T00:00:00Z"}"#,
        );
        let entry = measure("T1", &logical, None);
        assert!(entry.usage.is_none());
        assert_eq!(cells(&entry)[1], "-");
        assert_eq!(cells(&entry)[2], "-");
        assert!(command_text(&entry).starts_with("(logical task"));
        assert_eq!(json_row(&entry)["processes"], Value::Null);
        assert_eq!(json_row(&entry)["logical"], true);
    }

    #[test]
    fn total_without_measured_tasks_is_zero() {
        let logical = task(
            r#"{"command": "review", "status": "running", "started_at": "2026-01-01T00:00:00Z"}"#,
        );
        let text = human_view(&[measure("T1", &logical, None)]);
        let total = text.lines().last().unwrap();
        assert_eq!(
            total,
            "Total: 1 running task, 0 processes, CPU 0.0%, RSS 0 B"
        );
    }

    #[test]
    fn total_sums_measured_tasks() {
        let native = task(
            r#"{"command": "make", "status": "running", "started_at": "2026-01-01T00:00:00Z",
                "native": {"pid": 0, "pgid": 0}}"#,
        );
        let entries = [
            Entry {
                id: "a",
                task: &native,
                alive: true,
                usage: Some(Usage {
                    processes: 2,
                    cpu_percent: 12.5,
                    rss_bytes: 2048,
                }),
            },
            Entry {
                id: "b",
                task: &native,
                alive: true,
                usage: Some(Usage {
                    processes: 1,
                    cpu_percent: 0.5,
                    rss_bytes: 1024,
                }),
            },
        ];
        let text = human_view(&entries);
        let total = text.lines().last().unwrap();
        assert_eq!(
            total,
            "Total: 2 running tasks, 3 processes, CPU 13.0%, RSS 3.0 KiB"
        );
    }
}
