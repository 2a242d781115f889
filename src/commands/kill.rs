//! `kill`: end a task's whole process tree and record it `cancelled`.
//!
//! The cancellation is recorded before any signal is sent, so the monitor, seeing
//! its task die, records `cancelled` with the exact signal instead of `failed`.

use std::time::Duration;

use task_watchdog_platform::signal;
use task_watchdog_platform::tree::{self, Target};

use crate::cli::KillArgs;
use crate::error::{Error, Result};
use crate::process;
use crate::registry::{Event, Status, Store, now_rfc3339};
use crate::units::parse_duration;

/// How long `kill` waits, after the grace period, for the monitor to record the
/// exit before recording `cancelled` itself.
const MONITOR_RECORD_WAIT: Duration = Duration::from_secs(5);

pub fn run(store: &Store, args: &KillArgs) -> Result<u8> {
    let signo = signal::parse(&args.signal).ok_or_else(|| {
        Error::invalid(format!(
            "invalid signal {:?}: use a name such as TERM, INT or KILL, or a number from 1 to 64",
            args.signal
        ))
    })?;
    let grace = parse_duration("--grace", &args.grace)?;
    let registry = store.load()?;
    let task = super::find_task(store, &registry, &args.id)?.clone();
    if crate::docker::is_docker(&task) {
        return kill_container(store, args, &task, signo, grace);
    }

    if task.status.is_ended() {
        let outcome = process::end_tree(&task, signo, grace).map_err(|error| {
            Error::io(format!("cannot end leftovers of task {:?}", args.id), error)
        })?;
        let text = format!(
            "{} had already ended ({}); ended {}\n",
            args.id,
            task.status.as_str(),
            crate::render::count(outcome.signalled, "leftover process", "leftover processes")
        );
        super::write_stdout(&text)?;
        return Ok(0);
    }

    store.update(|registry, _| {
        if let Some(task) = registry.task_mut(&args.id)
            && task.status == Status::Running
        {
            task.cancel_requested_at = Some(now_rfc3339());
        }
        Ok(())
    })?;

    let outcome = process::end_tree(&task, signo, grace)
        .map_err(|error| Error::io(format!("cannot signal task {:?}", args.id), error))?;
    wait_for_monitor(&task, grace);

    store.update(|registry, events| {
        let Some(task) = registry.task_mut(&args.id) else {
            return Ok(());
        };
        if task.status == Status::Running {
            task.end(Status::Cancelled, "cancelled");
        }
        events.push(
            Event::new(&args.id, "cancelled")
                .with("signal", signal::name(signo))
                .with("processes_signalled", outcome.signalled)
                .with("processes_killed", outcome.killed),
        );
        Ok(())
    })?;
    tracing::info!(task = %args.id, signalled = outcome.signalled, killed = outcome.killed, "task killed");

    let text = format!(
        "cancelled {}: sent {} to {}, SIGKILL to {}\n",
        args.id,
        signal::name(signo),
        crate::render::count(outcome.signalled, "process", "processes"),
        outcome.killed
    );
    super::write_stdout(&text)?;
    Ok(0)
}

/// Waits for the task's monitor to exit, which it does right after recording the
/// exit and ending leftovers.
fn wait_for_monitor(task: &crate::registry::Task, grace: Duration) {
    if let Some((pid, identity)) = process::monitor_process(task) {
        let mut alive = vec![Target { pid, identity }];
        let _ = tree::wait_for_exit(&mut alive, grace + MONITOR_RECORD_WAIT);
    }
}

/// Stops a Docker task's container: `signo` first, SIGKILL after `grace`. The
/// cancellation is recorded first, so the daemon (from the `die` event) and this
/// command both record `cancelled` with the container's exit code.
fn kill_container(
    store: &Store,
    args: &KillArgs,
    task: &crate::registry::Task,
    signo: i32,
    grace: Duration,
) -> Result<u8> {
    let Some(container) = crate::docker::record::container_ref(task).map(str::to_string) else {
        return Err(Error::invalid(format!(
            "task {:?} is a Docker task with no container recorded; record its end with `task-watchdog complete {}`",
            args.id, args.id
        )));
    };
    let was_running = task.status == Status::Running;
    let signal_name = signal::name(signo);
    let end = crate::docker::block_on(async {
        // Connect before recording the cancellation, so an unreachable engine leaves
        // the record as it was.
        let engine = crate::docker::connect().await?;
        if was_running {
            store.update(|registry, _| {
                if let Some(task) = registry.task_mut(&args.id)
                    && task.status == Status::Running
                {
                    task.cancel_requested_at = Some(now_rfc3339());
                }
                Ok(())
            })?;
        }
        crate::docker::stop::stop(&engine, &container, Some(&signal_name), grace).await
    })?;

    if let Some(end) = &end {
        crate::docker::record::record_end(store, &args.id, &container, end)?;
    }
    store.update(|registry, events| {
        if let Some(task) = registry.task_mut(&args.id)
            && task.status == Status::Running
            && was_running
        {
            task.end(Status::Cancelled, "cancelled");
        }
        events.push(
            Event::new(&args.id, "cancelled")
                .with("signal", signal_name.clone())
                .with("container", container.clone()),
        );
        Ok(())
    })?;
    tracing::info!(task = %args.id, container = %container, "container task killed");

    let exit = end
        .as_ref()
        .and_then(|end| end.exit_code)
        .map_or_else(|| "unknown".to_string(), |code| code.to_string());
    let text = if was_running {
        format!(
            "cancelled {}: stopped container {container} (exit code {exit})\n",
            args.id
        )
    } else {
        format!(
            "{} had already ended ({}); container {container} is stopped\n",
            args.id,
            task.status.as_str()
        )
    };
    super::write_stdout(&text)?;
    Ok(0)
}
