//! `start`: launching a native task under a monitor.

mod common;

use std::time::Duration;

use common::{
    HELPER, Sandbox, WATCHDOG, Watched, boot_id, parent_of, process_group, run_to_end, start_ticks,
};

#[test]
fn start_prints_pid_and_log_path() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    let output = sandbox
        .cmd(&["start", &id, "--", HELPER, "sleep", "30"])
        .success();

    let pid = common::parse_started_pid(&output.stdout);
    let expected = format!(
        "started {id} as PID {pid}; output in {}",
        sandbox.log_path(&id).display()
    );
    assert_eq!(output.stdout.trim_end(), expected);
    assert!(Watched::new(pid).is_running());
}

#[test]
fn start_records_identity_and_monitor() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    let pid = sandbox.start_helper(&id, &["sleep", "30"]);

    let task = sandbox.task(&id);
    assert_eq!(task["status"], "running");
    assert_eq!(task["mode"], "native");
    assert!(task["started_at"].is_string(), "{task:#}");
    let native = &task["native"];
    assert_eq!(native["pid"], pid);
    assert_eq!(native["pgid"], pid, "the task leads its own process group");
    assert_eq!(process_group(pid), Some(pid));
    assert_eq!(native["boot_id"], boot_id());
    assert_eq!(
        native["start_ticks"],
        start_ticks(pid).expect("task is running")
    );
    assert!(
        native["start_time"]
            .as_str()
            .is_some_and(|time| !time.is_empty()),
        "{task:#}"
    );
    assert_eq!(native["env_tag"], format!("TASK_WATCHDOG_ID={id}"));

    let monitor_pid = task["monitor"]["pid"].as_i64().expect("monitor.pid") as i32;
    assert!(Watched::new(monitor_pid).is_running());
    assert_eq!(task["monitor"]["boot_id"], boot_id());
    assert_eq!(
        task["monitor"]["start_ticks"],
        start_ticks(monitor_pid).expect("monitor is running")
    );
    assert_eq!(
        parent_of(pid),
        Some(monitor_pid),
        "the monitor is the task's parent"
    );
}

#[test]
fn start_command_runs_through_sh() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    sandbox.start_shell(&id, "echo one; echo two >&2; exit 0");

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["command"], "echo one; echo two >&2; exit 0");
    assert_eq!(task["status"], "completed");
    let log = std::fs::read_to_string(sandbox.log_path(&id)).expect("read the log");
    assert!(log.contains("one\n"), "stdout reaches the log: {log:?}");
    assert!(log.contains("two\n"), "stderr reaches the log: {log:?}");
}

/// A caller such as Python's `subprocess.run(capture_output=True)` reads stdout and
/// stderr to end of file; neither the monitor nor the task may keep them open.
#[test]
fn start_returns_with_captured_output() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let mut command = sandbox.command(WATCHDOG);
    command.args(["start", &id, "--", HELPER, "sleep", "30"]);

    let output = run_to_end(command, Duration::from_secs(20)).success();

    let pid = common::parse_started_pid(&output.stdout);
    assert!(
        Watched::new(pid).is_running(),
        "the task keeps running after start returns"
    );
}

#[test]
fn task_environment_carries_id() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("build-7");

    sandbox.start_helper(&id, &["print-env", "TASK_WATCHDOG_ID"]);

    sandbox.wait_for_end(&id);
    let log = std::fs::read_to_string(sandbox.log_path(&id)).expect("read the log");
    assert_eq!(log.trim(), format!("TASK_WATCHDOG_ID={id}"));
}

#[test]
fn start_passes_cwd_and_env() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let work = sandbox.root().join("work");
    std::fs::create_dir(&work).expect("create the working directory");

    sandbox
        .cmd(&[
            "start",
            &id,
            "--cwd",
            work.to_str().expect("UTF-8 path"),
            "--env",
            "GREETING=hello",
            "--command",
            "pwd; echo $GREETING",
        ])
        .success();

    sandbox.wait_for_end(&id);
    let log = std::fs::read_to_string(sandbox.log_path(&id)).expect("read the log");
    assert_eq!(log, format!("{}\nhello\n", work.display()));
}

#[test]
fn start_of_running_id_names_pid() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "30"]);
    let before = sandbox.registry_bytes();

    let output = sandbox.cmd(&["start", &id, "--", HELPER, "sleep", "30"]);

    common::assert_rejected(&output, &pid.to_string());
    assert_eq!(
        sandbox.registry_bytes(),
        before,
        "the registry is unchanged"
    );
    assert!(
        Watched::new(pid).is_running(),
        "the first task keeps running"
    );
}

#[test]
fn start_reuses_id_of_ended_task() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(&id, &["exit", "3"]);
    sandbox.wait_for_end(&id);

    let pid = sandbox.start_helper(&id, &["sleep", "30"]);

    let task = sandbox.task(&id);
    assert_eq!(task["status"], "running");
    assert_eq!(task["native"]["pid"], pid);
    assert!(
        task["exit_code"].is_null(),
        "the old exit code is gone: {task:#}"
    );
}
