//! `wait`: block until the given tasks end, without polling, and exit with the
//! task's own status.
//!
//! Ends are learned from registry notifications (a monitor's record, `kill`,
//! `complete`, the daemon) and from exit events on the processes a daemon would
//! watch. So `wait` also works when no daemon runs, and records the ends it observes.
//!
//! For Docker tasks, `wait` also asks the engine to wait for each container (the
//! engine's own wait API, not polling) and records the end it reads, so a container
//! task needs no daemon either. When no engine answers, `wait` prints that on stderr and
//! waits for a daemon to record the end.
//!
//! Exit status: the first task in argument order that did not succeed decides it:
//! its exit code, 128 + the signal number when a signal ended it, or 1 when its
//! status is unknown. 0 when every task completed. 124 when `--timeout` passes
//! first, as coreutils `timeout` does.

use std::time::Duration;

use task_watchdog_platform::exit_source::ExitSource;

use crate::cli::WaitArgs;
use crate::daemon::{RegistryEvents, TaskWatcher};
use crate::error::{Error, Result};
use crate::registry::{Registry, Status, Store, Task};
use crate::units::parse_duration;

/// Exit status when `--timeout` passes before the tasks end.
pub const TIMED_OUT: u8 = 124;

pub fn run(store: &Store, args: &WaitArgs) -> Result<u8> {
    let timeout = args
        .timeout
        .as_deref()
        .map(|text| parse_duration("--timeout", text))
        .transpose()?;
    let registry = store.load()?;
    for id in &args.ids {
        super::find_task(store, &registry, id)?;
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::io("cannot start the async runtime", error))?;
    let code = runtime.block_on(async {
        match timeout {
            Some(limit) => tokio::time::timeout(limit, wait_all(store, &args.ids))
                .await
                .unwrap_or(Ok(TIMED_OUT)),
            None => wait_all(store, &args.ids).await,
        }
    })?;
    report_outcome(store, &args.ids, code);
    Ok(code)
}

/// Prints to stderr what the exit status cannot show: which tasks still run after
/// a timeout, and which ended with a status that could not be read.
fn report_outcome(store: &Store, ids: &[String], code: u8) {
    let Ok(registry) = store.load() else { return };
    if code == TIMED_OUT {
        let running: Vec<&str> = ids
            .iter()
            .filter(|id| {
                registry
                    .task(id)
                    .is_some_and(|task| task.status == Status::Running)
            })
            .map(String::as_str)
            .collect();
        if !running.is_empty() {
            eprintln!(
                "task-watchdog: timed out; still running: {}",
                running.join(", ")
            );
            return;
        }
    }
    for id in ids {
        if let Some(task) = registry.task(id)
            && task.status == Status::Failed
            && task.exit_code.is_none()
            && task.signal.is_none()
        {
            let reason = task.reason.as_deref().unwrap_or("no reason recorded");
            eprintln!("task-watchdog: {id} failed with an unknown exit status ({reason})");
        }
    }
}

async fn wait_all(store: &Store, ids: &[String]) -> Result<u8> {
    // Subscribe before the first read, so an end recorded in between is not missed.
    let mut registry_events = RegistryEvents::watch(store.path())?;
    let source = ExitSource::best(Duration::from_secs(1))
        .map_err(|error| Error::io("cannot create the exit-event source", error))?;
    let mut watcher = TaskWatcher::new(source);
    let _container_waits = wait_for_containers(store, ids)?;

    loop {
        let registry = store.load()?;
        if let Some(code) = all_ended(&registry, ids) {
            return Ok(code);
        }
        watcher.sync(store, &registry, Some(ids));
        tokio::select! {
            _ = watcher.next_exits(store) => {}
            _ = registry_events.changed() => {}
        }
    }
}

/// Starts one engine wait per running Docker task among `ids`; each records its
/// container's end, which the registry notification then reports to `wait_all`.
/// The returned guard aborts them when dropped.
fn wait_for_containers(store: &Store, ids: &[String]) -> Result<AbortOnDrop> {
    let registry = store.load()?;
    let containers: Vec<(String, String)> = ids
        .iter()
        .filter_map(|id| {
            let task = registry.task(id)?;
            if task.status != Status::Running || !crate::docker::is_docker(task) {
                return None;
            }
            Some((
                id.clone(),
                crate::docker::record::container_ref(task)?.to_string(),
            ))
        })
        .collect();
    let mut handles = Vec::new();
    for (id, container) in containers {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            if let Err(error) = wait_for_container(&store, &id, &container).await {
                eprintln!("task-watchdog: {error}; waiting for a daemon to record the end of {id}");
            }
        }));
    }
    Ok(AbortOnDrop(handles))
}

async fn wait_for_container(store: &Store, id: &str, container: &str) -> Result<()> {
    use futures_util::StreamExt;

    let engine = crate::docker::connect().await?;
    // The engine responds once the container is not running. A non-zero exit comes
    // back as an error item, so the item only says when to inspect.
    let _ = engine.docker.wait_container(container, None).next().await;
    if let Some(end) = crate::docker::reconcile::inspect_end(&engine, container).await? {
        crate::docker::record::record_end(store, id, container, &end)?;
    }
    Ok(())
}

/// Aborts the spawned tasks when dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}

/// Returns the combined exit status once every task has ended, or `None` while any
/// still runs.
fn all_ended(registry: &Registry, ids: &[String]) -> Option<u8> {
    let mut code = 0;
    for id in ids {
        // A task removed while we waited (cleanup) counts as ended with status 1.
        let task_code = match registry.task(id) {
            Some(task) if task.status == Status::Running => return None,
            Some(task) => task_exit_code(task),
            None => 1,
        };
        if code == 0 {
            code = task_code;
        }
    }
    Some(code)
}

/// Returns the status a shell would give the task's end.
///
/// A task recorded `completed` (by `complete`, or exit 0) waits out as 0 even when
/// `complete` ended its process with a signal, because completion was declared.
pub fn task_exit_code(task: &Task) -> u8 {
    if task.status == Status::Completed {
        return 0;
    }
    if let Some(exit_code) = task.exit_code {
        return (exit_code & 0xff) as u8;
    }
    if let Some(signo) = task
        .signal
        .as_deref()
        .and_then(task_watchdog_platform::signal::parse)
    {
        return (128 + signo).min(255) as u8;
    }
    1
}
