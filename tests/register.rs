//! `register`: recording a task in the earlier version's shape, with or without an
//! attached process.

mod common;

use serde_json::json;

use common::{Sandbox, Watched, boot_id, start_ticks};

#[test]
fn register_records_logical_task() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    let output = sandbox
        .cmd(&["register", &id, "--command", "pytest -x", "--rules", "A,B"])
        .success();

    assert!(output.stdout.contains(&id), "{output:#?}");
    let task = sandbox.task(&id);
    assert_eq!(task["command"], "pytest -x");
    assert_eq!(task["status"], "running");
    assert_eq!(task["mode"], "native");
    assert_eq!(task["constitution_rules"], json!(["A", "B"]));
    assert!(task["started_at"].is_string(), "{task:#}");
    assert!(
        task.get("native").is_none_or(|native| native.is_null()),
        "no process is attached: {task:#}"
    );
}

#[test]
fn register_pid_attaches_process() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.spawn_sleeper(60);

    let output = sandbox
        .cmd(&[
            "register",
            &id,
            "--command",
            "sleep 60",
            "--pid",
            &pid.to_string(),
        ])
        .success();

    assert!(output.stdout.contains(&pid.to_string()), "{output:#?}");
    let task = sandbox.task(&id);
    assert_eq!(task["status"], "running");
    assert_eq!(task["native"]["pid"], pid);
    assert_eq!(task["native"]["boot_id"], boot_id());
    assert_eq!(
        task["native"]["start_ticks"],
        start_ticks(pid).expect("the sleeper runs")
    );
    assert_eq!(
        task["native"]["pgid"],
        common::process_group(pid).expect("the sleeper runs")
    );
}

#[test]
fn register_pid_reports_alive() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.spawn_sleeper(60);
    sandbox
        .cmd(&[
            "register",
            &id,
            "--command",
            "sleep 60",
            "--pid",
            &pid.to_string(),
        ])
        .success();

    let view = sandbox.cmd(&["check", &id, "--json"]).success().json();

    assert_eq!(view["alive"], true);
}

#[test]
fn reregister_ended_id_updates_record() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox
        .cmd(&["register", &id, "--command", "first", "--rules", "A"])
        .success();
    sandbox.cmd(&["complete", &id]).success();

    sandbox
        .cmd(&["register", &id, "--command", "second", "--rules", "B"])
        .success();

    let task = sandbox.task(&id);
    assert_eq!(task["command"], "second");
    assert_eq!(task["status"], "running");
    assert_eq!(task["constitution_rules"], json!(["B"]));
    assert!(
        task.get("completed_at").is_none_or(|time| time.is_null()),
        "{task:#}"
    );
}

#[test]
fn reregister_logical_id_updates_record() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox
        .cmd(&["register", &id, "--command", "first"])
        .success();

    sandbox
        .cmd(&["register", &id, "--command", "second"])
        .success();

    assert_eq!(sandbox.task(&id)["command"], "second");
}

#[test]
fn register_over_live_attached_names_pid() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.spawn_sleeper(60);
    sandbox
        .cmd(&[
            "register",
            &id,
            "--command",
            "sleep 60",
            "--pid",
            &pid.to_string(),
        ])
        .success();
    let before = sandbox.registry_bytes();

    let output = sandbox.cmd(&["register", &id, "--command", "other"]);

    common::assert_rejected(&output, &pid.to_string());
    assert_eq!(
        sandbox.registry_bytes(),
        before,
        "the registry is unchanged"
    );
}

#[test]
fn register_over_started_task_names_pid() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "60"]);
    let before = sandbox.registry_bytes();

    let output = sandbox.cmd(&["register", &id, "--command", "other"]);

    common::assert_rejected(&output, &pid.to_string());
    assert_eq!(
        sandbox.registry_bytes(),
        before,
        "the registry is unchanged"
    );
    assert!(Watched::new(pid).is_running());
}

#[test]
fn process_owned_by_running_task_rejected() {
    let mut sandbox = Sandbox::new();
    let first = sandbox.id("A1");
    let second = sandbox.id("A2");
    let pid = sandbox.spawn_sleeper(300).to_string();
    sandbox
        .cmd(&["register", &first, "--command", "sleep", "--pid", &pid])
        .success();
    let before = sandbox.registry_bytes();

    let output = sandbox.cmd(&["register", &second, "--command", "sleep", "--pid", &pid]);

    assert_eq!(output.code, Some(1), "{output:#?}");
    assert_eq!(output.stderr.lines().count(), 1, "{output:#?}");
    assert!(
        output.stderr.contains(&first),
        "names the owner: {output:#?}"
    );
    assert_eq!(sandbox.registry_bytes(), before, "nothing recorded changes");
}
