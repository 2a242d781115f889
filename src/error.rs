//! The error type every command returns. Each message names the value involved and
//! ends with what to do about it, because it is printed as the one line a user reads.

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("task {id:?} not found in {registry}; run `task-watchdog list` to see recorded tasks")]
    TaskNotFound { id: String, registry: PathBuf },

    #[error(
        "task {id:?} has an invalid record in {registry} ({reason}); fix or remove it in that file"
    )]
    InvalidRecord {
        id: String,
        registry: PathBuf,
        reason: String,
    },

    #[error(
        "task {id:?} is already running as PID {pid}; stop it with `task-watchdog kill {id}` or choose another id"
    )]
    AlreadyRunning { id: String, pid: i32 },

    /// Bad input: the message names the value and the fix.
    #[error("{0}")]
    Invalid(String),

    #[error("failed to start {program:?}: {reason}")]
    Spawn { program: String, reason: String },

    #[error("{action} {path}: {source}; {hint}")]
    File {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
        hint: &'static str,
    },

    #[error(
        "cannot reach the Docker engine at {endpoint} ({detail}); start the engine, or set DOCKER_HOST to its socket such as unix:///var/run/docker.sock"
    )]
    DockerUnavailable { endpoint: String, detail: String },

    /// A request the engine rejected; `action` names it and the container.
    #[error("{action}: {detail}")]
    Docker { action: String, detail: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
