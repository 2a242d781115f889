//! `start`: record the task, spawn its monitor, and return once the monitor reports
//! the task running (with PID, group and identity recorded) or failed to start.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::cli::StartArgs;
use crate::error::{Error, Result};
use crate::launch::{self, Handshake, LaunchSpec};
use crate::process::{self, ProcessState};
use crate::registry::{Event, Status, Store, Task, TaskEntry};
use crate::task_id;
use crate::units::{parse_duration, parse_size};

pub fn run(store: &Store, args: &StartArgs) -> Result<u8> {
    task_id::validate(&args.id)?;
    if args.docker {
        return crate::docker::launch::run(store, args);
    }
    let spec = build_spec(store, args)?;
    let command_text = args
        .command
        .clone()
        .unwrap_or_else(|| shell_words(&args.program));

    store.ensure_directory()?;
    std::fs::create_dir_all(store.logs_dir()).map_err(|source| Error::File {
        action: "cannot create the log directory",
        path: store.logs_dir(),
        source,
        hint: "check that the registry directory is writable",
    })?;
    insert_record(store, args, &spec, command_text)?;
    keep_previous_log(&spec.log_file);

    let handshake = spawn_monitor(store, &spec);
    match handshake {
        Some(Handshake::Started { pid }) => {
            let text = format!(
                "started {} as PID {pid}; output in {}\n",
                args.id,
                spec.log_file.display()
            );
            super::write_stdout(&text)?;
            Ok(0)
        }
        Some(Handshake::Failed { message }) => Err(Error::Spawn {
            program: spec.program.clone(),
            reason: message,
        }),
        None => {
            mark_monitor_lost(store, &spec);
            Err(Error::Spawn {
                program: spec.program.clone(),
                reason: "the monitor exited before reporting; run with -v and check the event log"
                    .to_string(),
            })
        }
    }
}

fn build_spec(store: &Store, args: &StartArgs) -> Result<LaunchSpec> {
    let (program, program_args) = match (&args.command, args.program.split_first()) {
        (Some(command), _) => ("sh".to_string(), vec!["-c".to_string(), command.clone()]),
        (None, Some((program, rest))) => (program.clone(), rest.to_vec()),
        (None, None) => {
            return Err(Error::invalid(format!(
                "nothing to run for task {:?}: give the program after `--`, as in `task-watchdog start {} -- make test`, or use --command",
                args.id, args.id
            )));
        }
    };
    if program.is_empty() {
        return Err(Error::invalid(
            "the program name is empty; give the program after `--`",
        ));
    }

    let cwd = match &args.cwd {
        Some(dir) => {
            std::path::absolute(dir).map_err(|error| Error::io("cannot resolve --cwd", error))?
        }
        None => std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?,
    };
    if !cwd.is_dir() {
        return Err(Error::invalid(format!(
            "working directory {} does not exist or is not a directory; pass an existing one with --cwd",
            cwd.display()
        )));
    }

    let mut env = Vec::with_capacity(args.env.len());
    for entry in &args.env {
        match entry.split_once('=') {
            Some((key, value)) if !key.is_empty() => env.push((key.to_string(), value.to_string())),
            _ => {
                return Err(Error::invalid(format!(
                    "invalid --env {entry:?}: use KEY=VALUE"
                )));
            }
        }
    }

    let timeout_secs = args
        .timeout
        .as_deref()
        .map(|text| parse_duration("--timeout", text))
        .transpose()?
        .map(|limit| limit.as_secs_f64());
    if timeout_secs == Some(0.0) {
        return Err(Error::invalid(
            "invalid --timeout 0: give a positive duration such as 10m",
        ));
    }
    let grace_secs = parse_duration("--grace", &args.grace)?.as_secs_f64();
    let log_limit = parse_size("--log-limit", &args.log_limit)?;
    let warn_after_secs = parse_duration("--warn-after", &args.warn_after)?.as_secs_f64();

    Ok(LaunchSpec {
        id: args.id.clone(),
        launch_id: launch::new_launch_id(),
        program,
        args: program_args,
        cwd,
        env,
        log_file: store.log_path(&args.id),
        timeout_secs,
        grace_secs,
        log_limit,
        warn_after_secs,
    })
}

/// Records the task as running, unless a live task already has the id.
fn insert_record(
    store: &Store,
    args: &StartArgs,
    spec: &LaunchSpec,
    command_text: String,
) -> Result<()> {
    // Runs git, so it comes before the registry lock is taken.
    let git_base = crate::rules::files::git_base(&spec.cwd);
    store.update(|registry, events| {
        let mut rules = normalize_rules(&args.rules);
        if let Some(TaskEntry::Invalid { raw, reason }) = registry.tasks.get(&args.id) {
            events.push(super::replacing_invalid(store, &args.id, raw, reason));
        }
        if let Some(TaskEntry::Valid(existing)) = registry.tasks.get(&args.id)
            && existing.status == Status::Running
        {
            reject_if_live(&args.id, existing)?;
            if rules.is_empty() {
                rules = existing.constitution_rules.clone();
            }
        }
        let mut task = Task::new(command_text, rules);
        task.launch_id = Some(spec.launch_id.clone());
        task.log_file = Some(spec.log_file.display().to_string());
        task.cwd = Some(spec.cwd.display().to_string());
        task.timeout_secs = spec.timeout_secs;
        task.warn_after_secs = Some(spec.warn_after_secs);
        task.git_base = git_base;
        events.push(Event::new(&args.id, "launching").with("command", task.command.clone()));
        registry.insert(args.id.clone(), task);
        Ok(())
    })
}

/// Fails when the running task `id` still has a live process or monitor.
pub(crate) fn reject_if_live(id: &str, task: &Task) -> Result<()> {
    if process::main_state(task) == ProcessState::Alive
        && let Some(native) = &task.native
    {
        return Err(Error::AlreadyRunning {
            id: id.to_string(),
            pid: native.pid,
        });
    }
    if let Some((pid, identity)) = process::monitor_process(task)
        && process::state_of(pid, &identity) == ProcessState::Alive
    {
        return Err(Error::AlreadyRunning {
            id: id.to_string(),
            pid,
        });
    }
    Ok(())
}

/// Spawns the monitor, detached from our stdin, stdout and stderr, and reads its
/// one-line report. `None` when it exited without one.
fn spawn_monitor(store: &Store, spec: &LaunchSpec) -> Option<Handshake> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("task-watchdog"));
    let spec_json = serde_json::to_string(spec).ok()?;
    let mut command = Command::new(exe);
    task_watchdog_platform::spawn::reset_signals_in_child(&mut command);
    let mut child = command
        .arg("--registry")
        .arg(store.path())
        .arg("__monitor")
        .arg(spec_json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| tracing::error!(task = %spec.id, %error, "cannot spawn the monitor"))
        .ok()?;

    let stdout = child.stdout.take()?;
    let mut line = String::new();
    // The monitor closes its stdout after this line, so this returns at once.
    let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    // The monitor outlives us on purpose; it is never waited for here.
    drop(child);
    serde_json::from_str(line.trim()).ok()
}

fn mark_monitor_lost(store: &Store, spec: &LaunchSpec) {
    let _ = store.update(|registry, events| {
        if let Some(task) = registry.task_mut(&spec.id)
            && task.launch_id.as_deref() == Some(spec.launch_id.as_str())
            && task.status == Status::Running
            && task.native.is_none()
        {
            task.end(Status::Failed, "monitor exited during startup");
            events.push(
                Event::new(&spec.id, "spawn_failed")
                    .with("message", "monitor exited during startup"),
            );
        }
        Ok(())
    });
}

/// Moves the output of an earlier task with the same id to `<ID>.log.1`, so the new
/// task's log holds only its own output and the previous run's is still at hand.
fn keep_previous_log(log_file: &std::path::Path) {
    if log_file.exists() {
        let mut previous = log_file.as_os_str().to_os_string();
        previous.push(".1");
        if let Err(error) = std::fs::rename(log_file, &previous) {
            tracing::warn!(log = %log_file.display(), %error, "cannot move the previous log aside");
        }
    }
}

/// Trims rule names and drops empty ones.
pub(crate) fn normalize_rules(rules: &[String]) -> Vec<String> {
    rules
        .iter()
        .map(|rule| rule.trim().to_string())
        .filter(|rule| !rule.is_empty())
        .collect()
}

/// Joins arguments for display, quoting those a shell would split.
pub(crate) fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
