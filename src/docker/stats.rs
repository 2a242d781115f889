//! A container's state and resource use, as `check` and `report` show them.
//!
//! CPU% comes from the stats API with `stream=false`, for which the engine samples
//! twice about a second apart. It is computed as the docker CLI computes it: the
//! container's CPU time delta over the host's, times the online CPUs, in percent of
//! one core. Memory is usage minus the inactive file cache (`total_inactive_file` on
//! cgroup v1, `inactive_file` on v2), as `docker stats` shows it.

use std::collections::HashMap;

use bollard::models::{ContainerStateStatusEnum, ContainerStatsResponse};
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt;

use super::client::{self, Engine};
use super::record;
use crate::error::Result;
use crate::registry::Task;

/// One container's state and resource use, as the engine reports them now.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ContainerView {
    /// The engine's state name: `running`, `exited`, `created`, ... or `removed`
    /// when the engine no longer has the container.
    pub state: String,
    pub running: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// In percent of one core; `None` when the container is not running.
    pub cpu_percent: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit: Option<u64>,
    pub processes: Option<u64>,
}

/// Inspects and, when running, measures `container`.
pub async fn view(engine: &Engine, container: &str) -> Result<ContainerView> {
    let inspected = match engine.docker.inspect_container(container, None).await {
        Ok(inspected) => inspected,
        Err(error) if client::is_not_found(&error) => {
            return Ok(ContainerView {
                state: "removed".to_string(),
                ..Default::default()
            });
        }
        Err(error) => {
            return Err(client::request_failed(
                format!("cannot inspect container {container}"),
                &error,
            ));
        }
    };
    let state = inspected.state.unwrap_or_default();
    let mut view = ContainerView {
        state: state.status.map_or_else(
            || "unknown".to_string(),
            |status| status_name(status).to_string(),
        ),
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        ..Default::default()
    };
    if view.running {
        let options = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(false)
            .build();
        if let Some(Ok(stats)) = engine.docker.stats(container, Some(options)).next().await {
            view.cpu_percent = cpu_percent(&stats);
            view.memory_bytes = memory_bytes(&stats);
            view.memory_limit = stats.memory_stats.as_ref().and_then(|memory| memory.limit);
            view.processes = stats.pids_stats.as_ref().and_then(|pids| pids.current);
        }
    }
    Ok(view)
}

/// Views the containers of `tasks` over one connection, measuring them in
/// parallel, keyed by task id. A task without a recorded container is left out.
pub fn view_tasks(tasks: &[(&str, &Task)]) -> Result<HashMap<String, ContainerView>> {
    let requested: Vec<(String, String)> = tasks
        .iter()
        .filter_map(|(id, task)| Some((id.to_string(), record::container_ref(task)?.to_string())))
        .collect();
    if requested.is_empty() {
        return Ok(HashMap::new());
    }
    client::block_on(async {
        let engine = client::connect().await?;
        let views = futures_util::future::join_all(
            requested
                .iter()
                .map(|(_, container)| view(&engine, container)),
        )
        .await;
        let mut by_id = HashMap::new();
        for ((id, _), view) in requested.into_iter().zip(views) {
            by_id.insert(id, view?);
        }
        Ok(by_id)
    })
}

fn status_name(status: ContainerStateStatusEnum) -> &'static str {
    match status {
        ContainerStateStatusEnum::CREATED => "created",
        ContainerStateStatusEnum::RUNNING => "running",
        ContainerStateStatusEnum::PAUSED => "paused",
        ContainerStateStatusEnum::RESTARTING => "restarting",
        ContainerStateStatusEnum::REMOVING => "removing",
        ContainerStateStatusEnum::EXITED => "exited",
        ContainerStateStatusEnum::DEAD => "dead",
        _ => "unknown",
    }
}

fn cpu_percent(stats: &ContainerStatsResponse) -> Option<f64> {
    let now = stats.cpu_stats.as_ref()?;
    let before = stats.precpu_stats.as_ref()?;
    let container_delta = now.cpu_usage.as_ref()?.total_usage? as f64
        - before.cpu_usage.as_ref()?.total_usage.unwrap_or(0) as f64;
    let system_delta = now.system_cpu_usage? as f64 - before.system_cpu_usage.unwrap_or(0) as f64;
    if system_delta <= 0.0 || container_delta < 0.0 {
        return Some(0.0);
    }
    let cpus = now
        .online_cpus
        .map(f64::from)
        .or_else(|| {
            now.cpu_usage
                .as_ref()?
                .percpu_usage
                .as_ref()
                .map(|per| per.len() as f64)
        })
        .unwrap_or(1.0);
    Some(container_delta / system_delta * cpus * 100.0)
}

fn memory_bytes(stats: &ContainerStatsResponse) -> Option<u64> {
    let memory = stats.memory_stats.as_ref()?;
    let usage = memory.usage?;
    let cache = memory.stats.as_ref().and_then(|details| {
        details
            .get("total_inactive_file")
            .or_else(|| details.get("inactive_file"))
            .copied()
    });
    Some(usage.saturating_sub(cache.unwrap_or(0)))
}
