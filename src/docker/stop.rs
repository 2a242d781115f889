//! Stopping a task's container for `kill` and `complete`: the engine sends the
//! container's stop signal (SIGTERM unless the image sets another), or the signal
//! given, waits the grace period, then SIGKILL; a container still running after
//! that is killed outright.

use std::time::Duration;

use bollard::query_parameters::{KillContainerOptionsBuilder, StopContainerOptionsBuilder};
use futures_util::StreamExt;

use super::client::{self, Engine};
use super::reconcile;
use super::record::ContainerEnd;
use crate::error::Result;

/// Stops `container` with `signal` first (the engine's default when `None`) and
/// `grace` before SIGKILL, and returns how it ended, or `None` if it still runs.
pub async fn stop(
    engine: &Engine,
    container: &str,
    signal: Option<&str>,
    grace: Duration,
) -> Result<Option<ContainerEnd>> {
    // The engine takes whole seconds; a fraction rounds up so the grace is never cut.
    let seconds =
        i32::try_from(grace.as_secs() + u64::from(grace.subsec_nanos() > 0)).unwrap_or(i32::MAX);
    match signal {
        // The stop endpoint's own signal parameter needs API 1.42 (Docker 23), and
        // older engines ignore it and send SIGTERM, so a chosen signal goes through
        // the kill endpoint and the grace period is waited out here.
        Some(signal) => {
            send_signal(engine, container, signal).await?;
            let mut exit = engine.docker.wait_container(container, None);
            let _ = tokio::time::timeout(grace, exit.next()).await;
        }
        None => {
            let options = StopContainerOptionsBuilder::new().t(seconds).build();
            match engine.docker.stop_container(container, Some(options)).await {
                Ok(()) => {}
                Err(error) if client::is_already_done(&error) || client::is_not_found(&error) => {}
                Err(error) => {
                    return Err(client::request_failed(
                        format!("cannot stop container {container}"),
                        &error,
                    ));
                }
            }
        }
    }

    if let Some(end) = reconcile::inspect_end(engine, container).await? {
        return Ok(Some(end));
    }
    send_signal(engine, container, "SIGKILL").await?;
    reconcile::inspect_end(engine, container).await
}

/// Sends `signal` to the container's main process; a container that has already
/// stopped or is gone is not an error.
async fn send_signal(engine: &Engine, container: &str, signal: &str) -> Result<()> {
    let options = KillContainerOptionsBuilder::new().signal(signal).build();
    match engine.docker.kill_container(container, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if client::is_already_done(&error) || client::is_not_found(&error) => Ok(()),
        Err(error) => Err(client::request_failed(
            format!("cannot signal container {container}"),
            &error,
        )),
    }
}
