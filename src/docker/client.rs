//! The connection to the Docker engine.
//!
//! The endpoint is `DOCKER_HOST` when set, else the default Unix socket. Only the
//! `unix://` and plain `tcp://`/`http://` transports are built in; TLS is not.
//! Every failure to reach the engine becomes [`Error::DockerUnavailable`], one line
//! that names the endpoint and the fix.

use bollard::Docker;

use crate::error::{Error, Result};

/// The socket the engine listens on when `DOCKER_HOST` is not set.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// Seconds before a request to the engine times out. Streams (events, logs,
/// `wait`) are not bound by it.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// A connected engine, and the endpoint it was reached at, for messages.
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    pub endpoint: String,
}

/// Returns the endpoint this process connects to.
pub fn endpoint() -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.trim().is_empty() => host.trim().to_string(),
        _ => DEFAULT_ENDPOINT.to_string(),
    }
}

/// Connects to the engine and agrees on an API version with it, which also proves
/// that it responds. Engines older than this client's API (such as 20.10, API 1.41)
/// are spoken to in their own version.
pub async fn connect() -> Result<Engine> {
    let endpoint = endpoint();
    let docker = open(&endpoint).map_err(|error| unavailable(&endpoint, &error))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|error| unavailable(&endpoint, &error))?;
    Ok(Engine { docker, endpoint })
}

fn open(endpoint: &str) -> std::result::Result<Docker, bollard::errors::Error> {
    if endpoint.starts_with("unix://") {
        return Docker::connect_with_unix(
            endpoint,
            REQUEST_TIMEOUT_SECS,
            bollard::API_DEFAULT_VERSION,
        );
    }
    Docker::connect_with_host(endpoint)
}

/// Builds the error for an engine that cannot be reached at `endpoint`.
pub fn unavailable(endpoint: &str, error: &bollard::errors::Error) -> Error {
    Error::DockerUnavailable {
        endpoint: endpoint.to_string(),
        detail: one_line(&error.to_string()),
    }
}

/// Builds the error for a request the engine rejected or that failed midway.
pub fn request_failed(action: impl Into<String>, error: &bollard::errors::Error) -> Error {
    Error::Docker {
        action: action.into(),
        detail: one_line(&error.to_string()),
    }
}

/// Returns true when the engine responded 404: no such container (or image).
pub fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Returns true when the engine responded 304 or 409: the container was already in the
/// requested state (stopped, or not running for a kill).
pub fn is_already_done(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 409,
            ..
        }
    )
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs `future` on a small current-thread runtime, for one-shot commands.
pub fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::io("cannot start the async runtime", error))?
        .block_on(future)
}
