//! The daemon's handlers for the Docker link: one per message kind and one per
//! container event kind.
//!
//! - `Connected`: log the change once, then reconcile with list + inspect.
//! - `Disconnected`: log the change once; the link retries by itself.
//! - A registry change that adds a running Docker task: reconcile, because a
//!   container attached after it exited sends no more events.
//! - `die`: record the exit code from the event; the OOM flag comes from an `oom`
//!   event received before it, or else from inspect.
//! - `oom`: remember it for the coming `die`, or mark an already recorded end.
//! - `destroy`: a container removed while its task still runs ended unseen.
//! - `start`, `kill`: logged only; `kill` records nothing, because the `die` that
//!   follows carries the outcome, and `task-watchdog kill` records `cancelled`
//!   through the record's `cancel_requested_at`.

use std::collections::{HashSet, VecDeque};

use crate::docker::Engine;
use crate::docker::events::{ContainerEvent, LinkMessage};
use crate::docker::reconcile::{self, REASON_REMOVED};
use crate::docker::record::{self, ContainerEnd};
use crate::registry::{Registry, Status, Store};

/// How many recent events are remembered to drop replays after a reconnect. A
/// replay covers at most the second of the last event seen, so this is plenty.
const RECENT_EVENTS: usize = 1024;

/// The daemon's view of the engine: the connection and the recent events.
#[derive(Default)]
pub struct DockerWatch {
    engine: Option<Engine>,
    /// Whether the last reported state was "connected"; `None` before the first.
    connected: Option<bool>,
    recent: VecDeque<ContainerEvent>,
    recent_set: HashSet<ContainerEvent>,
    /// Containers with an `oom` event not yet followed by `die`.
    oom_seen: HashSet<String>,
    /// The running Docker tasks at the last registry change, to spot new ones.
    running_tasks: HashSet<String>,
}

impl DockerWatch {
    pub fn is_connected(&self) -> bool {
        self.engine.is_some()
    }

    pub async fn handle(&mut self, store: &Store, message: LinkMessage) {
        match message {
            LinkMessage::Connected(engine) => self.on_connected(store, engine).await,
            LinkMessage::Disconnected { endpoint, error } => {
                self.on_disconnected(&endpoint, &error)
            }
            LinkMessage::Event(event) => {
                if let Some(event) = ContainerEvent::from_message(&event) {
                    self.on_event(store, event).await;
                }
            }
        }
    }

    async fn on_connected(&mut self, store: &Store, engine: Engine) {
        if self.connected != Some(true) {
            tracing::info!(endpoint = %engine.endpoint, "connected to the Docker engine");
        }
        self.connected = Some(true);
        self.engine = Some(engine);
        self.reconcile(store).await;
    }

    fn on_disconnected(&mut self, endpoint: &str, error: &str) {
        match self.connected {
            Some(true) => tracing::warn!(
                endpoint,
                error,
                "lost the Docker engine; reconnecting with backoff"
            ),
            None => tracing::info!(
                endpoint,
                error,
                "no Docker engine; container tasks are watched once it answers"
            ),
            Some(false) => tracing::debug!(endpoint, error, "Docker engine still unreachable"),
        }
        self.connected = Some(false);
        self.engine = None;
    }

    /// Reconciles container tasks with the engine, when connected.
    pub async fn reconcile(&mut self, store: &Store) {
        let Some(engine) = &self.engine else { return };
        if let Err(error) = reconcile::reconcile(store, engine).await {
            tracing::error!(%error, "cannot reconcile container tasks with the engine");
        }
    }

    /// Reconciles when the registry gained a running Docker task, such as a container
    /// attached after it had already exited, whose end no event will report.
    pub async fn on_registry_change(&mut self, store: &Store, registry: &Registry) {
        let running: HashSet<String> = registry
            .valid_tasks()
            .filter(|(_, task)| task.status == Status::Running && record::is_docker(task))
            .map(|(id, _)| id.clone())
            .collect();
        let added = running.difference(&self.running_tasks).next().is_some();
        self.running_tasks = running;
        if added {
            self.reconcile(store).await;
        }
    }

    async fn on_event(&mut self, store: &Store, event: ContainerEvent) {
        if !self.remember(&event) {
            tracing::trace!(?event, "dropped a replayed container event");
            return;
        }
        tracing::trace!(?event, "container event");
        let result = match event.action.as_str() {
            "die" => self.on_die(store, &event).await,
            "oom" => self.on_oom(store, &event),
            "destroy" => self.on_destroy(store, &event),
            "start" | "kill" => {
                if let Some((id, _)) = find_task(store, &event.container, false) {
                    tracing::debug!(task = %id, container = %event.container, action = %event.action, "container event");
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(error) = result {
            tracing::error!(container = %event.container, action = %event.action, %error, "cannot record a container event");
        }
    }

    /// Remembers `event` and returns false when it was seen already.
    fn remember(&mut self, event: &ContainerEvent) -> bool {
        if !self.recent_set.insert(event.clone()) {
            return false;
        }
        self.recent.push_back(event.clone());
        if self.recent.len() > RECENT_EVENTS
            && let Some(oldest) = self.recent.pop_front()
        {
            self.recent_set.remove(&oldest);
        }
        true
    }

    async fn on_die(&mut self, store: &Store, event: &ContainerEvent) -> crate::error::Result<()> {
        let oom_event = self.oom_seen.remove(&event.container);
        let Some((id, container)) = find_task(store, &event.container, true) else {
            return Ok(());
        };
        let oom_inspected = match &self.engine {
            Some(engine) => match reconcile::inspect_end(engine, &container).await {
                Ok(Some(end)) => end.oom_killed,
                Ok(None) => false,
                Err(error) => {
                    tracing::debug!(task = %id, %error, "cannot inspect the container for its OOM flag");
                    false
                }
            },
            None => false,
        };
        let end = ContainerEnd {
            exit_code: event.exit_code,
            oom_killed: oom_event || oom_inspected,
            reason: "exited".to_string(),
        };
        record::record_end(store, &id, &container, &end)?;
        Ok(())
    }

    fn on_oom(&mut self, store: &Store, event: &ContainerEvent) -> crate::error::Result<()> {
        let Some((id, container)) = find_task(store, &event.container, false) else {
            return Ok(());
        };
        tracing::warn!(task = %id, container = %event.container, "container ran out of memory");
        self.oom_seen.insert(event.container.clone());
        let ended = store
            .load()?
            .task(&id)
            .is_some_and(|task| task.status.is_ended());
        if ended {
            record::record_oom(store, &id, &container)?;
        }
        Ok(())
    }

    fn on_destroy(&mut self, store: &Store, event: &ContainerEvent) -> crate::error::Result<()> {
        self.oom_seen.remove(&event.container);
        let Some((id, container)) = find_task(store, &event.container, true) else {
            return Ok(());
        };
        let end = ContainerEnd {
            exit_code: None,
            oom_killed: false,
            reason: REASON_REMOVED.to_string(),
        };
        record::record_end(store, &id, &container, &end)?;
        Ok(())
    }
}

/// Finds the task (id and recorded container reference) whose container is `container`,
/// preferring a running one; with `running_only`, only a running one.
fn find_task(store: &Store, container: &str, running_only: bool) -> Option<(String, String)> {
    let registry = match store.load() {
        Ok(registry) => registry,
        Err(error) => {
            tracing::error!(%error, "cannot read the registry for a container event");
            return None;
        }
    };
    let mut matches = registry
        .valid_tasks()
        .filter(|(_, task)| record::is_docker(task) && record::same_container(task, container))
        .filter(|(_, task)| !running_only || task.status == Status::Running)
        .map(|(id, task)| {
            (
                id.clone(),
                task.status,
                record::container_ref(task).unwrap_or(container).to_string(),
            )
        })
        .collect::<Vec<_>>();
    matches.sort_by_key(|(_, status, _)| *status != Status::Running);
    matches
        .into_iter()
        .next()
        .map(|(id, _, reference)| (id, reference))
}
