//! `list`: one row per task, with the verified liveness of each running native task.
//! Records that do not fit the schema are listed too, marked invalid with the reason.

use serde_json::{Value, json};

use crate::cli::JsonArgs;
use crate::error::Result;
use crate::process::{self, ProcessState};
use crate::registry::{Status, Store, Task, TaskEntry};
use crate::render;

use super::check::state_name;
use super::stats;

/// The line width the table is fitted to, shortening the command column.
const LINE_WIDTH: usize = 100;

/// The narrowest the command column gets, even when that makes a line longer.
const MIN_COMMAND_WIDTH: usize = 20;

const HEADERS: [&str; 6] = ["ID", "STATUS", "PROCESS", "PID", "RUNTIME", "EXIT"];

/// One task as the table shows it.
struct Row {
    id: String,
    status: String,
    process: String,
    pid: String,
    runtime: String,
    exit: String,
    command: String,
}

pub fn run(store: &Store, args: &JsonArgs) -> Result<u8> {
    let registry = store.load()?;

    if args.json {
        let rows: Vec<Value> = registry
            .tasks
            .iter()
            .map(|(id, entry)| match entry {
                TaskEntry::Valid(task) => json_row(id, task, process::main_state(task)),
                TaskEntry::Invalid { reason, .. } => {
                    json!({"id": id, "invalid": true, "reason": reason})
                }
            })
            .collect();
        return super::print_json(&rows).map(|()| 0);
    }

    if registry.tasks.is_empty() {
        super::write_stdout(&format!(
            "no tasks recorded in {}\n",
            store.path().display()
        ))?;
        return Ok(0);
    }
    let rows: Vec<Row> = registry
        .tasks
        .iter()
        .map(|(id, entry)| match entry {
            TaskEntry::Valid(task) => task_row(id, task, process::main_state(task)),
            TaskEntry::Invalid { reason, .. } => invalid_row(id, reason),
        })
        .collect();
    super::write_stdout(&table(&rows))?;
    Ok(0)
}

fn json_row(id: &str, task: &Task, state: ProcessState) -> Value {
    json!({
        "id": id,
        "status": task.status.as_str(),
        "alive": state.is_alive(),
        "process_state": state_name(state),
        "pid": task.native.as_ref().map(|native| native.pid),
        "mode": task.mode,
        "command": task.command,
        "started_at": task.started_at,
        "completed_at": task.completed_at,
        "exit_code": task.exit_code,
        "signal": task.signal,
        "reason": task.reason,
    })
}

fn task_row(id: &str, task: &Task, state: ProcessState) -> Row {
    let exit = if task.status == Status::Running {
        "-".to_string()
    } else {
        render::exit_summary(task)
    };
    Row {
        id: id.to_string(),
        status: task.status.as_str().to_string(),
        process: process_word(task, state).to_string(),
        pid: task
            .native
            .as_ref()
            .map_or_else(|| "-".to_string(), |native| native.pid.to_string()),
        runtime: render::runtime(task).map_or_else(|| "-".to_string(), render::duration),
        exit,
        command: task.command.clone(),
    }
}

fn invalid_row(id: &str, reason: &str) -> Row {
    Row {
        id: id.to_string(),
        status: "invalid".to_string(),
        process: "-".to_string(),
        pid: "-".to_string(),
        runtime: "-".to_string(),
        exit: "-".to_string(),
        command: format!("invalid record: {reason}"),
    }
}

/// Names what backs the task in one word. An ended task shows `-` unless its main process
/// is somehow still alive, which is worth seeing.
fn process_word(task: &Task, state: ProcessState) -> &'static str {
    if task.status.is_ended() {
        return if state.is_alive() { "alive" } else { "-" };
    }
    if task.is_logical() {
        return "logical";
    }
    if !stats::is_native(task) {
        // NOTE: container liveness needs the Docker engine, which `list` does not ask.
        return "container";
    }
    if task.native.is_none() {
        return if process::monitor_alive(task) {
            "starting"
        } else {
            "not started"
        };
    }
    state_name(state)
}

/// Lays out `rows` in aligned columns, shortening commands so lines fit
/// [`LINE_WIDTH`] where the other columns leave room.
fn table(rows: &[Row]) -> String {
    let cells = |row: &Row| {
        [
            row.id.clone(),
            row.status.clone(),
            row.process.clone(),
            row.pid.clone(),
            row.runtime.clone(),
            row.exit.clone(),
        ]
    };
    let mut widths = HEADERS.map(|header| header.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(cells(row)) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let fixed: usize = widths.iter().map(|width| width + 2).sum();
    let command_width = LINE_WIDTH.saturating_sub(fixed).max(MIN_COMMAND_WIDTH);

    let mut out = String::new();
    render::push_row(&mut out, &HEADERS.map(str::to_string), &widths, "COMMAND");
    for row in rows {
        render::push_row(
            &mut out,
            &cells(row),
            &widths,
            &render::truncate(&row.command, command_width),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: &str) -> Task {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn table_fits_line_width() {
        let long = task(&format!(
            r#"{{"command": "{}", "status": "completed", "exit_code": 0,
                "started_at": "2026-01-01T00:00:00Z", "completed_at": "2026-01-01T00:00:05Z"}}"#,
            "x".repeat(300)
        ));
        let rows = [task_row("T1", &long, ProcessState::Exited)];
        let text = table(&rows);
        for line in text.lines() {
            assert!(line.chars().count() <= LINE_WIDTH, "{line:?}");
        }
        assert!(text.contains("exit 0"));
        assert!(text.contains("5.0s"));
        assert!(text.contains('…'));
    }

    #[test]
    fn logical_running_task_has_no_pid() {
        let logical = task(
            r#"{"command": "review", "status": "running", "started_at": "2026-01-01T00:00:00Z"}"#,
        );
        let row = task_row("T2", &logical, ProcessState::None);
        assert_eq!(row.process, "logical");
        assert_eq!(row.pid, "-");
        assert_eq!(row.exit, "-");
    }

    #[test]
    fn invalid_row_shows_reason() {
        let row = invalid_row("bad", "unknown variant `paused`");
        assert_eq!(row.status, "invalid");
        assert!(row.command.contains("paused"));
    }

    #[test]
    fn json_row_has_contract_fields() {
        let ended = task(
            r#"{"command": "make", "status": "failed", "signal": "SIGKILL", "reason": "signal",
                "started_at": "2026-01-01T00:00:00Z", "completed_at": "2026-01-01T00:01:00Z",
                "native": {"pid": 42, "pgid": 42}}"#,
        );
        let value = json_row("T3", &ended, ProcessState::Exited);
        for key in [
            "id",
            "status",
            "alive",
            "pid",
            "mode",
            "command",
            "started_at",
            "completed_at",
            "exit_code",
            "signal",
            "reason",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        assert_eq!(value["pid"], 42);
        assert_eq!(value["alive"], false);
        assert_eq!(value["signal"], "SIGKILL");
    }
}
