//! `check`: one task's status and verified liveness, for people and as JSON.

mod common;

use serde_json::Value;

use common::{Sandbox, send_signal};

#[test]
fn check_json_running_is_alive() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "30"]);

    let output = sandbox.cmd(&["check", &id, "--json"]).success();

    let view = output.json();
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["alive"], true);
    assert_eq!(view["status"], "running");
    assert_eq!(view["native"]["pid"], pid);
    assert_record_fields_match(&view, &sandbox.task(&id));
}

#[test]
fn check_json_ended_is_not_alive() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(&id, &["exit", "3"]);
    sandbox.wait_for_leftovers(&id);

    let output = sandbox.cmd(&["check", &id, "--json"]).success();

    let view = output.json();
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["alive"], false);
    assert_eq!(view["status"], "failed");
    assert_eq!(view["exit_code"], 3);
    assert_record_fields_match(&view, &sandbox.task(&id));
}

#[test]
fn check_json_logical_is_not_alive() {
    let sandbox = Sandbox::new();
    let logical = sandbox.id("L1");
    sandbox
        .cmd(&["register", &logical, "--command", "plan the release"])
        .success();

    let output = sandbox.cmd(&["check", &logical, "--json"]).success();

    let view = output.json();
    assert_eq!(view["id"], logical.as_str());
    assert_eq!(
        view["alive"], false,
        "a logical task has no process to be alive"
    );
    assert_eq!(view["status"], "running");
}

/// A live process whose start time differs from the record is another process that
/// reused the PID, so it must not be reported alive.
#[test]
fn check_json_mismatched_identity_is_not_alive() {
    let mut sandbox = Sandbox::new();
    let attached = sandbox.id("A1");
    let pid = sandbox.spawn_sleeper(60);
    sandbox
        .cmd(&[
            "register",
            &attached,
            "--command",
            "sleep 60",
            "--pid",
            &pid.to_string(),
        ])
        .success();
    let mut registry = sandbox.registry();
    let ticks = registry["tasks"][&attached]["native"]["start_ticks"]
        .as_u64()
        .expect("start_ticks");
    registry["tasks"][&attached]["native"]["start_ticks"] = (ticks + 1).into();
    sandbox.write_registry(&registry);

    let output = sandbox.cmd(&["check", &attached, "--json"]).success();

    assert_eq!(output.json()["alive"], false);
    assert!(
        common::is_running(pid),
        "check never signals a process it cannot verify"
    );
}

#[test]
fn check_json_killed_task_is_not_alive() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "30"]);
    assert!(send_signal(pid, libc::SIGKILL));
    sandbox.wait_for_end(&id);

    let output = sandbox.cmd(&["check", &id, "--json"]).success();

    let view = output.json();
    assert_eq!(view["alive"], false);
    assert_eq!(view["signal"], "SIGKILL");
}

#[test]
fn check_human_shows_status_and_pid() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "30"]);

    let output = sandbox.cmd(&["check", &id]).success();

    assert!(output.stdout.contains(&id), "{output:#?}");
    assert!(output.stdout.contains("running"), "{output:#?}");
    assert!(output.stdout.contains(&pid.to_string()), "{output:#?}");
    assert!(
        serde_json::from_str::<Value>(&output.stdout).is_err(),
        "human output is not JSON"
    );
}

#[test]
fn check_human_shows_exit_and_output() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, "echo last words; exit 3");
    sandbox.wait_for_end(&id);

    let output = sandbox.cmd(&["check", &id]).success();

    assert!(output.stdout.contains("failed"), "{output:#?}");
    assert!(output.stdout.contains('3'), "{output:#?}");
    assert!(output.stdout.contains("last words"), "{output:#?}");
}

/// Asserts that every field of the stored record appears unchanged in `check --json`.
#[track_caller]
fn assert_record_fields_match(view: &Value, record: &Value) {
    for (key, value) in record.as_object().expect("the record is an object") {
        assert_eq!(
            &view[key], value,
            "check --json field {key:?} differs from the registry"
        );
    }
}
