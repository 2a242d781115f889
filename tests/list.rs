//! `list`: one row per task.

mod common;

use serde_json::Value;

use common::{Sandbox, find_listed, record_mixed_tasks};

#[test]
fn list_shows_every_task() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["list"]).success();

    for (id, status) in [
        (&tasks.running, "running"),
        (&tasks.completed, "completed"),
        (&tasks.failed, "failed"),
        (&tasks.logical, "running"),
    ] {
        let row = output
            .stdout
            .lines()
            .find(|line| line.split_whitespace().any(|word| word == id))
            .unwrap_or_else(|| panic!("no row for {id}: {output:#?}"));
        assert!(row.contains(status), "row of {id} lacks {status}: {row:?}");
    }
    assert!(
        output.stdout.contains(&tasks.running_pid.to_string()),
        "the running task's PID is listed: {output:#?}"
    );
}

#[test]
fn list_json_has_status_per_task() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["list", "--json"]).success();

    let listing = output.json();
    for (id, status) in [
        (&tasks.running, "running"),
        (&tasks.completed, "completed"),
        (&tasks.failed, "failed"),
        (&tasks.logical, "running"),
    ] {
        let entry =
            find_listed(&listing, id).unwrap_or_else(|| panic!("{id} is not listed: {listing:#}"));
        assert_eq!(entry["status"], status, "status of {id}");
    }
}

#[test]
fn list_empty_registry_succeeds() {
    let sandbox = Sandbox::new();

    let output = sandbox.cmd(&["list", "--json"]).success();

    let listing = output.json();
    let empty = match &listing {
        Value::Array(rows) => rows.is_empty(),
        Value::Object(map) => map.get("tasks").map_or(map.is_empty(), |tasks| {
            tasks.as_array().is_some_and(Vec::is_empty)
                || tasks.as_object().is_some_and(|tasks| tasks.is_empty())
        }),
        _ => false,
    };
    assert!(empty, "no tasks are listed: {listing:#}");
}
