//! `start ID --docker --image IMAGE [--memory SIZE] [--cpus CORES] [--workdir DIR]
//! [--env K=V]... -- CMD [ARGS]...`: create and start a container for the task.
//!
//! The container is named `dev-task-<ID>`, labelled with the task id and the
//! registry's absolute path, limited in memory (swap included, so the limit is hard)
//! and CPU, and gets DIR bind-mounted at `/workspace`, its working directory. CMD and
//! ARGS become the container's command as a list, never through a shell. The image
//! is not pulled: it must be present on the engine.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};

use super::client::{self, Engine};
use super::{NAME_PREFIX, REGISTRY_LABEL, TASK_LABEL, WORKSPACE, record};
use crate::cli::StartArgs;
use crate::commands::start::{normalize_rules, reject_if_live};
use crate::error::{Error, Result};
use crate::process::TAG_VARIABLE;
use crate::registry::{Event, Status, Store, Task, TaskEntry};
use crate::units::parse_size;

/// The container to create, checked before the engine is contacted.
struct ContainerSpec {
    name: String,
    image: String,
    command: Vec<String>,
    workdir: PathBuf,
    env: Vec<String>,
    memory: Option<(String, i64)>,
    cpus: Option<(String, i64)>,
    warn_after_secs: f64,
}

pub fn run(store: &Store, args: &StartArgs) -> Result<u8> {
    let spec = build_spec(args)?;
    let registry = store.load()?;
    let previous = registry.task(&args.id).cloned();
    if let Some(existing) = &previous
        && existing.status == Status::Running
        && !record::is_docker(existing)
    {
        reject_if_live(&args.id, existing)?;
    }

    let container_id = client::block_on(async {
        let engine = client::connect().await?;
        if let Some(existing) = &previous {
            make_room(store, &engine, &args.id, existing).await?;
        }
        create(store, &engine, &args.id, &spec).await
    })?;

    insert_record(store, args, &spec, &container_id)?;
    let started = client::block_on(async {
        let engine = client::connect().await?;
        engine
            .docker
            .start_container(&container_id, None)
            .await
            .map_err(|error| {
                client::request_failed(format!("cannot start container {}", spec.name), &error)
            })
    });
    if let Err(error) = started {
        mark_spawn_failed(store, &args.id, &container_id, &error.to_string());
        return Err(error);
    }

    tracing::info!(task = %args.id, container = %container_id, image = %spec.image, "container task started");
    let short = &container_id[..container_id.len().min(12)];
    crate::commands::write_stdout(&format!(
        "started {} in container {} ({short}); output with `task-watchdog logs {}`\n",
        args.id, spec.name, args.id
    ))?;
    if !crate::daemon::is_running(store) {
        eprintln!(
            "task-watchdog: note: no daemon watches this registry, so the container's exit is recorded only once `task-watchdog run` or `wait` sees it"
        );
    }
    Ok(0)
}

fn build_spec(args: &StartArgs) -> Result<ContainerSpec> {
    let image = args.image.clone().unwrap_or_default();
    if image.trim().is_empty() {
        return Err(Error::invalid(
            "--image is empty; give an image present on the engine, such as debian:12",
        ));
    }
    // NOTE: the daemon enforces --timeout only on native tasks so far.
    if args.timeout.is_some() {
        return Err(Error::invalid(
            "--timeout is not supported with --docker; stop the container with `task-watchdog kill ID` instead",
        ));
    }
    if args.command.is_some() {
        return Err(Error::invalid(
            "--command cannot be used with --docker, because container commands never run through a shell; give the command after `--`, such as `-- sh -c 'make test'`",
        ));
    }
    if args.program.is_empty() || args.program[0].is_empty() {
        return Err(Error::invalid(format!(
            "nothing to run for task {:?}: give the command after `--`, as in `task-watchdog start {} --docker --image IMAGE -- make test`",
            args.id, args.id
        )));
    }

    let workdir = match args.workdir.as_ref().or(args.cwd.as_ref()) {
        Some(dir) => std::path::absolute(dir)
            .map_err(|error| Error::io("cannot resolve --workdir", error))?,
        None => std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?,
    };
    if !workdir.is_dir() {
        return Err(Error::invalid(format!(
            "working directory {} does not exist or is not a directory; pass an existing one with --workdir",
            workdir.display()
        )));
    }

    let mut env = vec![format!("{TAG_VARIABLE}={}", args.id)];
    for entry in &args.env {
        match entry.split_once('=') {
            Some((key, _)) if !key.is_empty() => env.push(entry.clone()),
            _ => {
                return Err(Error::invalid(format!(
                    "invalid --env {entry:?}: use KEY=VALUE"
                )));
            }
        }
    }

    let memory = args
        .memory
        .as_deref()
        .map(|text| {
            let bytes = parse_size("--memory", text)?;
            let bytes = i64::try_from(bytes)
                .map_err(|_| Error::invalid(format!("invalid --memory {text:?}: too large")))?;
            Ok::<_, Error>((text.trim().to_string(), bytes))
        })
        .transpose()?;
    let cpus = args
        .cpus
        .as_deref()
        .map(|text| {
            let cores: f64 = text.trim().parse().ok().filter(|cores: &f64| cores.is_finite() && *cores > 0.0 && *cores <= 1024.0).ok_or_else(|| {
                Error::invalid(format!("invalid --cpus {text:?}: give a positive number of cores, such as 1.0 or 0.5"))
            })?;
            Ok::<_, Error>((text.trim().to_string(), (cores * 1e9).round() as i64))
        })
        .transpose()?;

    Ok(ContainerSpec {
        name: format!("{NAME_PREFIX}{}", args.id),
        image: image.trim().to_string(),
        command: args.program.clone(),
        workdir,
        env,
        memory,
        cpus,
        warn_after_secs: crate::units::parse_duration("--warn-after", &args.warn_after)?
            .as_secs_f64(),
    })
}

/// Clears the way for a new container under the task's name: refuses while the
/// task's container runs, and removes the stopped container of an ended task with
/// this id, which this registry created.
async fn make_room(store: &Store, engine: &Engine, id: &str, existing: &Task) -> Result<()> {
    let Some(container) = record::container_ref(existing) else {
        return Ok(());
    };
    let inspected = match engine.docker.inspect_container(container, None).await {
        Ok(inspected) => inspected,
        Err(error) if client::is_not_found(&error) => return Ok(()),
        Err(error) => {
            return Err(client::request_failed(
                format!("cannot inspect container {container}"),
                &error,
            ));
        }
    };
    let running = inspected
        .state
        .as_ref()
        .and_then(|state| state.running)
        .unwrap_or(false);
    if running {
        return Err(Error::invalid(format!(
            "task {id:?} is already running in container {container}; stop it with `task-watchdog kill {id}` or choose another id"
        )));
    }
    let labels = inspected
        .config
        .and_then(|config| config.labels)
        .unwrap_or_default();
    let ours =
        labels.get(REGISTRY_LABEL).map(String::as_str) == Some(&*store.path().to_string_lossy());
    if ours && existing.status.is_ended() {
        let options = RemoveContainerOptionsBuilder::new().build();
        match engine
            .docker
            .remove_container(container, Some(options))
            .await
        {
            Ok(()) => tracing::info!(task = %id, container, "removed the ended task's container"),
            Err(error) if client::is_not_found(&error) => {}
            Err(error) => {
                return Err(client::request_failed(
                    format!("cannot remove the previous container {container} of task {id:?}"),
                    &error,
                ));
            }
        }
    }
    Ok(())
}

async fn create(store: &Store, engine: &Engine, id: &str, spec: &ContainerSpec) -> Result<String> {
    let labels = HashMap::from([
        (TASK_LABEL.to_string(), id.to_string()),
        (
            REGISTRY_LABEL.to_string(),
            store.path().display().to_string(),
        ),
    ]);
    let host_config = HostConfig {
        memory: spec.memory.as_ref().map(|(_, bytes)| *bytes),
        memory_swap: spec.memory.as_ref().map(|(_, bytes)| *bytes),
        nano_cpus: spec.cpus.as_ref().map(|(_, nanos)| *nanos),
        binds: Some(vec![format!("{}:{WORKSPACE}", spec.workdir.display())]),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: Some(spec.command.clone()),
        env: Some(spec.env.clone()),
        labels: Some(labels),
        working_dir: Some(WORKSPACE.to_string()),
        host_config: Some(host_config),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::new()
        .name(&spec.name)
        .build();
    match engine.docker.create_container(Some(options), body).await {
        Ok(response) => Ok(response.id),
        Err(error) if client::is_not_found(&error) => Err(Error::invalid(format!(
            "image {:?} is not present on the Docker engine at {}; pull or build it first (start does not pull)",
            spec.image, engine.endpoint
        ))),
        Err(error) => Err(client::request_failed(
            format!("cannot create container {}", spec.name),
            &error,
        )),
    }
}

fn insert_record(
    store: &Store,
    args: &StartArgs,
    spec: &ContainerSpec,
    container_id: &str,
) -> Result<()> {
    store.update(|registry, events| {
        let mut rules = normalize_rules(&args.rules);
        if let Some(TaskEntry::Invalid { raw, reason }) = registry.tasks.get(&args.id) {
            events.push(crate::commands::replacing_invalid(
                store, &args.id, raw, reason,
            ));
        }
        if let Some(existing) = registry.task(&args.id)
            && existing.status == Status::Running
            && rules.is_empty()
        {
            rules = existing.constitution_rules.clone();
        }
        let mut task = Task::new(crate::commands::start::shell_words(&spec.command), rules);
        task.mode = "docker".to_string();
        task.cwd = Some(spec.workdir.display().to_string());
        task.warn_after_secs = Some(spec.warn_after_secs);
        task.docker = Some(record::docker_object(
            container_id,
            &spec.name,
            &spec.image,
            spec.memory.as_ref().map(|(text, _)| text.as_str()),
            spec.cpus.as_ref().map(|(text, _)| text.as_str()),
        ));
        events.push(
            Event::new(&args.id, "launching")
                .with("command", task.command.clone())
                .with("container_id", container_id)
                .with("image", spec.image.clone()),
        );
        registry.insert(args.id.clone(), task);
        Ok(())
    })
}

fn mark_spawn_failed(store: &Store, id: &str, container_id: &str, message: &str) {
    let _ = store.update(|registry, events| {
        if let Some(task) = registry.task_mut(id)
            && task.status == Status::Running
            && record::same_container(task, container_id)
        {
            task.end(Status::Failed, format!("spawn error: {message}"));
            events.push(Event::new(id, "spawn_failed").with("message", message));
        }
        Ok(())
    });
}
