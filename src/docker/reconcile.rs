//! Reconciliation: compare each running Docker task with the engine's view and
//! record the ends no event reported.
//!
//! The daemon runs it on every connect to the engine and at each sweep, so a
//! container that exited while the daemon was stopped or disconnected is recorded
//! within seconds of the connection coming back. It is one list of this registry's
//! labelled containers plus one inspect per task whose container is not listed as
//! running (attached containers carry no label, so they are always inspected).

use std::collections::HashMap;

use bollard::models::ContainerStateStatusEnum;
use bollard::query_parameters::ListContainersOptionsBuilder;

use super::REGISTRY_LABEL;
use super::client::{self, Engine};
use super::record::{self, ContainerEnd};
use crate::error::Result;
use crate::registry::{Status, Store};

/// Reason recorded when the container was removed before its exit code was read.
pub const REASON_REMOVED: &str = "container removed; exit status unknown";

/// Records the end of every running Docker task whose container has stopped or is
/// gone, and returns how many it recorded.
pub async fn reconcile(store: &Store, engine: &Engine) -> Result<usize> {
    let registry = store.load()?;
    let running: Vec<(String, String)> = registry
        .valid_tasks()
        .filter(|(_, task)| task.status == Status::Running && record::is_docker(task))
        .filter_map(|(id, task)| Some((id.clone(), record::container_ref(task)?.to_string())))
        .collect();
    if running.is_empty() {
        return Ok(0);
    }

    let listed = running_labelled(store, engine).await?;
    let mut recorded = 0;
    for (id, container) in running {
        if listed
            .keys()
            .any(|listed_id| listed_id.starts_with(&container))
        {
            continue;
        }
        let Some(end) = inspect_end(engine, &container).await? else {
            continue;
        };
        if record::record_end(store, &id, &container, &end)? {
            recorded += 1;
        }
    }
    if recorded > 0 {
        tracing::info!(recorded, "reconciled container tasks with the engine");
    }
    Ok(recorded)
}

/// Lists the running containers labelled with this registry, by id.
async fn running_labelled(store: &Store, engine: &Engine) -> Result<HashMap<String, ()>> {
    let label = format!("{REGISTRY_LABEL}={}", store.path().display());
    let filters = HashMap::from([("label", vec![label.as_str()]), ("status", vec!["running"])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = engine
        .docker
        .list_containers(Some(options))
        .await
        .map_err(|error| client::request_failed("cannot list containers", &error))?;
    Ok(containers
        .into_iter()
        .filter_map(|summary| summary.id.map(|id| (id, ())))
        .collect())
}

/// Returns how `container` ended, or `None` while it has not (created, running, paused,
/// restarting). A container the engine no longer has ended with an unknown code.
pub async fn inspect_end(engine: &Engine, container: &str) -> Result<Option<ContainerEnd>> {
    let response = match engine.docker.inspect_container(container, None).await {
        Ok(response) => response,
        Err(error) if client::is_not_found(&error) => {
            return Ok(Some(ContainerEnd {
                exit_code: None,
                oom_killed: false,
                reason: REASON_REMOVED.to_string(),
            }));
        }
        Err(error) => {
            return Err(client::request_failed(
                format!("cannot inspect container {container}"),
                &error,
            ));
        }
    };
    let Some(state) = response.state else {
        return Ok(None);
    };
    let ended = matches!(
        state.status,
        Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD)
    );
    if !ended {
        return Ok(None);
    }
    Ok(Some(ContainerEnd {
        exit_code: state.exit_code.and_then(|code| i32::try_from(code).ok()),
        oom_killed: state.oom_killed.unwrap_or(false),
        reason: "exited".to_string(),
    }))
}
