//! `rehydrate`: the summary an AI agent reads after losing its context. It lists what
//! is running now, and which running tasks need attention (their process is gone or
//! its PID was reused) with how to resolve them. It also lists what ended within
//! `--since` and how, the last output lines of each, and the task counts.
//!
//! Three formats: plain text (short, one task per line plus indented details),
//! Markdown (`--markdown`) and JSON (`--json`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::cli::RehydrateArgs;
use crate::error::Result;
use crate::process::{self, ProcessState};
use crate::registry::{DEFAULT_PATH, Registry, Status, Store, Task, TaskEntry};
use crate::render;
use crate::units::parse_duration;

use super::check::{self, state_name};
use super::stats::{self, Counts};

/// Maximum length of an output line in the summary, in characters. `logs` prints
/// whole lines.
const MAX_LINE_CHARS: usize = 300;

/// Everything the summary shows, gathered once and then rendered in one format.
struct Summary<'a> {
    generated_at: String,
    registry: &'a Path,
    since_text: String,
    since: Duration,
    running: Vec<Running<'a>>,
    attention: Vec<Attention>,
    ended: Vec<Ended<'a>>,
    counts: Counts,
}

struct Running<'a> {
    id: &'a str,
    task: &'a Task,
    state: ProcessState,
    log_tail: Vec<String>,
}

struct Ended<'a> {
    id: &'a str,
    task: &'a Task,
    log_tail: Vec<String>,
}

/// A running task, or an invalid record, that needs someone to act.
struct Attention {
    id: String,
    pid: Option<i32>,
    state: Option<ProcessState>,
    problem: String,
    /// Commands that resolve it, ready to paste. Empty when the fix is an edit.
    resolve: Vec<String>,
    /// One sentence saying which command to run when, or what to edit.
    hint: String,
}

pub fn run(store: &Store, args: &RehydrateArgs) -> Result<u8> {
    let since = parse_duration("--since", &args.since)?;
    let registry = store.load()?;
    let summary = summarize(store, &registry, Utc::now(), since, args);

    if args.json {
        super::print_json(&json_view(&summary))?;
    } else if args.markdown {
        super::write_stdout(&markdown_view(&summary))?;
    } else {
        super::write_stdout(&human_view(&summary))?;
    }
    Ok(0)
}

fn summarize<'a>(
    store: &'a Store,
    registry: &'a Registry,
    now: DateTime<Utc>,
    since: Duration,
    args: &RehydrateArgs,
) -> Summary<'a> {
    let prefix = command_prefix(store.path());
    let tail = |id: &str, task: &Task| -> Vec<String> {
        render::tail_lines(&check::log_path(store, id, task), args.lines)
            .iter()
            .map(|line| render::truncate(&render::clean_line(line), MAX_LINE_CHARS))
            .collect()
    };

    let mut running = Vec::new();
    let mut attention = Vec::new();
    for (id, task) in registry
        .valid_tasks()
        .filter(|(_, task)| task.status == Status::Running)
    {
        let state = process::main_state(task);
        if let Some(item) = needs_attention(id, task, state, &prefix) {
            attention.push(item);
        }
        running.push(Running {
            id,
            task,
            state,
            log_tail: tail(id, task),
        });
    }
    for (id, entry) in &registry.tasks {
        if let TaskEntry::Invalid { reason, .. } = entry {
            attention.push(Attention {
                id: id.clone(),
                pid: None,
                state: None,
                problem: format!("its record does not fit the schema ({reason})"),
                resolve: Vec::new(),
                hint: format!("Fix or remove the record in {}.", store.path().display()),
            });
        }
    }

    let mut ended: Vec<Ended> = registry
        .valid_tasks()
        .filter(|(_, task)| task.status.is_ended() && ended_within(task, now, since))
        .map(|(id, task)| Ended {
            id,
            task,
            log_tail: tail(id, task),
        })
        .collect();
    // Most recent first. A task whose end time cannot be read goes last.
    ended.sort_by_key(|entry| std::cmp::Reverse(ended_at(entry.task)));

    Summary {
        generated_at: now.to_rfc3339_opts(SecondsFormat::Micros, true),
        registry: store.path(),
        since_text: args.since.trim().to_string(),
        since,
        running,
        attention,
        ended,
        counts: stats::count(registry),
    }
}

fn ended_at(task: &Task) -> Option<DateTime<Utc>> {
    task.completed().or_else(|| task.started())
}

/// True when the task ended no longer than `since` before `now`. A task whose end
/// cannot be dated is shown, because hiding an end is worse than one extra line.
fn ended_within(task: &Task, now: DateTime<Utc>, since: Duration) -> bool {
    let cutoff = TimeDelta::from_std(since)
        .ok()
        .and_then(|window| now.checked_sub_signed(window));
    match (cutoff, ended_at(task)) {
        (Some(cutoff), Some(ended)) => ended >= cutoff,
        _ => true,
    }
}

/// Flags a running native task whose process is verifiably gone, reused or
/// unverifiable, with nothing left to record its end.
fn needs_attention(id: &str, task: &Task, state: ProcessState, prefix: &str) -> Option<Attention> {
    if !stats::is_native(task) {
        return None;
    }
    let pid = task.native.as_ref().map(|native| native.pid);
    // A live monitor records the exit itself within moments, so that is no problem.
    let monitor_alive = process::monitor_alive(task);
    let problem = match (state, pid) {
        (ProcessState::Alive, _) => {
            let (runtime, limit) = task.overdue(Utc::now())?;
            let quoted = render::shell_quote(id);
            let logs = format!("{prefix} logs {quoted} --tail 20");
            let kill = format!("{prefix} kill {quoted}");
            return Some(Attention {
                id: id.to_string(),
                pid,
                state: Some(state),
                problem: format!(
                    "long-running: {} so far, past its warn-after time of {}",
                    render::duration(runtime),
                    render::duration(limit)
                ),
                hint: format!("Check its output with `{logs}`; if it hangs, run `{kill}`."),
                resolve: vec![logs, kill],
            });
        }
        (_, _) if monitor_alive => return None,
        (ProcessState::Exited, Some(pid)) => {
            format!("PID {pid} has exited, but the task is still recorded running")
        }
        (ProcessState::Reused, Some(pid)) => {
            format!(
                "PID {pid} now belongs to another process, so the task's own process has exited"
            )
        }
        (ProcessState::Unknown, Some(pid)) => format!(
            "PID {pid} cannot be verified because the record has no process identity (boot id and start time)"
        ),
        (_, None) => "its monitor exited before the task's process was recorded".to_string(),
        (ProcessState::None, Some(_)) => return None,
    };

    let quoted = render::shell_quote(id);
    let complete = format!("{prefix} complete {quoted}");
    let kill = format!("{prefix} kill {quoted}");
    Some(Attention {
        id: id.to_string(),
        pid,
        state: Some(state),
        problem,
        hint: format!("If its work finished, run `{complete}`; otherwise run `{kill}`."),
        resolve: vec![complete, kill],
    })
}

/// Builds the start of a printed command: `task-watchdog`, plus `--registry PATH` when
/// the registry is not the default one under the current directory, so the command
/// works when pasted here.
fn command_prefix(registry: &Path) -> String {
    let default = std::env::current_dir().map(|dir| dir.join(DEFAULT_PATH));
    if default.is_ok_and(|default| default == registry) {
        "task-watchdog".to_string()
    } else {
        format!(
            "task-watchdog --registry {}",
            render::shell_quote(&registry.display().to_string())
        )
    }
}

fn counts_line(counts: &Counts) -> String {
    let mut line = format!(
        "{} total, {} running, {} completed, {} failed, {} cancelled",
        counts.total, counts.running, counts.completed, counts.failed, counts.cancelled
    );
    if counts.running_without_process > 0 {
        let _ = write!(
            line,
            ", {} running without a live process",
            counts.running_without_process
        );
    }
    if counts.invalid > 0 {
        let _ = write!(line, ", {} invalid", counts.invalid);
    }
    line
}

/// Describes the process behind a running task, for its summary line.
fn running_state(entry: &Running) -> String {
    let task = entry.task;
    if task.is_logical() {
        return "logical task (no process; ends with `complete` or `kill`)".to_string();
    }
    if crate::docker::is_docker(task) {
        let name = crate::docker::record::container_name(task)
            .or(crate::docker::record::container_id(task))
            .unwrap_or("not recorded");
        return format!("container {name} (the daemon records its end from engine events)");
    }
    if !stats::is_native(task) {
        return "container (liveness not checked here)".to_string();
    }
    match &task.native {
        Some(native) => format!("PID {} {}", native.pid, state_name(entry.state)),
        None if process::monitor_alive(task) => "starting".to_string(),
        None => "no process recorded".to_string(),
    }
}

/// Describes how an ended task ended: status, exit, reason and duration. Reasons that only
/// repeat the status or the exit (`exited`, `signal`, `cancelled`, `completed`) are
/// left out.
fn ending(task: &Task) -> String {
    let mut text = format!("{}, {}", task.status.as_str(), render::exit_summary(task));
    if let Some(reason) = &task.reason
        && !["exited", "signal", task.status.as_str()].contains(&reason.as_str())
    {
        let _ = write!(text, " ({reason})");
    }
    if let Some(runtime) = render::runtime(task) {
        let _ = write!(text, ", ran {}", render::duration(runtime));
    }
    if let Some(validation) = &task.validation {
        let _ = write!(text, ", {}", crate::rules::describe_briefly(validation));
    }
    text
}

fn human_view(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Task watchdog summary at {} for {}",
        summary.generated_at,
        summary.registry.display()
    );
    let _ = writeln!(out, "Counts: {}", counts_line(&summary.counts));

    let _ = writeln!(out, "\nRunning ({}):", summary.running.len());
    if summary.running.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for entry in &summary.running {
        let mut line = format!("  {}  {}", entry.id, running_state(entry));
        if let Some(runtime) = render::runtime(entry.task) {
            let _ = write!(line, ", running {}", render::duration(runtime));
        }
        if !entry.task.constitution_rules.is_empty() {
            let _ = write!(line, ", rules {}", entry.task.constitution_rules.join(","));
        }
        if let Some(validation) = &entry.task.validation {
            let _ = write!(line, ", {}", crate::rules::describe_briefly(validation));
        }
        let _ = writeln!(out, "{line}");
        push_details(&mut out, &entry.task.command, &entry.log_tail);
    }

    if !summary.attention.is_empty() {
        let _ = writeln!(out, "\nNeeds attention ({}):", summary.attention.len());
        for item in &summary.attention {
            let _ = writeln!(out, "  {}  {}. {}", item.id, item.problem, item.hint);
        }
    }

    let _ = writeln!(
        out,
        "\nEnded in the last {} ({}):",
        summary.since_text,
        summary.ended.len()
    );
    if summary.ended.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for entry in &summary.ended {
        let when = entry.task.completed_at.as_deref().unwrap_or("unknown time");
        let _ = writeln!(out, "  {}  {}, ended {when}", entry.id, ending(entry.task));
        push_details(&mut out, &entry.task.command, &entry.log_tail);
    }
    out
}

fn push_details(out: &mut String, command: &str, log_tail: &[String]) {
    let _ = writeln!(out, "      command: {command}");
    for line in log_tail {
        let _ = writeln!(out, "      output:  {line}");
    }
}

fn markdown_view(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Task watchdog summary\n");
    let _ = writeln!(
        out,
        "Generated {} from {}.\n",
        summary.generated_at,
        code_span(&summary.registry.display().to_string())
    );
    let _ = writeln!(out, "Counts: {}.\n", counts_line(&summary.counts));

    let _ = writeln!(out, "## Running ({})\n", summary.running.len());
    if summary.running.is_empty() {
        let _ = writeln!(out, "None.\n");
    }
    for entry in &summary.running {
        let mut line = format!("- {}: {}", code_span(entry.id), running_state(entry));
        if let Some(runtime) = render::runtime(entry.task) {
            let _ = write!(line, ", running for {}", render::duration(runtime));
        }
        if !entry.task.constitution_rules.is_empty() {
            let _ = write!(
                line,
                ". Rules: {}",
                entry.task.constitution_rules.join(", ")
            );
        }
        if let Some(validation) = &entry.task.validation {
            let _ = write!(line, "; {}", crate::rules::describe_briefly(validation));
        }
        let _ = writeln!(out, "{line}. Command: {}.", code_span(&entry.task.command));
        push_markdown_output(&mut out, &entry.log_tail);
    }
    out.push('\n');

    if !summary.attention.is_empty() {
        let _ = writeln!(out, "## Needs attention ({})\n", summary.attention.len());
        for item in &summary.attention {
            let _ = writeln!(
                out,
                "- {}: {}. {}",
                code_span(&item.id),
                item.problem,
                item.hint
            );
        }
        out.push('\n');
    }

    let _ = writeln!(
        out,
        "## Ended in the last {} ({})\n",
        summary.since_text,
        summary.ended.len()
    );
    if summary.ended.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for entry in &summary.ended {
        let when = entry
            .task
            .completed_at
            .as_deref()
            .unwrap_or("an unknown time");
        let _ = writeln!(
            out,
            "- {}: {}, ended {when}. Command: {}.",
            code_span(entry.id),
            ending(entry.task),
            code_span(&entry.task.command)
        );
        push_markdown_output(&mut out, &entry.log_tail);
    }
    collapse_blank_lines(&out)
}

/// Leaves at most one blank line in a row, so sections and output blocks can each
/// add their own spacing. Output lines are indented, so none of them is blank.
fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        blank_run = if line.is_empty() { blank_run + 1 } else { 0 };
        if blank_run <= 1 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Adds output lines as a fenced block inside a list item, with a fence longer than
/// any backtick run in the lines so none of them can close it.
fn push_markdown_output(out: &mut String, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let fence = "`".repeat(3.max(longest_backtick_run(lines.iter().map(String::as_str)) + 1));
    let _ = writeln!(out, "\n  {fence}text");
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "  {fence}\n");
}

/// Wraps `text` in a Markdown code span that its own backticks cannot end.
fn code_span(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(std::iter::once(text)) + 1);
    // A span that starts or ends with a backtick needs a space to stay separate.
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

fn longest_backtick_run<'a>(texts: impl Iterator<Item = &'a str>) -> usize {
    texts
        .flat_map(|text| text.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fn json_view(summary: &Summary) -> Value {
    let running: Vec<Value> = summary
        .running
        .iter()
        .map(|entry| {
            let task = entry.task;
            json!({
                "id": entry.id,
                "command": task.command,
                "mode": task.mode,
                "pid": task.native.as_ref().map(|native| native.pid),
                "pgid": task.native.as_ref().map(|native| native.pgid),
                "alive": entry.state.is_alive(),
                "process_state": state_name(entry.state),
                "logical": task.is_logical(),
                "started_at": task.started_at,
                "runtime_secs": render::runtime(task).map(|span| span.as_secs_f64()),
                "timeout_secs": task.timeout_secs,
                "rules": task.constitution_rules,
                "validation": task.validation,
                "log_tail": entry.log_tail,
            })
        })
        .collect();
    let ended: Vec<Value> = summary
        .ended
        .iter()
        .map(|entry| {
            let task = entry.task;
            json!({
                "id": entry.id,
                "command": task.command,
                "status": task.status.as_str(),
                "exit_code": task.exit_code,
                "signal": task.signal,
                "core_dumped": task.core_dumped,
                "oom_killed": task.oom_killed,
                "reason": task.reason,
                "started_at": task.started_at,
                "completed_at": task.completed_at,
                "duration_secs": render::runtime(task).map(|span| span.as_secs_f64()),
                "validation": task.validation,
                "log_tail": entry.log_tail,
            })
        })
        .collect();
    let attention: Vec<Value> = summary
        .attention
        .iter()
        .map(|item| {
            json!({
                "id": item.id,
                "pid": item.pid,
                "process_state": item.state.map(state_name),
                "problem": item.problem,
                "resolve": item.resolve,
                "hint": item.hint,
            })
        })
        .collect();
    json!({
        "generated_at": summary.generated_at,
        "registry": summary.registry,
        "since": summary.since_text,
        "since_secs": summary.since.as_secs_f64(),
        "running": running,
        "ended": ended,
        "attention": attention,
        "counts": summary.counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: &str) -> Task {
        serde_json::from_str(json).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
            .unwrap()
            .into()
    }

    #[test]
    fn ended_window_uses_completion_time() {
        let day = Duration::from_secs(86_400);
        let recent = task(
            r#"{"command": "x", "status": "failed", "started_at": "2026-01-01T00:00:00Z",
                "completed_at": "2026-01-10T00:00:00Z"}"#,
        );
        let old = task(
            r#"{"command": "x", "status": "failed", "started_at": "2026-01-01T00:00:00Z",
                "completed_at": "2026-01-08T00:00:00Z"}"#,
        );
        let undated = task(r#"{"command": "x", "status": "failed", "started_at": "?"}"#);
        assert!(ended_within(&recent, now(), day));
        assert!(!ended_within(&old, now(), day));
        assert!(ended_within(&undated, now(), day));
        assert!(ended_within(&old, now(), Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn exited_process_needs_attention() {
        let exited_task = task(
            r#"{"command": "x", "status": "running", "started_at": "2026-01-01T00:00:00Z",
                "native": {"pid": 4242, "pgid": 4242}}"#,
        );
        let item = needs_attention(
            "my task",
            &exited_task,
            ProcessState::Exited,
            "task-watchdog",
        )
        .unwrap();
        assert!(item.problem.contains("4242"));
        assert_eq!(
            item.resolve,
            [
                "task-watchdog complete 'my task'",
                "task-watchdog kill 'my task'"
            ]
        );
        let started_now = task(&format!(
            r#"{{"command": "x", "status": "running", "started_at": "{}",
                "native": {{"pid": 4242, "pgid": 4242}}}}"#,
            Utc::now().to_rfc3339()
        ));
        assert!(needs_attention("T", &started_now, ProcessState::Alive, "task-watchdog").is_none());
        let long_running =
            needs_attention("T", &exited_task, ProcessState::Alive, "task-watchdog").unwrap();
        assert!(
            long_running.problem.contains("long-running"),
            "{}",
            long_running.problem
        );

        let reused =
            needs_attention("T", &exited_task, ProcessState::Reused, "task-watchdog").unwrap();
        assert!(reused.problem.contains("another process"));
        let unknown =
            needs_attention("T", &exited_task, ProcessState::Unknown, "task-watchdog").unwrap();
        assert!(unknown.problem.contains("cannot be verified"));
    }

    #[test]
    fn logical_task_never_needs_attention() {
        let logical = task(
            r#"{"command": "review", "status": "running", "started_at": "2026-01-01T00:00:00Z"}"#,
        );
        assert!(needs_attention("T", &logical, ProcessState::None, "task-watchdog").is_none());
    }

    #[test]
    fn code_span_survives_backticks() {
        assert_eq!(code_span("make"), "`make`");
        assert_eq!(code_span("echo `date`"), "`` echo `date` ``");
        assert_eq!(code_span("a``b"), "```a``b```");
    }

    #[test]
    fn counts_line_mentions_problems_only() {
        let counts = Counts {
            total: 3,
            running: 1,
            completed: 1,
            failed: 1,
            ..Counts::default()
        };
        assert_eq!(
            counts_line(&counts),
            "3 total, 1 running, 1 completed, 1 failed, 0 cancelled"
        );
        let counts = Counts {
            running_without_process: 1,
            invalid: 2,
            ..counts
        };
        assert!(counts_line(&counts).ends_with(", 1 running without a live process, 2 invalid"));
    }
}
