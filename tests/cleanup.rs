//! `cleanup --days N`: ended tasks older than N days go, with their logs; running
//! tasks stay.

mod common;

use serde_json::json;

use common::{Sandbox, Watched, record_mixed_tasks};

#[test]
fn cleanup_removes_ended_and_logs() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    sandbox.cmd(&["cleanup", "--days", "0"]).success();

    let records = sandbox.registry()["tasks"].clone();
    for ended in [&tasks.completed, &tasks.failed] {
        assert!(
            records.get(ended).is_none(),
            "ended task {ended} removed: {records:#}"
        );
        assert!(!sandbox.log_path(ended).exists(), "log of {ended} removed");
    }
    assert_eq!(
        records[&tasks.running]["status"], "running",
        "running task kept: {records:#}"
    );
    assert_eq!(
        records[&tasks.logical]["status"], "running",
        "logical task kept: {records:#}"
    );
    assert!(
        sandbox.log_path(&tasks.running).exists(),
        "log of the running task kept"
    );
    assert!(
        Watched::new(tasks.running_pid).is_running(),
        "the running task's process is untouched"
    );
}

#[test]
fn cleanup_removes_cancelled() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("K1");
    sandbox.start_helper(&id, &["sleep", "60"]);
    sandbox.cmd(&["kill", &id]).success();

    sandbox.cmd(&["cleanup", "--days", "0"]).success();

    assert!(sandbox.registry()["tasks"].get(&id).is_none());
    assert!(!sandbox.log_path(&id).exists());
}

#[test]
fn cleanup_keeps_recent_ended() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    sandbox.cmd(&["cleanup", "--days", "1"]).success();

    let records = sandbox.registry()["tasks"].clone();
    for id in tasks.all() {
        assert!(
            records.get(id).is_some(),
            "{id} ended less than a day ago and stays: {records:#}"
        );
    }
    assert!(sandbox.log_path(&tasks.completed).exists());
}

#[test]
fn cleanup_never_removes_old_running() {
    let sandbox = Sandbox::new();
    sandbox.write_registry(&json!({
        "tasks": {
            "OLD-RUNNING": {
                "mode": "native",
                "command": "make serve",
                "status": "running",
                "started_at": "2020-01-01T00:00:00Z",
                "constitution_rules": []
            },
            "OLD-DONE": {
                "mode": "native",
                "command": "make test",
                "status": "completed",
                "started_at": "2020-01-01T00:00:00Z",
                "completed_at": "2020-01-01T01:00:00Z",
                "constitution_rules": []
            }
        }
    }));

    sandbox.cmd(&["cleanup", "--days", "7"]).success();

    let records = sandbox.registry()["tasks"].clone();
    assert!(
        records.get("OLD-DONE").is_none(),
        "an old ended task is removed: {records:#}"
    );
    assert_eq!(
        records["OLD-RUNNING"]["status"], "running",
        "a running task is never removed: {records:#}"
    );
}
