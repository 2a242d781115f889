//! `cleanup --days N`: remove ended tasks older than N days, with their output files.
//!
//! Running tasks and invalid records are never removed. A task's age counts from
//! `completed_at`, or from `started_at` when `completed_at` is missing or does not
//! parse. A task with neither time readable is kept, except with `--days 0`, which
//! removes every ended task.
//!
//! The stopped container of a removed Docker task goes too, when this registry
//! launched it (its registry label names this file). An attached container was
//! started by someone else, so it is left alone. Containers are removed after the registry
//! update, outside its lock, and an unreachable engine only costs a warning.
//!
//! The records and their logs are removed under the registry lock, so a `start` that
//! reuses one of the ids cannot create its new log between the two steps and lose it.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use crate::cli::CleanupArgs;
use crate::error::Result;
use crate::registry::{Event, Registry, Store, Task};

/// The ids and log files one cleanup removed.
#[derive(Debug, Default)]
struct Removal {
    ids: Vec<String>,
    logs: Vec<PathBuf>,
    /// Containers of removed Docker tasks, by id or name.
    containers: Vec<String>,
}

pub fn run(store: &Store, args: &CleanupArgs) -> Result<u8> {
    let now = Utc::now();
    let removal = store.update(|registry, events| {
        let ids = select(registry, args.days, now);
        let mut removal = Removal::default();
        for id in &ids {
            let Some(task) = registry.task(id) else { continue };
            events.push(
                Event::new(id, "removed")
                    .with("status", task.status.as_str())
                    .with("completed_at", task.completed_at.clone())
                    .with("days", args.days),
            );
            if crate::docker::is_docker(task)
                && let Some(container) = crate::docker::record::container_ref(task)
            {
                removal.containers.push(container.to_string());
            }
            for path in log_files(store, id, task) {
                match fs::remove_file(&path) {
                    Ok(()) => removal.logs.push(path),
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(error) => {
                        eprintln!(
                            "task-watchdog: warning: cannot remove log file {}: {error}; remove it by hand",
                            path.display()
                        );
                        tracing::warn!(task = %id, path = %path.display(), %error, "cannot remove log file");
                    }
                }
            }
            registry.tasks.remove(id);
        }
        removal.ids = ids;
        Ok(removal)
    })?;

    for id in &removal.ids {
        tracing::info!(task = %id, "task removed");
    }
    let containers_removed = remove_containers(store, &removal.containers);
    if args.json {
        super::print_json(&json!({
            "days": args.days,
            "removed": removal.ids,
            "logs_removed": removal.logs,
            "containers_removed": containers_removed,
        }))?;
    } else {
        super::write_stdout(&human_view(store, args.days, &removal.ids))?;
    }
    Ok(0)
}

/// Removes those of `containers` that this registry launched and that are not
/// running, and returns the ones removed.
fn remove_containers(store: &Store, containers: &[String]) -> Vec<String> {
    if containers.is_empty() {
        return Vec::new();
    }
    let result = crate::docker::block_on(async {
        let engine = crate::docker::connect().await?;
        let mut removed = Vec::new();
        for container in containers {
            match remove_container(store, &engine, container).await {
                Ok(true) => removed.push(container.clone()),
                Ok(false) => {}
                Err(error) => eprintln!(
                    "task-watchdog: warning: {error}; remove it with `docker rm {container}`"
                ),
            }
        }
        Ok(removed)
    });
    result.unwrap_or_else(|error| {
        eprintln!("task-watchdog: warning: containers of removed tasks are kept: {error}");
        Vec::new()
    })
}

async fn remove_container(
    store: &Store,
    engine: &crate::docker::Engine,
    container: &str,
) -> Result<bool> {
    use crate::docker::client;

    let inspected = match engine.docker.inspect_container(container, None).await {
        Ok(inspected) => inspected,
        Err(error) if client::is_not_found(&error) => return Ok(false),
        Err(error) => {
            return Err(client::request_failed(
                format!("cannot inspect container {container}"),
                &error,
            ));
        }
    };
    let running = inspected
        .state
        .and_then(|state| state.running)
        .unwrap_or(false);
    let launched_here = inspected
        .config
        .and_then(|config| config.labels)
        .and_then(|labels| labels.get(crate::docker::REGISTRY_LABEL).cloned())
        .is_some_and(|label| Path::new(&label) == store.path());
    if running || !launched_here {
        return Ok(false);
    }
    match engine.docker.remove_container(container, None).await {
        Ok(()) => Ok(true),
        Err(error) if client::is_not_found(&error) => Ok(false),
        Err(error) => Err(client::request_failed(
            format!("cannot remove container {container}"),
            &error,
        )),
    }
}

fn human_view(store: &Store, days: u64, ids: &[String]) -> String {
    let age = match days {
        0 => String::new(),
        1 => " older than 1 day".to_string(),
        days => format!(" older than {days} days"),
    };
    match ids.len() {
        0 => format!("no ended tasks{age} in {}\n", store.path().display()),
        1 => format!("removed 1 ended task{age}: {}\n", ids[0]),
        count => format!("removed {count} ended tasks{age}: {}\n", ids.join(", ")),
    }
}

/// Chooses the ended tasks that ended more than `days` days before `now`.
fn select(registry: &Registry, days: u64, now: DateTime<Utc>) -> Vec<String> {
    // A number of days too large for a date means nothing is old enough.
    let cutoff = i64::try_from(days)
        .ok()
        .and_then(TimeDelta::try_days)
        .and_then(|age| now.checked_sub_signed(age));
    registry
        .valid_tasks()
        .filter(|(_, task)| task.status.is_ended())
        .filter(|(_, task)| {
            if days == 0 {
                return true;
            }
            match (cutoff, ended_at(task)) {
                (Some(cutoff), Some(ended)) => ended < cutoff,
                _ => false,
            }
        })
        .map(|(id, _)| id.clone())
        .collect()
}

fn ended_at(task: &Task) -> Option<DateTime<Utc>> {
    task.completed().or_else(|| task.started())
}

/// Lists the output files of task `id`: the standard log, the record's `log_file` when it is
/// directly inside the logs directory, and the rotated `.1` file of each. A `log_file`
/// elsewhere may be a file the user cares about, so it is left alone.
fn log_files(store: &Store, id: &str, task: &Task) -> Vec<PathBuf> {
    let logs_dir = store.logs_dir();
    let mut paths = vec![store.log_path(id)];
    if let Some(recorded) = task
        .log_file
        .as_deref()
        .map(|path| lexical_normal(&store.directory().join(path)))
        && recorded.parent() == Some(logs_dir.as_path())
        && !paths.contains(&recorded)
    {
        paths.push(recorded);
    }
    let rotated: Vec<PathBuf> = paths
        .iter()
        .map(|path| {
            let mut name = path.clone().into_os_string();
            name.push(".1");
            PathBuf::from(name)
        })
        .collect();
    paths.extend(rotated);
    paths
}

/// Removes `.` and `..` components without touching the file system, so a recorded
/// path such as `logs/../registry.json` is not taken for a file in `logs/`.
fn lexical_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        serde_json::from_str(
            r#"{"tasks": {
                "old": {"command": "x", "status": "completed", "started_at": "2026-01-01T00:00:00Z",
                        "completed_at": "2026-01-02T00:00:00Z"},
                "recent": {"command": "x", "status": "failed", "started_at": "2026-01-09T00:00:00Z",
                           "completed_at": "2026-01-09T12:00:00Z"},
                "old-no-end": {"command": "x", "status": "cancelled", "started_at": "2026-01-01T00:00:00Z"},
                "bad-end": {"command": "x", "status": "cancelled", "started_at": "2026-01-01T00:00:00",
                            "completed_at": "yesterday"},
                "undated": {"command": "x", "status": "completed", "started_at": "long ago"},
                "running": {"command": "x", "status": "running", "started_at": "2025-01-01T00:00:00Z"},
                "invalid": {"command": "x", "status": "paused", "started_at": "2025-01-01T00:00:00Z"}
            }}"#,
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-10T00:00:00Z")
            .unwrap()
            .into()
    }

    #[test]
    fn selects_tasks_older_than_days() {
        let selected = select(&registry(), 7, now());
        assert_eq!(selected, ["bad-end", "old", "old-no-end"]);
    }

    #[test]
    fn keeps_tasks_within_days() {
        let selected = select(&registry(), 1, now());
        assert!(!selected.contains(&"recent".to_string()));
        let selected = select(&registry(), 0, now());
        assert!(selected.contains(&"recent".to_string()));
    }

    #[test]
    fn days_zero_removes_every_ended_task() {
        let selected = select(&registry(), 0, now());
        assert_eq!(
            selected,
            ["bad-end", "old", "old-no-end", "recent", "undated"]
        );
    }

    #[test]
    fn huge_days_removes_nothing() {
        assert!(select(&registry(), u64::MAX, now()).is_empty());
        assert!(select(&registry(), 1_000_000_000, now()).is_empty());
    }

    #[test]
    fn log_files_stay_inside_logs_dir() {
        let directory = std::env::temp_dir().join(format!("tw-cleanup-{}", std::process::id()));
        let store = Store::open(&directory.join("process_registry.json")).unwrap();
        let mut task: Task = serde_json::from_str(
            r#"{"command": "x", "status": "completed", "started_at": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();

        task.log_file = Some(store.logs_dir().join("other.log").display().to_string());
        let paths = log_files(&store, "T1", &task);
        assert!(paths.contains(&store.log_path("T1")));
        assert!(paths.contains(&store.logs_dir().join("T1.log.1")));
        assert!(paths.contains(&store.logs_dir().join("other.log")));
        assert!(paths.contains(&store.logs_dir().join("other.log.1")));

        for outside in [
            "/home/user/notes.txt",
            "logs/../process_registry.json",
            "logs/sub/x.log",
        ] {
            task.log_file = Some(outside.to_string());
            let paths = log_files(&store, "T1", &task);
            assert_eq!(paths.len(), 2, "{outside}: {paths:?}");
        }
        let _ = fs::remove_dir_all(&directory);
    }

    #[test]
    fn cleanup_removes_records_and_logs() {
        let directory = std::env::temp_dir().join(format!("tw-cleanup-run-{}", std::process::id()));
        let _ = fs::remove_dir_all(&directory);
        let store = Store::open(&directory.join("process_registry.json")).unwrap();
        fs::create_dir_all(store.logs_dir()).unwrap();
        fs::write(
            store.path(),
            r#"{"tasks": {
                "done": {"command": "x", "status": "completed", "started_at": "2020-01-01T00:00:00Z",
                         "completed_at": "2020-01-01T00:00:01Z"},
                "live": {"command": "x", "status": "running", "started_at": "2020-01-01T00:00:00Z"}
            }, "dev_kid_version": "2.0"}"#,
        )
        .unwrap();
        for name in ["done.log", "done.log.1", "live.log"] {
            fs::write(store.logs_dir().join(name), "output\n").unwrap();
        }

        let code = run(
            &store,
            &CleanupArgs {
                days: 1,
                json: true,
            },
        )
        .unwrap();
        assert_eq!(code, 0);

        let registry = store.load().unwrap();
        assert!(registry.task("done").is_none());
        assert!(registry.task("live").is_some());
        assert_eq!(registry.extra["dev_kid_version"], "2.0");
        assert!(!store.logs_dir().join("done.log").exists());
        assert!(!store.logs_dir().join("done.log.1").exists());
        assert!(store.logs_dir().join("live.log").exists());
        let events = store.events().read_all();
        assert!(
            events
                .iter()
                .any(|event| event["event"] == "removed" && event["task"] == "done")
        );
        let _ = fs::remove_dir_all(&directory);
    }
}
