//! Descendants that escape their task's process group (`setsid`, double fork) still
//! belong to the task. While the monitor runs, its subreaper role keeps them in the
//! tree. Once the monitor is gone, the `TASK_WATCHDOG_LAUNCH` tag in their
//! environment identifies them. `kill.rs`, `complete.rs` and `leftovers.rs` cover the
//! cases with a live monitor, and this file covers the cases without one.

mod common;

use std::time::Duration;

use common::{Sandbox, Watched, assert_all_ended, send_signal};

/// Starts `forker` with two descendants and `flags` under `id`, and returns the main
/// process followed by the descendants.
fn start_escaping_tree(sandbox: &Sandbox, id: &str, flags: &[&str]) -> Vec<Watched> {
    let mut args = vec!["forker", "--children", "2", "--setsid"];
    args.extend_from_slice(flags);
    let main = sandbox.start_helper(id, &args);
    let mut tree = vec![Watched::new(main)];
    for pid in sandbox.wait_for_logged_pids(id, 2) {
        tree.push(Watched::new(pid));
    }
    tree
}

/// Asserts that each escaped descendant left the main process's group and carries
/// the task's id and launch id in its environment.
#[track_caller]
fn assert_escaped_and_tagged(sandbox: &Sandbox, id: &str, main: &Watched, escaped: &[Watched]) {
    let launch_id = sandbox.task(id)["launch_id"]
        .as_str()
        .expect("the record has a launch_id")
        .to_string();
    for process in escaped {
        assert_ne!(
            common::process_group(process.pid),
            common::process_group(main.pid),
            "PID {} left the task's process group",
            process.pid
        );
        let environment = common::environment_of(process.pid);
        assert!(
            environment.contains(&format!("TASK_WATCHDOG_ID={id}")),
            "PID {} carries TASK_WATCHDOG_ID={id}: {environment:?}",
            process.pid
        );
        assert!(
            environment.contains(&format!("TASK_WATCHDOG_LAUNCH={launch_id}")),
            "PID {} carries TASK_WATCHDOG_LAUNCH={launch_id}: {environment:?}",
            process.pid
        );
    }
}

/// Sends SIGKILL to the monitor of task `id` and waits until it is gone.
fn kill_monitor(sandbox: &Sandbox, id: &str) {
    let monitor = Watched::new(common::monitor_pid(&sandbox.task(id)));
    assert!(send_signal(monitor.pid, libc::SIGKILL));
    assert_all_ended(&[monitor], "SIGKILL to the monitor");
}

/// Asserts that every process in `escaped` is still running: nothing but the command
/// under test may end them.
#[track_caller]
fn assert_still_running(escaped: &[Watched], context: &str) {
    for process in escaped {
        assert!(
            process.is_running(),
            "PID {} was ended before {context}",
            process.pid
        );
    }
}

#[test]
fn sweep_ends_escaped_after_exit() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let release = sandbox.root().join("release");
    // The main process starts two descendants in new sessions, then waits for the
    // test's signal file and exits 0, so it ends on its own after the monitor is gone.
    let script = format!(
        "{} forker --children 2 --setsid --sleep 0; while [ ! -e {} ]; do sleep 0.1; done; exit 0",
        common::HELPER,
        release.display()
    );
    let main = Watched::new(sandbox.start_shell(&id, &script));
    let escaped: Vec<Watched> = sandbox
        .wait_for_logged_pids(&id, 2)
        .into_iter()
        .map(Watched::new)
        .collect();
    assert_escaped_and_tagged(&sandbox, &id, &main, &escaped);
    kill_monitor(&sandbox, &id);

    std::fs::write(&release, b"").expect("create the release file");
    assert_all_ended(&[main], "the main process exited 0");
    assert_still_running(&escaped, "the daemon ran");
    assert_eq!(
        sandbox.task(&id)["status"],
        "running",
        "nothing recorded the end while no monitor and no daemon ran"
    );

    let daemon = sandbox.spawn_daemon(&["--interval", "1"]);

    assert_all_ended(&escaped, "the daemon's sweep");
    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
}

#[test]
fn sweep_ends_orphans_after_main_killed() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_escaping_tree(&sandbox, &id, &["--double-fork", "--sleep", "300"]);
    assert_escaped_and_tagged(&sandbox, &id, &tree[0], &tree[1..]);
    kill_monitor(&sandbox, &id);

    assert!(send_signal(tree[0].pid, libc::SIGKILL));
    assert_all_ended(&tree[..1], "SIGKILL to the main process");
    assert_still_running(&tree[1..], "the daemon ran");

    sandbox.spawn_daemon(&["--interval", "1"]);

    assert_all_ended(&tree, "the daemon's sweep");
    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(
        task["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("monitor")),
        "the reason names the lost monitor: {task:#}"
    );
}

/// The daemon runs throughout. It detects the monitor's end, takes over the main
/// process, records its end, and its sweep ends the escaped descendants.
#[test]
fn running_daemon_ends_escaped_after_monitor_lost() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let daemon = sandbox.spawn_daemon(&["--interval", "1"]);
    sandbox.wait_for_daemon(daemon);
    let tree = start_escaping_tree(&sandbox, &id, &["--sleep", "300"]);
    kill_monitor(&sandbox, &id);
    // Lets the daemon see the monitor's end and take over the main process first.
    std::thread::sleep(Duration::from_millis(500));

    assert!(send_signal(tree[0].pid, libc::SIGKILL));

    assert_all_ended(&tree, "the main process was killed with the daemon running");
    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(
        task["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("monitor")),
        "the reason names the lost monitor: {task:#}"
    );
}

#[test]
fn kill_after_monitor_lost_ends_orphans() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_escaping_tree(&sandbox, &id, &["--double-fork", "--sleep", "300"]);
    kill_monitor(&sandbox, &id);
    assert_still_running(&tree, "kill");

    sandbox.cmd(&["kill", &id]).success();

    assert_all_ended(&tree, "kill with the monitor gone");
    assert_eq!(sandbox.task(&id)["status"], "cancelled");
}

#[test]
fn complete_after_monitor_lost_ends_orphans() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_escaping_tree(&sandbox, &id, &["--double-fork", "--sleep", "300"]);
    kill_monitor(&sandbox, &id);
    assert_still_running(&tree, "complete");

    sandbox.cmd(&["complete", &id]).success();

    assert_all_ended(&tree, "complete with the monitor gone");
    assert_eq!(sandbox.task(&id)["status"], "completed");
}

#[test]
fn complete_ends_double_forked_orphans() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_escaping_tree(&sandbox, &id, &["--double-fork", "--sleep", "300"]);

    sandbox.cmd(&["complete", &id]).success();

    assert_all_ended(&tree, "complete");
    assert_eq!(sandbox.task(&id)["status"], "completed");
}

/// The main process and its monitor are both gone, so only the launch tag links the
/// escaped descendants to the task when `kill` runs.
#[test]
fn kill_after_main_and_monitor_gone_ends_orphans() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_escaping_tree(&sandbox, &id, &["--double-fork", "--sleep", "300"]);
    kill_monitor(&sandbox, &id);
    assert!(send_signal(tree[0].pid, libc::SIGKILL));
    assert_all_ended(&tree[..1], "SIGKILL to the main process");
    assert_still_running(&tree[1..], "kill");

    sandbox.cmd(&["kill", &id]).success();

    assert_all_ended(&tree[1..], "kill of a task whose processes outlived it");
}
