//! The monitor: the parent of one launched task, in the manner of Podman's conmon.
//!
//! `start` spawns it with the launch specification. It leaves the caller's session
//! and becomes a child subreaper. It starts the task in a new process group with
//! `TASK_WATCHDOG_ID` set and its output in the task's log, and records PID, group
//! and identity. It reports to `start` over its stdout, which it then closes. It blocks
//! in `waitpid` (reaping adopted orphans on the way) until the task ends, records the
//! exact status at once, ends what is left of the tree and exits. It needs no daemon.
//!
//! SIGCHLD keeps its default disposition: ignoring it would make the kernel reap
//! children itself and drop their exit status.

use std::io::{PipeReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use task_watchdog_platform::tree::Outcome;
use task_watchdog_platform::{ExitStatus, identity, reaper, session, spawn};

use crate::cli::MonitorArgs;
use crate::error::{Error, Result};
use crate::launch::{Handshake, LaunchSpec};
use crate::process::{self, LAUNCH_VARIABLE, TAG_VARIABLE};
use crate::registry::{Event, ProcessRef, Status, Store, Task, now_rfc3339};
use crate::task_log::{self, RotatingLog};

/// How long the monitor waits, after the task's tree has ended, for the last
/// output to reach the log.
const OUTPUT_DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// How long the monitor waits, after the main process exits, for the output pipe
/// to close before it records the exit.
const OUTPUT_SETTLE_LIMIT: Duration = Duration::from_millis(100);

pub fn run(store: &Store, args: &MonitorArgs) -> Result<u8> {
    let spec: LaunchSpec = serde_json::from_str(&args.spec)
        .map_err(|error| Error::invalid(format!("invalid launch specification: {error}")))?;

    // Already a group leader only if started by hand; then the session is kept.
    let _ = session::new_session();
    session::reset_signal_dispositions();
    if let Err(error) = reaper::become_subreaper() {
        tracing::warn!(task = %spec.id, %error, "cannot become a child subreaper");
    }

    let spawned = RotatingLog::open(&spec.log_file, spec.log_limit)
        .map_err(|error| format!("cannot open log file {}: {error}", spec.log_file.display()))
        .and_then(|log| spawn_task(&spec).map(|(pid, reader)| (pid, reader, log)));
    let (pid, output, log) = match spawned {
        Ok(spawned) => spawned,
        Err(message) => {
            record_spawn_failure(store, &spec, &message);
            send_handshake(&Handshake::Failed { message });
            return Ok(1);
        }
    };
    if let Err(error) = record_started(store, &spec, pid) {
        // The task runs but its record is incomplete. `start` is told, and the monitor
        // keeps supervising, because killing the task now would lose its work.
        send_handshake(&Handshake::Failed {
            message: format!(
                "task started as PID {pid} but its record could not be written: {error}"
            ),
        });
    } else {
        send_handshake(&Handshake::Started { pid });
    }
    let _ = session::detach_stdout();
    let output_copied = start_output_copy(&spec, output, log);
    start_warn_timer(
        store.clone(),
        spec.clone(),
        Duration::from_secs_f64(spec.warn_after_secs),
    );

    let timed_out = Arc::new(AtomicBool::new(false));
    if let Some(limit) = spec.timeout_secs {
        start_timeout_timer(
            store.clone(),
            spec.clone(),
            Duration::from_secs_f64(limit),
            Arc::clone(&timed_out),
        );
    }

    let status = wait_for_main(pid);
    // Usually the task was the pipe's only writer, and its output is complete in
    // the log moments after it exits, so a reader of the record also finds the
    // whole log. Descendants that hold the pipe delay this by at most the limit.
    let mut drained = output_copied.recv_timeout(OUTPUT_SETTLE_LIMIT).is_ok();
    record_exit(store, &spec, status, timed_out.load(Ordering::SeqCst));
    end_leftovers(store, &spec);
    // Every process that could write has been ended; what is left in the pipe
    // arrives within moments. A descendant that passed its end of the pipe to a
    // process outside the tree could keep it open for ever, so the wait is bounded.
    if !drained {
        drained = output_copied.recv_timeout(OUTPUT_DRAIN_LIMIT).is_ok();
    }
    if !drained {
        tracing::warn!(task = %spec.id, "output pipe still open after the tree ended");
    }
    Ok(0)
}

/// Starts the task with its stdout and stderr on one pipe, and returns its PID
/// and the pipe's read end.
fn spawn_task(spec: &LaunchSpec) -> std::result::Result<(i32, PipeReader), String> {
    let (reader, writer) =
        std::io::pipe().map_err(|error| format!("cannot create the output pipe: {error}"))?;
    let writer_for_stderr = writer
        .try_clone()
        .map_err(|error| format!("cannot create the output pipe: {error}"))?;

    let mut command = Command::new(&spec.program);
    spawn::reset_signals_in_child(&mut command);
    let child = command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(key, value)| (key, value)))
        .env(TAG_VARIABLE, &spec.id)
        .env(LAUNCH_VARIABLE, &spec.launch_id)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_for_stderr)
        .process_group(0)
        .spawn()
        .map_err(|error| format!("{error}; check the program name, PATH and --cwd"))?;
    // Dropping `command` closes our copies of the write end, so the pipe reaches
    // end of file once the task and its descendants have closed theirs. The child is
    // reaped by `wait_for_main` through waitpid, not through `Child`.
    drop(command);
    Ok((child.id() as i32, reader))
}

/// Copies the task's output into its log on a thread of its own. The returned
/// receiver gets a message when the pipe reaches end of file.
fn start_output_copy(
    spec: &LaunchSpec,
    reader: PipeReader,
    mut log: RotatingLog,
) -> mpsc::Receiver<()> {
    let (done, finished) = mpsc::channel();
    let id = spec.id.clone();
    std::thread::spawn(move || {
        if let Err(error) = task_log::drain(reader, &mut log) {
            tracing::error!(task = %id, %error, "cannot copy the task's output to its log");
        }
        let _ = done.send(());
    });
    finished
}

fn record_spawn_failure(store: &Store, spec: &LaunchSpec, message: &str) {
    let result = store.update(|registry, events| {
        if let Some(task) = own_task(registry.task_mut(&spec.id), spec) {
            task.end(Status::Failed, format!("spawn error: {message}"));
            events.push(Event::new(&spec.id, "spawn_failed").with("message", message));
        }
        Ok(())
    });
    if let Err(error) = result {
        tracing::error!(task = %spec.id, %error, "cannot record the spawn failure");
    }
}

fn record_started(store: &Store, spec: &LaunchSpec, pid: i32) -> Result<()> {
    let identity = identity::identity_of(pid)
        .map_err(|error| Error::io(format!("cannot read the identity of PID {pid}"), error))?
        .ok_or_else(|| Error::invalid(format!("PID {pid} vanished before it was recorded")))?;
    let me = task_watchdog_platform::current_pid();
    let my_identity = identity::identity_of(me)
        .map_err(|error| Error::io("cannot read the monitor's identity", error))?
        .ok_or_else(|| Error::invalid("the monitor cannot see itself in the process table"))?;

    store.update(|registry, events| {
        let Some(task) = own_task(registry.task_mut(&spec.id), spec) else {
            return Err(Error::invalid(format!(
                "task {:?} was replaced while it started",
                spec.id
            )));
        };
        task.native = Some(process::native_record(
            pid,
            pid,
            &identity,
            Some(format!("{TAG_VARIABLE}={}", spec.id)),
        ));
        task.monitor = Some(ProcessRef {
            pid: me,
            boot_id: my_identity.boot_id.clone(),
            start_ticks: my_identity.start_ticks,
            extra: serde_json::Map::new(),
        });
        events.push(
            Event::new(&spec.id, "started")
                .with("pid", pid)
                .with("monitor_pid", me)
                .with("command", task.command.clone()),
        );
        Ok(())
    })?;
    tracing::info!(task = %spec.id, pid, "task started");
    Ok(())
}

/// Returns the task only when it is still the one this monitor launched.
fn own_task<'a>(task: Option<&'a mut Task>, spec: &LaunchSpec) -> Option<&'a mut Task> {
    task.filter(|task| task.launch_id.as_deref() == Some(spec.launch_id.as_str()))
}

fn send_handshake(handshake: &Handshake) {
    let Ok(mut line) = serde_json::to_string(handshake) else {
        return;
    };
    line.push('\n');
    let mut stdout = std::io::stdout();
    // `start` may have stopped waiting, and no other process reads this line.
    let _ = stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Reaps children until the task's main process ends; adopted orphans are reaped on
/// the way so they do not linger as zombies.
fn wait_for_main(main: i32) -> Option<ExitStatus> {
    loop {
        match reaper::wait_any() {
            Ok(Some((pid, status))) if pid == main => return Some(status),
            Ok(Some(_)) => continue,
            Ok(None) => return None,
            Err(error) => {
                tracing::error!(pid = main, %error, "waitpid failed");
                return None;
            }
        }
    }
}

/// Flags the task long-running in the event log once it passes `limit`.
fn start_warn_timer(store: Store, spec: LaunchSpec, limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        let result = store.update(|registry, events| {
            if let Some(task) = own_task(registry.task_mut(&spec.id), &spec)
                && task.status == Status::Running
            {
                events.push(
                    Event::new(&spec.id, "long_running")
                        .with("warn_after_secs", spec.warn_after_secs),
                );
                tracing::info!(task = %spec.id, "task is long-running");
            }
            Ok(())
        });
        if let Err(error) = result {
            tracing::error!(task = %spec.id, %error, "cannot record the long-running warning");
        }
    });
}

fn start_timeout_timer(
    store: Store,
    spec: LaunchSpec,
    limit: Duration,
    timed_out: Arc<AtomicBool>,
) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        timed_out.store(true, Ordering::SeqCst);
        if let Some(Err(error)) = end_own_tree(&store, &spec) {
            tracing::error!(task = %spec.id, %error, "cannot end the task at its timeout");
        }
    });
}

/// Ends every live process of the task this monitor launched; `None` when the
/// record is gone or belongs to a later launch.
fn end_own_tree(store: &Store, spec: &LaunchSpec) -> Option<std::io::Result<Outcome>> {
    let registry = store.load().ok()?;
    let task = registry
        .task(&spec.id)
        .filter(|task| task.launch_id.as_deref() == Some(spec.launch_id.as_str()))?;
    let grace = Duration::from_secs_f64(spec.grace_secs);
    Some(process::end_tree(task, libc::SIGTERM, grace))
}

fn record_exit(store: &Store, spec: &LaunchSpec, status: Option<ExitStatus>, timed_out: bool) {
    let result = store.update(|registry, events| {
        let Some(task) = own_task(registry.task_mut(&spec.id), spec) else {
            // The record was replaced or lost (a registry moved aside as corrupt):
            // the event log still gets the exit.
            if let Some(status) = status {
                events.push(
                    Event::new(&spec.id, "exited")
                        .with("record", "missing")
                        .with("launch_id", spec.launch_id.clone())
                        .with("exit_code", status.code)
                        .with("signal", status.signal_name()),
                );
            }
            return Ok(());
        };
        let Some(status) = status else {
            if task.status == Status::Running {
                task.end(Status::Failed, "exit status lost: waitpid failed");
            }
            return Ok(());
        };
        task.exit_code = status.code;
        task.signal = status.signal_name();
        task.core_dumped = Some(status.core_dumped);

        if task.status == Status::Running {
            let (new_status, reason) = if task.cancel_requested_at.is_some() {
                (Status::Cancelled, "cancelled")
            } else if timed_out {
                (Status::Failed, "timeout")
            } else if status.code == Some(0) {
                (Status::Completed, "exited")
            } else if status.signal.is_some() {
                (Status::Failed, "signal")
            } else {
                (Status::Failed, "exited")
            };
            task.end(new_status, reason);
        } else if task.completed_at.is_none() {
            task.completed_at = Some(now_rfc3339());
        }
        events.push(
            Event::new(&spec.id, "exited")
                .with("status", task.status.as_str())
                .with("exit_code", status.code)
                .with("signal", status.signal_name())
                .with("core_dumped", status.core_dumped)
                .with("reason", task.reason.clone()),
        );
        tracing::info!(task = %spec.id, code = ?status.code, signal = ?status.signal_name(), "task exited");
        Ok(())
    });
    if let Err(error) = result {
        tracing::error!(task = %spec.id, %error, "cannot record the exit");
    }
}

fn end_leftovers(store: &Store, spec: &LaunchSpec) {
    let outcome = match end_own_tree(store, spec) {
        Some(Ok(outcome)) => outcome,
        Some(Err(error)) => {
            tracing::error!(task = %spec.id, %error, "cannot end leftover processes");
            return;
        }
        None => return,
    };
    while let Ok(Some(_)) = reaper::reap_ready() {}

    let result = store.update(|registry, events| {
        if let Some(task) = own_task(registry.task_mut(&spec.id), spec) {
            task.leftovers_ended = Some(outcome.signalled as u32);
            if outcome.signalled > 0 {
                events.push(
                    Event::new(&spec.id, "leftovers_ended")
                        .with("count", outcome.signalled)
                        .with("killed", outcome.killed),
                );
            }
        }
        Ok(())
    });
    if let Err(error) = result {
        tracing::error!(task = %spec.id, %error, "cannot record ended leftovers");
    }
}
