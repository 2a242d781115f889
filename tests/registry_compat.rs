//! The registry is shared with other tools: fields this program does not know are
//! kept unchanged, and a registry in the earlier version's schema reads and writes
//! back with nothing lost.

mod common;

use serde_json::{Value, json};

use common::{Sandbox, assert_json_contains};

const REGISTRY_V1: &str = include_str!("fixtures/registry_v1.json");

/// Builds a registry as dev-kid's scripts leave it: extra fields at the top level, in a
/// task, and in a task's `native` record.
fn dev_kid_registry() -> Value {
    json!({
        "tasks": {
            "DK1": {
                "mode": "native",
                "command": "python -m pytest",
                "status": "completed",
                "started_at": "2025-11-03T09:15:02.481516",
                "completed_at": "2025-11-03T09:20:00.000001",
                "native": {"pid": 31337, "pgid": 31337, "start_time": "2025-11-03T09:15:02", "cgroup": "/user.slice"},
                "constitution_rules": ["TESTS_MUST_PASS"],
                "wave": 3,
                "checkpoint": {"id": "cp-17", "files": ["a.py", "b.py"], "verified": true},
                "agent_notes": null
            }
        },
        "dev_kid_version": "2.0.1",
        "waves": [{"wave": 1, "tasks": ["DK1"]}, {"wave": 2, "tasks": []}],
        "last_sync": "2025-11-03T09:21:00"
    })
}

#[test]
fn unknown_fields_survive_writes() {
    let sandbox = Sandbox::new();
    let original = dev_kid_registry();
    sandbox.write_registry(&original);

    let registered = sandbox.id("R1");
    let started = sandbox.id("S1");

    sandbox
        .cmd(&[
            "register",
            &registered,
            "--command",
            "review",
            "--rules",
            "A",
        ])
        .success();
    sandbox.start_helper(&started, &["exit", "0"]);
    sandbox.wait_for_end(&started);
    sandbox.cmd(&["complete", &registered]).success();

    let current = sandbox.registry();
    assert_json_contains(&original, &current, "registry");
    assert_eq!(current["tasks"][&registered]["status"], "completed");
    assert_eq!(current["tasks"][&started]["status"], "completed");
}

#[test]
fn unknown_fields_survive_own_update() {
    let sandbox = Sandbox::new();
    let original = dev_kid_registry();
    sandbox.write_registry(&original);

    sandbox
        .cmd(&["register", "DK1", "--command", "python -m pytest -x"])
        .success();

    let task = sandbox.task("DK1");
    assert_eq!(task["command"], "python -m pytest -x");
    assert_eq!(
        task["wave"], 3,
        "a re-registered task keeps its unknown fields: {task:#}"
    );
    assert_eq!(task["checkpoint"], original["tasks"]["DK1"]["checkpoint"]);
    let current = sandbox.registry();
    for key in ["dev_kid_version", "waves", "last_sync"] {
        assert_eq!(current[key], original[key], "top-level {key}");
    }
}

#[test]
fn v1_fixture_reads_with_list_and_stats() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.claude_dir()).expect("create .claude");
    std::fs::write(sandbox.registry_path(), REGISTRY_V1).expect("write the fixture");

    let listing = sandbox.cmd(&["list", "--json"]).success().json();
    let stats = sandbox.cmd(&["stats"]).success();

    for (id, status) in [
        ("T001", "running"),
        ("T002", "completed"),
        ("T003", "failed"),
        ("T004", "completed"),
    ] {
        let entry = common::find_listed(&listing, id)
            .unwrap_or_else(|| panic!("{id} is not listed: {listing:#}"));
        assert_eq!(entry["status"], status, "status of {id}");
    }
    let lines: Vec<&str> = stats.stdout.lines().map(str::trim).collect();
    for expected in ["Total tasks: 4", "Running: 1", "Completed: 2", "Failed: 1"] {
        assert!(
            lines.contains(&expected),
            "stats lacks the line {expected:?}: {stats:#?}"
        );
    }
    assert_eq!(
        sandbox.registry_bytes(),
        REGISTRY_V1.as_bytes(),
        "reading never rewrites the registry"
    );
}

#[test]
fn v1_fixture_written_back_intact() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.claude_dir()).expect("create .claude");
    std::fs::write(sandbox.registry_path(), REGISTRY_V1).expect("write the fixture");
    let original: Value = serde_json::from_str(REGISTRY_V1).expect("the fixture parses");

    sandbox
        .cmd(&["register", "NEW", "--command", "make lint"])
        .success();

    let current = sandbox.registry();
    assert_json_contains(&original, &current, "registry");
    assert_eq!(
        current["tasks"].as_object().map(|tasks| tasks.len()),
        Some(5)
    );
    assert_eq!(current["tasks"]["NEW"]["status"], "running");
}

/// A record from the earlier version has a PID but no boot id or start time, so
/// `check` cannot verify it and must not report it alive, even if the PID is in use.
#[test]
fn v1_record_without_identity_not_alive() {
    let mut sandbox = Sandbox::new();
    let pid = sandbox.spawn_sleeper(60);
    let mut registry: Value = serde_json::from_str(REGISTRY_V1).expect("the fixture parses");
    registry["tasks"]["T001"]["native"]["pid"] = pid.into();
    registry["tasks"]["T001"]["native"]["pgid"] = pid.into();
    sandbox.write_registry(&registry);

    let view = sandbox.cmd(&["check", "T001", "--json"]).success().json();

    assert_eq!(view["alive"], false, "{view:#}");
    assert!(
        common::is_running(pid),
        "check never signals an unverified process"
    );
}
