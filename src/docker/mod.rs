//! Docker tasks: containers recorded with `mode: "docker"` and watched through the
//! engine's events stream instead of a monitor process.
//!
//! - [`client`]: the connection (`DOCKER_HOST` or the default socket) and the
//!   one-line error that names the endpoint when no engine responds.
//! - [`launch`]: `start --docker`, which creates and starts a labelled container.
//! - [`attach`]: `register --container`, which tracks a container started elsewhere.
//! - [`events`]: the daemon's subscription to container events, with reconnection.
//! - [`reconcile`]: list + inspect, which records ends that no event reported.
//! - [`stats`]: one-shot CPU and memory figures for `check` and `report`.
//! - [`record`]: reading the `docker` object of a record and writing a container's end.
//!
//! The engine, not a monitor, is the container's parent, so the engine's exit code
//! and OOM flag are exact, and nothing here needs a process of ours to stay alive.

pub mod attach;
pub mod client;
pub mod events;
pub mod launch;
pub mod logs;
pub mod reconcile;
pub mod record;
pub mod stats;
pub mod stop;

pub use client::{Engine, block_on, connect};
pub use record::{ContainerEnd, container_id, is_docker};

/// Label holding the task id on containers that `start --docker` creates.
pub const TASK_LABEL: &str = "task-watchdog.task";

/// Label holding the absolute path of the registry that owns the container.
pub const REGISTRY_LABEL: &str = "task-watchdog.registry";

/// Containers are named `dev-task-<ID>`, as the earlier version named them.
pub const NAME_PREFIX: &str = "dev-task-";

/// The mount point of the task's working directory inside the container.
pub const WORKSPACE: &str = "/workspace";
