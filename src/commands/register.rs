//! `register`: record a task, optionally attached to a running process, in the
//! earlier version's shape.

use task_watchdog_platform::{identity, proc_table};

use crate::cli::RegisterArgs;
use crate::error::{Error, Result};
use crate::process;
use crate::registry::{Event, Status, Store, Task, TaskEntry};
use crate::task_id;

use super::start::{normalize_rules, reject_if_live};

pub fn run(store: &Store, args: &RegisterArgs) -> Result<u8> {
    task_id::validate(&args.id)?;
    let attached = args.pid.as_deref().map(attach).transpose()?;
    let container = args
        .container
        .as_deref()
        .map(crate::docker::attach::inspect)
        .transpose()?;
    let rules = normalize_rules(&args.rules);
    // Runs git, so it comes before the registry lock is taken.
    let git_base = std::env::current_dir()
        .ok()
        .and_then(|dir| crate::rules::files::git_base(&dir));

    store.update(|registry, events| {
        reject_if_owned(registry, &args.id, attached.as_ref(), container.as_ref())?;
        let mut task = match registry.tasks.get(&args.id) {
            Some(TaskEntry::Valid(existing)) => {
                if existing.status == Status::Running {
                    reject_if_live(&args.id, existing)?;
                }
                let mut task = Task::new(args.command.clone(), existing.constitution_rules.clone());
                task.extra = existing.extra.clone();
                task
            }
            Some(TaskEntry::Invalid { raw, reason }) => {
                events.push(super::replacing_invalid(store, &args.id, raw, reason));
                Task::new(args.command.clone(), Vec::new())
            }
            None => Task::new(args.command.clone(), Vec::new()),
        };
        if !rules.is_empty() || task.constitution_rules.is_empty() {
            task.constitution_rules = rules.clone();
        }
        task.native = attached.clone();
        if let Some(docker) = &container {
            task.mode = "docker".to_string();
            task.docker = Some(docker.clone());
        }
        // A running task keeps the commit it started from, so registering it again
        // does not hide its earlier changes from `validate`.
        task.git_base = match registry.task(&args.id) {
            Some(existing) if existing.status == Status::Running && existing.git_base.is_some() => {
                existing.git_base.clone()
            }
            _ => git_base.clone(),
        };
        events.push(
            Event::new(&args.id, "registered")
                .with("command", args.command.clone())
                .with("pid", attached.as_ref().map(|native| native.pid))
                .with(
                    "container_id",
                    container
                        .as_ref()
                        .and_then(|docker| docker.get("container_id").cloned()),
                ),
        );
        registry.insert(args.id.clone(), task);
        Ok(())
    })?;

    let text = match (&attached, &container) {
        (Some(native), _) => format!("registered {} attached to PID {}\n", args.id, native.pid),
        (None, Some(docker)) => format!(
            "registered {} attached to container {}\n",
            args.id,
            docker["container_name"].as_str().unwrap_or_default()
        ),
        (None, None) => format!("registered {}\n", args.id),
    };
    super::write_stdout(&text)?;
    if (attached.is_some() || container.is_some()) && !crate::daemon::is_running(store) {
        eprintln!(
            "task-watchdog: note: no daemon watches this registry, so the exit is recorded only once `task-watchdog run` or `wait` sees it"
        );
    }
    Ok(0)
}

/// Fails when another running task already owns the process or container, since
/// two records would then end the same work.
fn reject_if_owned(
    registry: &crate::registry::Registry,
    id: &str,
    process: Option<&crate::registry::Native>,
    container: Option<&serde_json::Value>,
) -> Result<()> {
    let container_id = container.and_then(|docker| docker.get("container_id"));
    for (other_id, other) in registry.valid_tasks() {
        if other_id == id || other.status != Status::Running {
            continue;
        }
        let same_process = process
            .zip(other.native.as_ref())
            .is_some_and(|(mine, theirs)| {
                mine.pid == theirs.pid && mine.start_ticks == theirs.start_ticks
            });
        let same_container = container_id.is_some()
            && other
                .docker
                .as_ref()
                .and_then(|docker| docker.get("container_id"))
                == container_id;
        if same_process || same_container {
            let owned = if same_process { "process" } else { "container" };
            return Err(Error::invalid(format!(
                "that {owned} belongs to the running task {other_id:?}; end it with `task-watchdog complete {other_id}` or `kill {other_id}` first"
            )));
        }
    }
    Ok(())
}

/// Checks `--pid` and reads the process's identity and group.
fn attach(text: &str) -> Result<crate::registry::Native> {
    let pid: i32 = text.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "invalid PID {text:?}: give the number of a running process, as shown by ps"
        ))
    })?;
    if pid <= 1 {
        return Err(Error::invalid(format!(
            "invalid PID {pid}: PIDs 0 and 1 and negative numbers cannot be attached; give the number of a task's process"
        )));
    }
    let missing = || {
        Error::invalid(format!(
            "no process with PID {pid}; check the number with ps, or register without --pid"
        ))
    };
    let stat = proc_table::read_stat(pid)
        .map_err(|error| Error::io(format!("cannot read process {pid}"), error))?
        .ok_or_else(missing)?;
    if stat.is_exited() {
        return Err(missing());
    }
    let identity = identity::identity_of(pid)
        .map_err(|error| Error::io(format!("cannot read process {pid}"), error))?
        .ok_or_else(missing)?;
    Ok(process::native_record(pid, stat.pgid, &identity, None))
}
