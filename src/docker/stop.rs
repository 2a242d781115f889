//! Stopping a task's container for `kill` and `complete`: the engine sends the
//! container's stop signal (SIGTERM unless the image sets another), waits the grace
//! period, then SIGKILL; a container still running after that is killed outright.

use std::time::Duration;

use bollard::query_parameters::{KillContainerOptionsBuilder, StopContainerOptionsBuilder};

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
    let mut options = StopContainerOptionsBuilder::new().t(seconds);
    if let Some(signal) = signal {
        options = options.signal(signal);
    }
    match engine
        .docker
        .stop_container(container, Some(options.build()))
        .await
    {
        Ok(()) => {}
        Err(error) if client::is_already_done(&error) || client::is_not_found(&error) => {}
        Err(error) => {
            return Err(client::request_failed(
                format!("cannot stop container {container}"),
                &error,
            ));
        }
    }

    if let Some(end) = reconcile::inspect_end(engine, container).await? {
        return Ok(Some(end));
    }
    let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
    match engine.docker.kill_container(container, Some(options)).await {
        Ok(()) => {}
        Err(error) if client::is_already_done(&error) || client::is_not_found(&error) => {}
        Err(error) => {
            return Err(client::request_failed(
                format!("cannot kill container {container}"),
                &error,
            ));
        }
    }
    reconcile::inspect_end(engine, container).await
}
