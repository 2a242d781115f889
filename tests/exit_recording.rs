//! The monitor records how a launched task ended, with no daemon running.

mod common;

use chrono::DateTime;
use serde_json::Value;

use common::{Sandbox, Watched, send_signal};

#[test]
fn exit_zero_records_completed() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    sandbox.start_helper(&id, &["exit", "0"]);

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "completed");
    assert_eq!(task["exit_code"], 0);
    assert!(task["signal"].is_null(), "{task:#}");
    assert_eq!(task["core_dumped"], false);
    assert_completed_at(&task);
}

#[test]
fn exit_three_records_failed() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    sandbox.start_helper(&id, &["exit", "3"]);

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "failed");
    assert_eq!(task["exit_code"], 3);
    assert!(task["signal"].is_null(), "{task:#}");
    assert_eq!(task["core_dumped"], false);
    assert_completed_at(&task);
}

#[test]
fn self_sigkill_records_signal() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    sandbox.start_helper(&id, &["signal", "KILL"]);

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "failed");
    assert!(task["exit_code"].is_null(), "{task:#}");
    assert_eq!(task["signal"], "SIGKILL");
    assert_eq!(task["core_dumped"], false);
    assert_completed_at(&task);
}

#[test]
fn outside_sigterm_records_signal() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "60"]);
    let task_process = Watched::new(pid);

    assert!(send_signal(pid, libc::SIGTERM), "send SIGTERM to PID {pid}");

    let task = sandbox.wait_for_end(&id);
    assert!(!task_process.is_running());
    assert_eq!(task["status"], "failed");
    assert!(task["exit_code"].is_null(), "{task:#}");
    assert_eq!(task["signal"], "SIGTERM");
    assert_eq!(task["core_dumped"], false);
    assert_completed_at(&task);
}

/// Whether a core file is written depends on `ulimit -c` and the kernel's
/// core_pattern, so only the flag's presence is checked.
#[test]
fn segfault_records_core_flag() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    sandbox.start_helper(&id, &["signal", "SEGV"]);

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "failed");
    assert!(task["exit_code"].is_null(), "{task:#}");
    assert_eq!(task["signal"], "SIGSEGV");
    assert!(
        task["core_dumped"].is_boolean(),
        "core_dumped is true or false: {task:#}"
    );
    assert_completed_at(&task);
}

#[test]
fn abort_records_sigabrt() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    sandbox.start_helper(&id, &["signal", "ABRT"]);

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "failed");
    assert_eq!(task["signal"], "SIGABRT");
    assert!(task["core_dumped"].is_boolean(), "{task:#}");
}

#[test]
fn monitor_exits_after_recording() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(&id, &["sleep", "1"]);
    let monitor_pid = sandbox.task(&id)["monitor"]["pid"]
        .as_i64()
        .expect("monitor.pid") as i32;
    let monitor = Watched::new(monitor_pid);

    sandbox.wait_for_end(&id);

    common::assert_all_ended(&[monitor], "the task ended");
}

#[track_caller]
fn assert_completed_at(task: &Value) {
    let completed_at = task["completed_at"]
        .as_str()
        .unwrap_or_else(|| panic!("completed_at is not set: {task:#}"));
    assert!(
        DateTime::parse_from_rfc3339(completed_at).is_ok(),
        "completed_at {completed_at:?} is not RFC 3339"
    );
}
