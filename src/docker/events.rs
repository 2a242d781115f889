//! The daemon's link to the engine's container events.
//!
//! A spawned task owns the connection. It forwards every event into the daemon's
//! channel the moment it arrives, because the engine drops subscribers that read
//! slowly, and leaves all registry work to the daemon's handlers. When the stream
//! ends, fails, or a ping finds it stalled, the task reconnects with capped
//! exponential backoff. It resumes with `since` set to the second of the last event
//! it received, so events in between are replayed, and the daemon drops duplicates.
//!
//! The subscription is filtered to container events of the kinds the daemon acts on
//! (`start`, `die`, `oom`, `kill`, `destroy`). It is not filtered by label: attached
//! containers carry no label of ours, and the engine ANDs filters of different kinds,
//! so the daemon matches events to tasks by container id instead.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::client::{self, Engine};

/// The container event kinds the daemon subscribes to.
pub const ACTIONS: [&str; 5] = ["start", "die", "oom", "kill", "destroy"];

/// First wait before reconnecting; it doubles after each failure up to
/// [`MAX_BACKOFF`], and starts again after a successful connect.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long the stream may stay silent before a ping checks the engine. An idle
/// daemon connected to an engine wakes this often; without an engine it wakes
/// only to reconnect.
const PING_AFTER: Duration = Duration::from_secs(60);

/// How long a ping may take before the stream is taken as stalled.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// A message from the link to the daemon.
pub enum LinkMessage {
    /// Connected and subscribed; the daemon reconciles with this engine.
    Connected(Engine),
    /// The engine could not be reached, or the stream ended, with `error` as the cause.
    Disconnected { endpoint: String, error: String },
    /// One container event, as the engine sent it.
    Event(Box<EventMessage>),
}

/// Starts the link on the current runtime. It ends when the daemon drops the
/// receiving end of `sender`.
pub fn spawn_link(sender: UnboundedSender<LinkMessage>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run_link(sender))
}

async fn run_link(sender: UnboundedSender<LinkMessage>) {
    let mut backoff = MIN_BACKOFF;
    // The engine's clock, in seconds, of the newest event seen; the first
    // subscription starts from the connect, so nothing between subscribing and
    // reconciling is missed.
    let mut since: Option<i64> = None;

    loop {
        let error = match client::connect().await {
            Ok(engine) => {
                backoff = MIN_BACKOFF;
                let resume = since.unwrap_or_else(|| chrono::Utc::now().timestamp());
                if sender.send(LinkMessage::Connected(engine.clone())).is_err() {
                    return;
                }
                let error = pump(&engine, resume, &mut since, &sender).await;
                if sender.is_closed() {
                    return;
                }
                (engine.endpoint, error)
            }
            Err(error) => (client::endpoint(), error.to_string()),
        };
        let (endpoint, error) = error;
        if sender
            .send(LinkMessage::Disconnected { endpoint, error })
            .is_err()
        {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Forwards events until the stream ends or stalls, and returns why it stopped.
async fn pump(
    engine: &Engine,
    resume: i64,
    since: &mut Option<i64>,
    sender: &UnboundedSender<LinkMessage>,
) -> String {
    let filters = HashMap::from([("type", vec!["container"]), ("event", ACTIONS.to_vec())]);
    let options = EventsOptionsBuilder::new()
        .since(&resume.to_string())
        .filters(&filters)
        .build();
    let mut stream = engine.docker.events(Some(options));
    tracing::debug!(endpoint = %engine.endpoint, since = resume, "subscribed to container events");

    loop {
        match tokio::time::timeout(PING_AFTER, stream.next()).await {
            Ok(Some(Ok(event))) => {
                if let Some(time) = event.time {
                    *since = Some(time);
                }
                if sender.send(LinkMessage::Event(Box::new(event))).is_err() {
                    return "the daemon stopped".to_string();
                }
            }
            Ok(Some(Err(error))) => return error.to_string(),
            Ok(None) => return "the engine closed the events stream".to_string(),
            Err(_) => match tokio::time::timeout(PING_TIMEOUT, engine.docker.ping()).await {
                Ok(Ok(_)) => tracing::trace!("engine responded to the ping"),
                Ok(Err(error)) => return format!("ping failed: {error}"),
                Err(_) => return "ping timed out; the events stream is stalled".to_string(),
            },
        }
    }
}

/// The parts of a container event the daemon acts on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerEvent {
    pub container: String,
    pub action: String,
    /// `exitCode` of a `die` event.
    pub exit_code: Option<i32>,
    /// The engine's time of the event in nanoseconds; with the container and action,
    /// what makes a replayed event recognisable.
    pub time_nano: i64,
}

impl ContainerEvent {
    pub fn from_message(event: &EventMessage) -> Option<Self> {
        let actor = event.actor.as_ref()?;
        let exit_code = actor
            .attributes
            .as_ref()
            .and_then(|attributes| attributes.get("exitCode"))
            .and_then(|code| code.parse().ok());
        Some(ContainerEvent {
            container: actor.id.clone()?,
            action: event.action.clone()?,
            exit_code,
            time_nano: event
                .time_nano
                .or(event.time.map(|seconds| seconds * 1_000_000_000))
                .unwrap_or_default(),
        })
    }
}
