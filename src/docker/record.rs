//! The `docker` object of a task record, and writing a container's end into it.
//!
//! The object keeps the earlier version's shape (`container_id`, `container_name`,
//! `resource_limits: {memory, cpu}`, `image`) and stays a raw JSON value in the
//! schema, so fields other tools add to it survive every write. These helpers read
//! it without requiring any field to be there.

use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::registry::{Event, Status, Store, Task};

/// A container's end, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEnd {
    /// The main process's exit code; 128 + N when signal N ended it. `None` when the
    /// container is gone and its code cannot be read.
    pub exit_code: Option<i32>,
    pub oom_killed: bool,
    /// The way the end was learned, recorded as the task's reason: `exited`,
    /// `container removed`, ...
    pub reason: String,
}

/// True for a task whose process is a container.
pub fn is_docker(task: &Task) -> bool {
    task.mode == "docker" || task.docker.is_some()
}

/// Returns the recorded container id, if any.
pub fn container_id(task: &Task) -> Option<&str> {
    field(task, "container_id")
}

/// Returns the recorded container name, if any.
pub fn container_name(task: &Task) -> Option<&str> {
    field(task, "container_name")
}

/// Returns the reference to address the container by: its id, else its name.
pub fn container_ref(task: &Task) -> Option<&str> {
    container_id(task).or_else(|| container_name(task))
}

fn field<'a>(task: &'a Task, name: &str) -> Option<&'a str> {
    task.docker
        .as_ref()?
        .get(name)?
        .as_str()
        .filter(|text| !text.is_empty())
}

/// Builds the `docker` object for a new record.
pub fn docker_object(
    container_id: &str,
    container_name: &str,
    image: &str,
    memory: Option<&str>,
    cpus: Option<&str>,
) -> Value {
    let mut object = Map::new();
    object.insert("container_id".into(), json!(container_id));
    object.insert("container_name".into(), json!(container_name));
    object.insert("image".into(), json!(image));
    object.insert(
        "resource_limits".into(),
        json!({ "memory": memory, "cpu": cpus }),
    );
    Value::Object(object)
}

/// Records the end of task `id` if it is still running with container
/// `container_id`. Returns whether it did. A task whose cancellation `kill`
/// requested is recorded `cancelled`; otherwise exit 0 is `completed` and anything
/// else `failed`.
pub fn record_end(store: &Store, id: &str, container: &str, end: &ContainerEnd) -> Result<bool> {
    let recorded = store.update(|registry, events| {
        let Some(task) = registry.task_mut(id) else {
            return Ok(false);
        };
        if task.status != Status::Running || !same_container(task, container) {
            return Ok(false);
        }
        apply_end(task, end);
        events.push(
            Event::new(id, "exited")
                .with("status", task.status.as_str())
                .with("reason", task.reason.clone())
                .with("exit_code", task.exit_code)
                .with("oom_killed", task.oom_killed)
                .with("container_id", container),
        );
        Ok(true)
    })?;
    if recorded {
        tracing::info!(task = %id, container, exit_code = ?end.exit_code, oom_killed = end.oom_killed, reason = %end.reason, "container task ended");
    }
    Ok(recorded)
}

/// Sets an OOM kill on a running or ended record of container `container`; used
/// when the `oom` event arrives after `die` was recorded.
pub fn record_oom(store: &Store, id: &str, container: &str) -> Result<()> {
    store.update(|registry, _| {
        if let Some(task) = registry.task_mut(id)
            && same_container(task, container)
        {
            task.oom_killed = true;
        }
        Ok(())
    })
}

fn apply_end(task: &mut Task, end: &ContainerEnd) {
    let status = if task.cancel_requested_at.is_some() {
        Status::Cancelled
    } else if end.exit_code == Some(0) && !end.oom_killed {
        Status::Completed
    } else {
        Status::Failed
    };
    let reason = if status == Status::Cancelled {
        "cancelled".to_string()
    } else {
        end.reason.clone()
    };
    task.end(status, reason);
    task.exit_code = end.exit_code;
    task.signal = None;
    task.oom_killed = task.oom_killed || end.oom_killed;
}

/// True when the record names `container` by full id, id prefix or name.
pub fn same_container(task: &Task, container: &str) -> bool {
    let by_id = container_id(task).is_some_and(|id| {
        !container.is_empty()
            && (id == container || id.starts_with(container) || container.starts_with(id))
    });
    let by_name = container_name(task)
        .is_some_and(|name| name.trim_start_matches('/') == container.trim_start_matches('/'));
    by_id || by_name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(docker: Value) -> Task {
        let mut task = Task::new("x".into(), Vec::new());
        task.mode = "docker".into();
        task.docker = Some(docker);
        task
    }

    #[test]
    fn unknown_docker_fields_survive_reads() {
        let task = task(json!({"container_id": "abc", "network": "dev"}));
        assert_eq!(container_id(&task), Some("abc"));
        assert_eq!(task.docker.as_ref().unwrap()["network"], "dev");
    }

    #[test]
    fn container_matches_by_prefix_and_name() {
        let task = task(json!({"container_id": "abcdef", "container_name": "dev-task-T1"}));
        assert!(same_container(&task, "abc"));
        assert!(same_container(&task, "/dev-task-T1"));
        assert!(!same_container(&task, "zzz"));
        assert!(!same_container(&task, ""));
    }

    #[test]
    fn end_status_follows_exit_code() {
        let mut ok = task(json!({"container_id": "a"}));
        apply_end(
            &mut ok,
            &ContainerEnd {
                exit_code: Some(0),
                oom_killed: false,
                reason: "exited".into(),
            },
        );
        assert_eq!(ok.status, Status::Completed);

        let mut oom = task(json!({"container_id": "a"}));
        apply_end(
            &mut oom,
            &ContainerEnd {
                exit_code: Some(137),
                oom_killed: true,
                reason: "exited".into(),
            },
        );
        assert_eq!(oom.status, Status::Failed);
        assert!(oom.oom_killed);
        assert_eq!(oom.exit_code, Some(137));

        let mut cancelled = task(json!({"container_id": "a"}));
        cancelled.cancel_requested_at = Some("now".into());
        apply_end(
            &mut cancelled,
            &ContainerEnd {
                exit_code: Some(143),
                oom_killed: false,
                reason: "exited".into(),
            },
        );
        assert_eq!(cancelled.status, Status::Cancelled);
    }
}
