//! The process watched for each running task, and what is recorded when it exits.
//!
//! - A launched task is watched through its monitor: the monitor records the exact
//!   status itself, so the watcher only cares when the monitor dies. If the record
//!   is still `running` then, the monitor was killed before it could record. The
//!   watcher then adopts the task's main process and records its end, with
//!   `exit_code` null because only a parent can read the status.
//! - An attached task (`register --pid`) is watched directly, and its exit recorded
//!   `failed` with `exit_code` null for the same reason.
//! - A logical task has no process and is never watched.
//!
//! The daemon and `wait` share this code, so a `wait` with no daemon running still
//! records the ends it observes.

use std::collections::{HashMap, HashSet};

use task_watchdog_platform::exit_source::{ExitSource, Token, WatchOutcome};
use task_watchdog_platform::{Pid, ProcessIdentity};

use crate::error::Result;
use crate::process::{self, ProcessState};
use crate::registry::{Event, Registry, Status, Store, Task};

/// Reason recorded for an attached process that exited.
pub const REASON_ATTACHED_EXIT: &str =
    "exited; not a child of the watchdog, so its exit status is unknown";
/// Reason recorded when a monitor died before recording its task's end.
pub const REASON_MONITOR_LOST: &str = "monitor lost; exit status unknown";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// The monitor of a launched task.
    Monitor,
    /// The task's own process: attached, or adopted after its monitor died.
    Main,
}

/// One watched process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchSpec {
    pub id: String,
    pub kind: WatchKind,
    pub pid: Pid,
    pub identity: ProcessIdentity,
}

/// The exit-event source plus which task each of its watches belongs to.
pub struct TaskWatcher {
    source: ExitSource,
    by_token: HashMap<Token, WatchSpec>,
    /// Monitors seen dead while their task was still running; their tasks are
    /// watched through the main process from then on.
    lost_monitors: HashSet<WatchSpec>,
    next_token: Token,
}

impl TaskWatcher {
    pub fn new(source: ExitSource) -> Self {
        TaskWatcher {
            source,
            by_token: HashMap::new(),
            lost_monitors: HashSet::new(),
            next_token: 1,
        }
    }

    pub fn backend(&self) -> task_watchdog_platform::exit_source::Backend {
        self.source.backend()
    }

    pub fn watched(&self) -> usize {
        self.by_token.len()
    }

    /// Brings the watches in line with `registry`: new running tasks are watched,
    /// ended or removed ones dropped. A process found already gone is handled at
    /// once. `only` limits the work to the given ids (for `wait`).
    pub fn sync(&mut self, store: &Store, registry: &Registry, only: Option<&[String]>) {
        let desired: Vec<WatchSpec> = registry
            .valid_tasks()
            .filter(|(id, _)| only.is_none_or(|ids| ids.contains(id)))
            .filter_map(|(id, task)| self.desired_watch(id, task))
            .collect();

        let desired_set: HashSet<&WatchSpec> = desired.iter().collect();
        let stale: Vec<Token> = self
            .by_token
            .iter()
            .filter(|(_, spec)| !desired_set.contains(spec))
            .map(|(token, _)| *token)
            .collect();
        for token in stale {
            self.source.unwatch(token);
            self.by_token.remove(&token);
        }

        let watched: HashSet<WatchSpec> = self.by_token.values().cloned().collect();
        for spec in desired {
            if !watched.contains(&spec) {
                self.start_watch(store, spec);
            }
        }
    }

    fn start_watch(&mut self, store: &Store, spec: WatchSpec) {
        let token = self.next_token;
        self.next_token += 1;
        match self.source.watch(token, spec.pid, &spec.identity) {
            Ok(WatchOutcome::Watching) => {
                tracing::debug!(task = %spec.id, pid = spec.pid, kind = ?spec.kind, "watching");
                self.by_token.insert(token, spec);
            }
            Ok(WatchOutcome::Exited | WatchOutcome::Reused) => self.handle_exit(store, &spec),
            Err(error) => {
                tracing::warn!(task = %spec.id, pid = spec.pid, %error, "cannot watch process");
            }
        }
    }

    /// Waits for the next watched process to exit, takes every other exit already
    /// queued with it, records what they mean, and returns the task ids.
    ///
    /// A burst of exits becomes one registry write instead of one per exit.
    pub async fn next_exits(&mut self, store: &Store) -> Option<Vec<String>> {
        let first = self.source.next_exit().await?;
        let mut tokens = vec![first];
        while let Some(token) = self.source.queued_exit() {
            tokens.push(token);
        }

        let specs: Vec<WatchSpec> = tokens
            .iter()
            .filter_map(|token| self.by_token.remove(token))
            .collect();
        let (mains, monitors): (Vec<WatchSpec>, Vec<WatchSpec>) = specs
            .iter()
            .cloned()
            .partition(|spec| spec.kind == WatchKind::Main);
        tracing::trace!(count = specs.len(), "exit events");

        if let Err(error) = record_main_exits(store, &mains) {
            tracing::error!(tasks = ?ids(&mains), %error, "cannot record the exits");
        }
        for spec in &monitors {
            if let Err(error) = self.handle_monitor_exit(store, spec) {
                tracing::error!(task = %spec.id, pid = spec.pid, %error, "cannot record the exit");
            }
        }
        Some(specs.into_iter().map(|spec| spec.id).collect())
    }

    fn handle_exit(&mut self, store: &Store, spec: &WatchSpec) {
        let result = match spec.kind {
            WatchKind::Main => record_main_exits(store, std::slice::from_ref(spec)),
            WatchKind::Monitor => self.handle_monitor_exit(store, spec),
        };
        if let Err(error) = result {
            tracing::error!(task = %spec.id, pid = spec.pid, %error, "cannot record the exit");
        }
    }

    /// The process to watch for a running task: its monitor while that lives,
    /// otherwise its main process. Liveness is not checked here; a watch on a
    /// process that is already gone is handled as an exit when it starts.
    fn desired_watch(&self, id: &str, task: &Task) -> Option<WatchSpec> {
        if task.status != Status::Running {
            return None;
        }
        if let Some((pid, identity)) = process::monitor_process(task) {
            let monitor = WatchSpec {
                id: id.to_string(),
                kind: WatchKind::Monitor,
                pid,
                identity,
            };
            if !self.lost_monitors.contains(&monitor) {
                return Some(monitor);
            }
        }
        let (pid, identity) = process::main_process(task)?;
        Some(WatchSpec {
            id: id.to_string(),
            kind: WatchKind::Main,
            pid,
            identity,
        })
    }

    /// Handles a monitor that is gone. If it recorded the end there is nothing to do.
    /// Otherwise the main process is adopted, or its end recorded if it is gone too.
    fn handle_monitor_exit(&mut self, store: &Store, spec: &WatchSpec) -> Result<()> {
        let registry = store.load()?;
        let Some(task) = registry.task(&spec.id) else {
            return Ok(());
        };
        if task.status.is_ended() || !same_monitor(task, spec) {
            return Ok(());
        }
        self.lost_monitors.insert(spec.clone());
        match process::main_process(task) {
            Some((pid, identity)) if process::state_of(pid, &identity) == ProcessState::Alive => {
                tracing::info!(task = %spec.id, pid, monitor_pid = spec.pid, "monitor died; adopting the task");
                store.update(|_, events| {
                    events.push(
                        Event::new(&spec.id, "adopted")
                            .with("pid", pid)
                            .with("monitor_pid", spec.pid),
                    );
                    Ok(())
                })?;
                let adopted = WatchSpec {
                    id: spec.id.clone(),
                    kind: WatchKind::Main,
                    pid,
                    identity,
                };
                self.start_watch(store, adopted);
                Ok(())
            }
            _ => record_lost(store, &spec.id, task_key(task), REASON_MONITOR_LOST),
        }
    }
}

fn same_monitor(task: &Task, spec: &WatchSpec) -> bool {
    task.monitor.as_ref().is_some_and(|monitor| {
        monitor.pid == spec.pid && monitor.start_ticks == spec.identity.start_ticks
    })
}

/// Returns what makes a record the same task: its main process's start, or its
/// launch.
pub fn task_key(task: &Task) -> (Option<u64>, Option<String>) {
    (
        task.native.as_ref().and_then(|native| native.start_ticks),
        task.launch_id.clone(),
    )
}

/// Returns the reason recorded when a running task's main process is found gone
/// with nobody to read its status: its monitor was lost, or it was attached.
pub fn lost_reason(task: &Task) -> &'static str {
    if task.monitor.is_some() {
        REASON_MONITOR_LOST
    } else {
        REASON_ATTACHED_EXIT
    }
}

fn ids(specs: &[WatchSpec]) -> Vec<&str> {
    specs.iter().map(|spec| spec.id.as_str()).collect()
}

/// Records the ends of attached or adopted main processes in one registry update.
/// A record whose main process is no longer the watched one is left alone.
fn record_main_exits(store: &Store, specs: &[WatchSpec]) -> Result<()> {
    if specs.is_empty() {
        return Ok(());
    }
    let ended = store.update(|registry, events| {
        let mut ended = Vec::new();
        for spec in specs {
            let Some(task) = registry.task_mut(&spec.id) else {
                continue;
            };
            let recorded = process::main_process(task);
            if task.status != Status::Running
                || recorded.as_ref() != Some(&(spec.pid, spec.identity.clone()))
            {
                continue;
            }
            mark_lost(task, lost_reason(task));
            events.push(exit_event(&spec.id, task));
            ended.push(spec.id.clone());
        }
        Ok(ended)
    })?;
    for id in ended {
        tracing::info!(task = %id, "task ended");
    }
    Ok(())
}

/// Ends a running task whose exit status cannot be known: `cancelled` when `kill`
/// asked for it, `failed` with `reason` otherwise.
fn mark_lost(task: &mut Task, reason: &str) {
    if task.cancel_requested_at.is_some() {
        task.end(Status::Cancelled, "cancelled");
    } else {
        task.end(Status::Failed, reason);
    }
    task.exit_code = None;
}

fn exit_event(id: &str, task: &Task) -> Event {
    Event::new(id, "exited")
        .with("status", task.status.as_str())
        .with("reason", task.reason.clone())
        .with("pid", task.native.as_ref().map(|native| native.pid))
}

/// Marks a running task `failed` with an unknown exit status, if it is still the
/// same task (`key`) and still running.
pub fn record_lost(
    store: &Store,
    id: &str,
    key: (Option<u64>, Option<String>),
    reason: &str,
) -> Result<()> {
    let recorded = store.update(|registry, events| {
        let Some(task) = registry.task_mut(id) else {
            return Ok(false);
        };
        if task.status != Status::Running || task_key(task) != key {
            return Ok(false);
        }
        mark_lost(task, reason);
        events.push(exit_event(id, task));
        Ok(true)
    })?;
    if recorded {
        tracing::info!(task = %id, reason, "task ended");
    }
    Ok(())
}
