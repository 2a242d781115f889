//! The daemon, `task-watchdog run`: attached processes, monitors that die, the
//! sweep, one instance per registry, and a clean stop.

mod common;

use std::os::unix::process::CommandExt;
use std::time::Duration;

use chrono::Utc;

use common::{EVENT_DEADLINE, HELPER, Sandbox, Watched, send_signal, wait_for};

/// Daemon arguments for each exit-event backend this machine has; the tests that
/// detect exits run once per backend so both stay correct.
const PIDFD: &[&str] = &["--interval", "300", "--backend", "pidfd"];
const POLL: &[&str] = &[
    "--interval",
    "300",
    "--backend",
    "poll",
    "--poll-interval",
    "100",
];

/// Declares one test per backend that calls `$body` with that backend's arguments.
macro_rules! on_each_backend {
    ($body:ident: $pidfd:ident, $poll:ident) => {
        #[test]
        fn $pidfd() {
            $body(PIDFD);
        }

        #[test]
        fn $poll() {
            $body(POLL);
        }
    };
}

on_each_backend!(attached_sigkill_recorded_failed: attached_sigkill_recorded_pidfd, attached_sigkill_recorded_poll);
on_each_backend!(dead_monitor_taken_over: dead_monitor_taken_over_pidfd, dead_monitor_taken_over_poll);
on_each_backend!(registered_while_running_is_watched: registered_later_watched_pidfd, registered_later_watched_poll);

fn attached_sigkill_recorded_failed(daemon_args: &[&str]) {
    let mut sandbox = Sandbox::new();
    let attached = sandbox.id("A1");
    let pid = sandbox.spawn_sleeper(300);
    sandbox
        .cmd(&[
            "register",
            &attached,
            "--command",
            "sleep 300",
            "--pid",
            &pid.to_string(),
        ])
        .success();
    let daemon = sandbox.spawn_daemon(daemon_args);
    sandbox.wait_for_daemon(daemon);

    assert!(send_signal(pid, libc::SIGKILL));
    sandbox.reap(pid);

    let task = wait_for_task_end(&sandbox, &attached);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(
        task["exit_code"].is_null(),
        "only a parent can read the exit code: {task:#}"
    );
    assert!(task["completed_at"].is_string(), "{task:#}");
}

fn dead_monitor_taken_over(daemon_args: &[&str]) {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "300"]);
    let task_process = Watched::new(pid);
    let monitor_pid = sandbox.task(&id)["monitor"]["pid"]
        .as_i64()
        .expect("monitor.pid") as i32;
    let monitor = Watched::new(monitor_pid);
    let daemon = sandbox.spawn_daemon(daemon_args);
    sandbox.wait_for_daemon(daemon);

    assert!(send_signal(monitor_pid, libc::SIGKILL));
    common::assert_all_ended(&[monitor], "SIGKILL to the monitor");
    assert!(task_process.is_running(), "the task outlives its monitor");
    assert_eq!(sandbox.task(&id)["status"], "running");
    assert!(send_signal(pid, libc::SIGKILL));

    let task = wait_for_task_end(&sandbox, &id);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(task["exit_code"].is_null(), "{task:#}");
    let reason = task["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("monitor"),
        "the reason mentions the lost monitor: {task:#}"
    );
}

#[test]
fn sweep_ends_completed_task_process() {
    let mut sandbox = Sandbox::new();
    let attached = sandbox.id("A1");
    let logical = sandbox.id("L1");
    let mut command = sandbox.command(HELPER);
    command.args(["sleep", "300"]).process_group(0);
    let pid = sandbox.spawn(command) as i32;
    let leftover = Watched::new(pid);
    sandbox
        .cmd(&[
            "register",
            &attached,
            "--command",
            "sleep 300",
            "--pid",
            &pid.to_string(),
        ])
        .success();
    sandbox
        .cmd(&["register", &logical, "--command", "review the plan"])
        .success();
    let mut registry = sandbox.registry();
    registry["tasks"][&attached]["status"] = "completed".into();
    registry["tasks"][&attached]["exit_code"] = 0.into();
    registry["tasks"][&attached]["completed_at"] = Utc::now().to_rfc3339().into();
    sandbox.write_registry(&registry);

    let daemon = sandbox.spawn_daemon(&["--interval", "1"]);
    sandbox.wait_for_daemon(daemon);

    common::assert_all_ended(&[leftover], "sweeps with --interval 1");
    // Several more sweeps pass while this sleeps; none may touch the logical task.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
    let registry = sandbox.registry();
    assert_eq!(
        registry["tasks"][&attached]["status"], "completed",
        "{registry:#}"
    );
    assert_eq!(
        registry["tasks"][&logical]["status"], "running",
        "a logical task stays running: {registry:#}"
    );
}

#[test]
fn second_daemon_names_first_pid() {
    let mut sandbox = Sandbox::new();
    let first = sandbox.spawn_daemon(&["--interval", "300"]);
    sandbox.wait_for_daemon(first);

    let output = sandbox.cmd(&["run", "--interval", "300"]);

    assert_eq!(output.code, Some(1), "{output:#?}");
    assert!(
        output.stderr.contains(&first.to_string()),
        "stderr names PID {first}: {output:#?}"
    );
    assert!(common::is_running(first), "the first daemon keeps running");
}

#[test]
fn missing_backend_names_available_ones() {
    let sandbox = Sandbox::new();

    let output = sandbox.cmd(&["run", "--backend", "kqueue"]);

    assert_eq!(output.code, Some(1), "{output:#?}");
    assert_eq!(output.stderr.lines().count(), 1, "{output:#?}");
    assert!(output.stderr.contains("kqueue"), "{output:#?}");
    assert!(
        output.stderr.contains("pidfd") && output.stderr.contains("poll"),
        "the error lists the available backends: {output:#?}"
    );
}

#[test]
fn unknown_backend_rejected() {
    let sandbox = Sandbox::new();

    let output = sandbox.cmd(&["run", "--backend", "epoll"]);

    assert_eq!(output.code, Some(1), "{output:#?}");
    assert!(output.stderr.contains("\"epoll\""), "{output:#?}");
}

#[test]
fn daemon_sigterm_leaves_tasks_running() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_helper(&id, &["sleep", "300"]);
    let task_process = Watched::new(pid);
    let daemon = sandbox.spawn_daemon(&["--interval", "300"]);
    sandbox.wait_for_daemon(daemon);

    assert!(send_signal(daemon, libc::SIGTERM));

    let status = sandbox.wait_for_exit(daemon, EVENT_DEADLINE);
    assert_eq!(
        status.code(),
        Some(0),
        "the daemon exits 0 on SIGTERM: {}",
        sandbox.daemon_stderr()
    );
    assert!(task_process.is_running(), "the task keeps running");
    assert_eq!(sandbox.task(&id)["status"], "running");
    let view = sandbox.cmd(&["check", &id, "--json"]).success().json();
    assert_eq!(view["alive"], true);
}

#[test]
fn daemon_restart_allowed_after_sigterm() {
    let mut sandbox = Sandbox::new();
    let first = sandbox.spawn_daemon(&["--interval", "300"]);
    sandbox.wait_for_daemon(first);
    assert!(send_signal(first, libc::SIGTERM));
    sandbox.wait_for_exit(first, EVENT_DEADLINE);

    let second = sandbox.spawn_daemon(&["--interval", "300"]);

    sandbox.wait_for_daemon(second);
    assert!(
        common::is_running(second),
        "a new daemon starts once the first is gone: {}",
        sandbox.daemon_stderr()
    );
}

fn registered_while_running_is_watched(daemon_args: &[&str]) {
    let mut sandbox = Sandbox::new();
    let attached = sandbox.id("A1");
    let daemon = sandbox.spawn_daemon(daemon_args);
    sandbox.wait_for_daemon(daemon);
    let pid = sandbox.spawn_sleeper(300);

    sandbox
        .cmd(&[
            "register",
            &attached,
            "--command",
            "sleep 300",
            "--pid",
            &pid.to_string(),
        ])
        .success();
    // Lets the daemon start watching the process first. The recorded outcome must be
    // the same when the daemon first reads the registration after the exit.
    std::thread::sleep(Duration::from_millis(500));
    assert!(send_signal(pid, libc::SIGKILL));
    sandbox.reap(pid);

    let task = wait_for_task_end(&sandbox, &attached);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(task["exit_code"].is_null(), "{task:#}");
}

#[test]
fn daemon_keeps_monitor_exit_code() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let daemon = sandbox.spawn_daemon(&["--interval", "300"]);
    sandbox.wait_for_daemon(daemon);

    sandbox.start_helper(&id, &["exit", "3"]);

    let task = wait_for_task_end(&sandbox, &id);
    assert_eq!(task["status"], "failed");
    assert_eq!(
        task["exit_code"], 3,
        "the monitor's exact code is kept: {task:#}"
    );
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
}

/// Waits for task `id` to end, printing the daemon's stderr on failure.
#[track_caller]
fn wait_for_task_end(sandbox: &Sandbox, id: &str) -> serde_json::Value {
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(
            EVENT_DEADLINE,
            &format!("the daemon to record the end of {id}"),
            || {
                let task = sandbox.registry()["tasks"].get(id).cloned()?;
                (task["status"] != "running").then_some(task)
            },
        )
    }));
    match found {
        Ok(task) => task,
        Err(_) => panic!(
            "task {id} was not recorded ended within {EVENT_DEADLINE:?}; registry:\n{:#}\ndaemon stderr:\n{}",
            sandbox.registry(),
            sandbox.daemon_stderr()
        ),
    }
}
