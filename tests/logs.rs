//! `logs`: a task's output, whole or its last lines.

mod common;

use common::Sandbox;

const FIVE_LINES: &str = "for i in 1 2 3 4 5; do echo line$i; done";

#[test]
fn output_goes_to_log_file() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    sandbox.start_shell(&id, FIVE_LINES);

    sandbox.wait_for_end(&id);
    let log = std::fs::read_to_string(sandbox.log_path(&id)).expect("read .claude/logs/T1.log");
    assert_eq!(log, "line1\nline2\nline3\nline4\nline5\n");
}

#[test]
fn logs_prints_whole_output() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, FIVE_LINES);
    sandbox.wait_for_end(&id);

    let output = sandbox.cmd(&["logs", &id]).success();

    assert_eq!(output.stdout, "line1\nline2\nline3\nline4\nline5\n");
}

#[test]
fn logs_tail_prints_last_lines() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, FIVE_LINES);
    sandbox.wait_for_end(&id);

    let output = sandbox.cmd(&["logs", &id, "--tail", "2"]).success();

    assert_eq!(output.stdout, "line4\nline5\n");
}

#[test]
fn logs_tail_beyond_length_prints_all() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, FIVE_LINES);
    sandbox.wait_for_end(&id);

    let output = sandbox.cmd(&["logs", &id, "--tail", "50"]).success();

    assert_eq!(output.stdout, "line1\nline2\nline3\nline4\nline5\n");
}

#[test]
fn logs_of_running_task_prints_output_so_far() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, "echo ready; sleep 30");
    common::wait_until(common::EVENT_DEADLINE, "the task to print `ready`", || {
        std::fs::read_to_string(sandbox.log_path(&id)).is_ok_and(|log| log.contains("ready"))
    });

    let output = sandbox.cmd(&["logs", &id]).success();

    assert_eq!(output.stdout, "ready\n");
}
