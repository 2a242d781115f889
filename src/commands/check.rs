//! `check`: one task's record, its verified liveness, the CPU and memory of its
//! process tree, how it ended, and its last output lines.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};
use task_watchdog_platform::proc_table::ProcessTable;

use crate::cli::CheckArgs;
use crate::error::{Error, Result};
use crate::process::{self, ProcessState, Usage};
use crate::registry::{Status, Store, Task};
use crate::render;

/// The observations `check` makes about a task beyond its record.
pub struct Observation {
    pub state: ProcessState,
    pub usage: Option<Usage>,
    pub log_tail: Vec<String>,
    /// (runtime, warn-after limit) when the task runs past its warn-after time.
    pub overdue: Option<(std::time::Duration, std::time::Duration)>,
    /// The engine's report on the container of a Docker task.
    pub container: Option<crate::docker::stats::ContainerView>,
}

/// Observes Docker task `id` through the engine: state, exit code, OOM flag, CPU and
/// memory from one stats sample, and its last output lines.
pub fn observe_container(id: &str, task: &Task, lines: usize) -> Result<Observation> {
    let Some(container) = crate::docker::record::container_ref(task) else {
        return Ok(Observation {
            state: ProcessState::None,
            usage: None,
            log_tail: Vec::new(),
            overdue: task.overdue(chrono::Utc::now()),
            container: None,
        });
    };
    let (view, log_tail) = crate::docker::block_on(async {
        let engine = crate::docker::connect().await?;
        let view = crate::docker::stats::view(&engine, container).await?;
        let log_tail = if view.state == "removed" {
            Vec::new()
        } else {
            crate::docker::logs::tail_lines(&engine, container, lines).await?
        };
        Ok((view, log_tail))
    })?;
    tracing::debug!(task = %id, ?view, "container observed");
    Ok(Observation {
        state: if view.running {
            ProcessState::Alive
        } else {
            ProcessState::Exited
        },
        usage: container_usage(&view),
        log_tail: log_tail
            .iter()
            .map(|line| render::clean_line(line))
            .collect(),
        overdue: task.overdue(chrono::Utc::now()),
        container: Some(view),
    })
}

/// Converts a container's figures to the shape native tasks report: processes, CPU% of one
/// core, and memory in place of RSS.
pub fn container_usage(view: &crate::docker::stats::ContainerView) -> Option<Usage> {
    Some(Usage {
        processes: usize::try_from(view.processes.unwrap_or(0)).unwrap_or(usize::MAX),
        cpu_percent: view.cpu_percent?,
        rss_bytes: view.memory_bytes.unwrap_or(0),
    })
}

/// Observes task `id`: liveness, and resources when alive, from one table scan.
pub fn observe(store: &Store, id: &str, task: &Task, lines: usize) -> Observation {
    let state = process::main_state(task);
    let usage = if state.is_alive() || task.status == Status::Running && task.monitor.is_some() {
        ProcessTable::scan()
            .ok()
            .map(|table| process::usage(&process::members(task, &table, false), &table))
    } else {
        None
    };
    Observation {
        state,
        usage,
        overdue: task.overdue(chrono::Utc::now()),
        container: None,
        log_tail: render::tail_lines(&log_path(store, id, task), lines)
            .iter()
            .map(|line| render::clean_line(line))
            .collect(),
    }
}

pub fn log_path(store: &Store, id: &str, task: &Task) -> PathBuf {
    task.log_file
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| store.log_path(id))
}

pub fn run(store: &Store, args: &CheckArgs) -> Result<u8> {
    let registry = store.load()?;
    let task = super::find_task(store, &registry, &args.id)?;
    let observation = if crate::docker::is_docker(task) {
        observe_container(&args.id, task, args.lines)?
    } else {
        observe(store, &args.id, task, args.lines)
    };

    if args.json {
        super::print_json(&json_view(&args.id, task, &observation)?)?;
    } else {
        super::write_stdout(&human_view(&args.id, task, &observation))?;
    }
    Ok(0)
}

/// Returns the record plus `id`, `alive` and, under `observed`, what was measured
/// now.
pub fn json_view(id: &str, task: &Task, observation: &Observation) -> Result<Value> {
    let mut value = serde_json::to_value(task)
        .map_err(|error| Error::io("cannot serialize the task", error.into()))?;
    let Value::Object(map) = &mut value else {
        return Ok(value);
    };
    map.insert("id".to_string(), json!(id));
    map.insert("alive".to_string(), json!(observation.state.is_alive()));
    map.insert(
        "observed".to_string(),
        json!({
            "process_state": state_name(observation.state),
            "pid_reused": observation.state == ProcessState::Reused,
            "processes": observation.usage.map(|usage| usage.processes),
            "cpu_percent": observation.usage.map(|usage| (usage.cpu_percent * 10.0).round() / 10.0),
            "rss_bytes": observation.usage.map(|usage| usage.rss_bytes),
            "runtime_secs": render::runtime(task).map(|span| span.as_secs_f64()),
            "log_tail": observation.log_tail,
            "long_running": observation.overdue.is_some(),
            "container": observation.container,
        }),
    );
    Ok(value)
}

pub fn state_name(state: ProcessState) -> &'static str {
    match state {
        ProcessState::Alive => "alive",
        ProcessState::Exited => "exited",
        ProcessState::Reused => "reused",
        ProcessState::None => "none",
        ProcessState::Unknown => "unknown",
    }
}

fn human_view(id: &str, task: &Task, observation: &Observation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Task {id}: {}", task.status.as_str());
    let _ = writeln!(out, "  Command:   {}", task.command);
    let _ = writeln!(out, "  Mode:      {}", task.mode);
    if let Some(native) = &task.native {
        let _ = writeln!(
            out,
            "  Process:   PID {} (group {}), {}",
            native.pid,
            native.pgid,
            render::process_state(observation.state)
        );
    } else if let Some(view) = &observation.container {
        let name = crate::docker::record::container_name(task)
            .or(crate::docker::record::container_id(task))
            .unwrap_or("-");
        let _ = writeln!(out, "  Container: {name}, {}", view.state);
        if !view.running && view.state != "removed" {
            let oom = if view.oom_killed {
                ", killed for lack of memory"
            } else {
                ""
            };
            let code = view
                .exit_code
                .map_or_else(|| "unknown".to_string(), |code| code.to_string());
            let _ = writeln!(out, "  Engine:    exit code {code}{oom}");
        }
    } else if task.is_logical() {
        let _ = writeln!(
            out,
            "  Process:   none (logical task: ends with `complete` or `kill`)"
        );
    }

    if let Some(usage) = observation.usage
        && observation.container.is_some()
    {
        let limit = observation
            .container
            .as_ref()
            .and_then(|view| view.memory_limit)
            .map_or_else(String::new, |limit| format!(" of {}", render::bytes(limit)));
        let _ = writeln!(
            out,
            "  Resources: {} processes, CPU {:.1}%, memory {}{limit}",
            usage.processes,
            usage.cpu_percent,
            render::bytes(usage.rss_bytes)
        );
    } else if let Some(usage) = observation.usage {
        let _ = writeln!(
            out,
            "  Resources: {} processes, CPU {:.1}%, RSS {}",
            usage.processes,
            usage.cpu_percent,
            render::bytes(usage.rss_bytes)
        );
    }

    if let Some((runtime, limit)) = observation.overdue {
        let _ = writeln!(
            out,
            "  Warning:   long-running: {} so far, past its warn-after time of {}",
            render::duration(runtime),
            render::duration(limit)
        );
    }
    let _ = writeln!(out, "  Started:   {}", task.started_at);
    if let Some(runtime) = render::runtime(task) {
        let _ = writeln!(out, "  Runtime:   {}", render::duration(runtime));
    }

    if task.status.is_ended() {
        let reason = task.reason.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "  Ended:     {} ({reason})",
            render::exit_summary(task)
        );
        if let Some(count) = task.leftovers_ended.filter(|count| *count > 0) {
            let _ = writeln!(
                out,
                "  Leftovers: {count} processes ended after the main process exited"
            );
        }
    }

    if !task.constitution_rules.is_empty() {
        let _ = writeln!(out, "  Rules:     {}", task.constitution_rules.join(", "));
    }
    if let Some(validation) = &task.validation {
        let _ = writeln!(out, "  Validated: {}", crate::rules::describe(validation));
    }
    if let Some(log) = &task.log_file {
        let _ = writeln!(out, "  Log:       {log}");
    }

    if !observation.log_tail.is_empty() {
        let _ = writeln!(out, "  Last output:");
        for line in &observation.log_tail {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}
