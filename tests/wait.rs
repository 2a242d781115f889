//! `wait`: block until tasks end and exit with the task's own code.

mod common;

use common::{Sandbox, Watched};

#[test]
fn wait_exits_with_task_code() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, "sleep 1; exit 3");

    let output = sandbox.cmd(&["wait", &id]);

    assert_eq!(output.code, Some(3), "{output:#?}");
    assert_eq!(
        sandbox.task(&id)["status"],
        "failed",
        "wait returns after the exit is recorded"
    );
}

#[test]
fn wait_exits_zero_on_success() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, "sleep 1; exit 0");

    let output = sandbox.cmd(&["wait", &id]);

    assert_eq!(output.code, Some(0), "{output:#?}");
    assert_eq!(sandbox.task(&id)["status"], "completed");
}

#[test]
fn wait_sigkill_exits_137() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(
        &id,
        &format!("sleep 1; exec {} signal KILL", common::HELPER),
    );

    let output = sandbox.cmd(&["wait", &id]);

    assert_eq!(output.code, Some(128 + libc::SIGKILL), "{output:#?}");
}

#[test]
fn wait_on_ended_task_returns_code() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(&id, &["exit", "3"]);
    sandbox.wait_for_end(&id);

    let output = sandbox.cmd(&["wait", &id]);

    assert_eq!(output.code, Some(3), "{output:#?}");
}

#[test]
fn wait_timeout_exits_124() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "60"]);

    let output = sandbox.cmd(&["wait", &id, "--timeout", "1s"]);

    assert_eq!(output.code, Some(124), "{output:#?}");
    assert_eq!(
        sandbox.task(&id)["status"],
        "running",
        "the task keeps running"
    );
    assert!(Watched::new(pid).is_running());
}

#[test]
fn wait_on_several_ids() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let id2 = sandbox.id("T2");
    sandbox.start_shell(&id, "sleep 1; exit 0");
    sandbox.start_shell(&id2, "sleep 2; exit 0");

    let output = sandbox.cmd(&["wait", &id, &id2]);

    assert_eq!(output.code, Some(0), "{output:#?}");
    assert_eq!(
        sandbox.task(&id)["status"],
        "completed",
        "T1 ended before wait returned"
    );
    assert_eq!(
        sandbox.task(&id2)["status"],
        "completed",
        "T2 ended before wait returned"
    );
}

#[test]
fn wait_on_completed_logical_task() {
    let sandbox = Sandbox::new();
    let logical = sandbox.id("L1");
    sandbox
        .cmd(&["register", &logical, "--command", "review"])
        .success();
    sandbox.cmd(&["complete", &logical]).success();

    let output = sandbox.cmd(&["wait", &logical]);

    assert_eq!(output.code, Some(0), "{output:#?}");
}
