//! Deadlines. `start --timeout DUR` ends the task's whole tree at the deadline and
//! records `failed` with reason `timeout`, whether or not the daemon runs.
//! `start --warn-after DUR` (default 15 minutes) flags a task that runs longer, in
//! `check`, `rehydrate` and the event log, without ending it.

mod common;

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use common::{EVENT_DEADLINE, HELPER, Sandbox, Watched, assert_all_ended, assert_rejected};

/// Starts a forker with two descendants in new sessions under `id` with `options`
/// before `--`, and returns the main process followed by the descendants.
fn start_tree(sandbox: &Sandbox, id: &str, options: &[&str]) -> Vec<Watched> {
    let mut args = vec!["start", id];
    args.extend_from_slice(options);
    args.extend_from_slice(&[
        "--",
        HELPER,
        "forker",
        "--children",
        "2",
        "--setsid",
        "--sleep",
        "300",
    ]);
    let main = common::parse_started_pid(&sandbox.cmd(&args).success().stdout);
    let mut tree = vec![Watched::new(main)];
    for pid in sandbox.wait_for_logged_pids(id, 2) {
        tree.push(Watched::new(pid));
    }
    tree
}

#[track_caller]
fn assert_timed_out(task: &Value) {
    assert_eq!(task["status"], "failed", "{task:#}");
    assert_eq!(task["reason"], "timeout", "{task:#}");
    assert!(task["completed_at"].is_string(), "{task:#}");
}

#[test]
fn timeout_ends_tree_without_daemon() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_tree(&sandbox, &id, &["--timeout", "1s"]);

    let task = sandbox.wait_for_end(&id);

    assert_timed_out(&task);
    assert_all_ended(&tree, "the 1 s timeout");
}

#[test]
fn timeout_ends_sleep_without_daemon() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let output = sandbox
        .cmd(&["start", &id, "--timeout", "1s", "--", "sleep", "60"])
        .success();
    let main = Watched::new(common::parse_started_pid(&output.stdout));

    let task = sandbox.wait_for_end(&id);

    assert_timed_out(&task);
    assert_all_ended(&[main], "the 1 s timeout");
}

#[test]
fn timeout_ends_tree_with_daemon() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let daemon = sandbox.spawn_daemon(&["--interval", "300"]);
    sandbox.wait_for_daemon(daemon);
    let tree = start_tree(&sandbox, &id, &["--timeout", "1s"]);

    let task = sandbox.wait_for_end(&id);

    assert_timed_out(&task);
    assert_all_ended(&tree, "the 1 s timeout");
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
}

/// With the monitor gone, only the daemon is left to enforce the deadline.
#[test]
fn daemon_enforces_timeout_after_monitor_lost() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let daemon = sandbox.spawn_daemon(&["--interval", "1"]);
    sandbox.wait_for_daemon(daemon);
    let tree = start_tree(&sandbox, &id, &["--timeout", "3s"]);
    let monitor = Watched::new(common::monitor_pid(&sandbox.task(&id)));

    assert!(common::send_signal(monitor.pid, libc::SIGKILL));

    assert_all_ended(&tree, "the 3 s timeout with the monitor gone");
    let task = sandbox.wait_for_end(&id);
    assert_timed_out(&task);
}

#[test]
fn warn_after_flags_without_ending() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let output = sandbox
        .cmd(&[
            "start",
            &id,
            "--warn-after",
            "1s",
            "--",
            HELPER,
            "sleep",
            "30",
        ])
        .success();
    let main = Watched::new(common::parse_started_pid(&output.stdout));

    common::wait_until(
        EVENT_DEADLINE,
        "check to flag the task long-running",
        || {
            let text = sandbox.cmd(&["check", &id]).success().stdout;
            text.contains("long-running") || text.contains("running longer than")
        },
    );
    let view = sandbox.cmd(&["check", &id, "--json"]).success().json();
    assert_eq!(view["observed"]["long_running"], true, "{view:#}");
    let summary = sandbox.cmd(&["rehydrate", "--json"]).success().json();
    assert!(
        common::find_listed(&summary["attention"], &id).is_some(),
        "rehydrate lists {id} under attention: {summary:#}"
    );
    common::wait_until(EVENT_DEADLINE, "a long_running event", || {
        !long_running_events(&sandbox, &id).is_empty()
    });
    // More time passes, and more reads, without a second event.
    std::thread::sleep(Duration::from_secs(2));
    sandbox.cmd(&["check", &id]).success();
    let events = long_running_events(&sandbox, &id);
    assert_eq!(events.len(), 1, "one long_running event: {events:#?}");

    assert!(main.is_running(), "the flagged task keeps running");
    let view = sandbox.cmd(&["check", &id, "--json"]).success().json();
    assert_eq!(view["status"], "running", "{view:#}");
    assert_eq!(view["alive"], true, "{view:#}");
}

#[test]
fn warn_after_not_flagged_before_deadline() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox
        .cmd(&[
            "start",
            &id,
            "--warn-after",
            "1h",
            "--",
            HELPER,
            "sleep",
            "30",
        ])
        .success();

    let view = sandbox.cmd(&["check", &id, "--json"]).success().json();
    let text = sandbox.cmd(&["check", &id]).success().stdout;
    let summary = sandbox.cmd(&["rehydrate", "--json"]).success().json();

    assert_eq!(view["observed"]["long_running"], false, "{view:#}");
    assert!(!text.contains("long-running"), "{text}");
    assert!(
        common::find_listed(&summary["attention"], &id).is_none(),
        "{summary:#}"
    );
    assert!(long_running_events(&sandbox, &id).is_empty());
}

/// Moves the recorded start of a running task back by `minutes`, so the task looks to
/// `check` as if it had run that long, and returns `observed.long_running`.
fn long_running_after(sandbox: &Sandbox, id: &str, minutes: i64) -> Value {
    let mut registry = sandbox.registry();
    let started = Utc::now() - chrono::Duration::minutes(minutes);
    registry["tasks"][id]["started_at"] = started.to_rfc3339().into();
    sandbox.write_registry(&registry);
    let view = sandbox.cmd(&["check", id, "--json"]).success().json();
    view["observed"]["long_running"].clone()
}

/// Without `--warn-after` the flag comes after 15 minutes. The test moves the
/// recorded start time instead of waiting, so it assumes `check` measures from
/// `started_at`.
#[test]
fn default_warn_after_is_15_minutes() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(&id, &["sleep", "60"]);

    assert_eq!(
        long_running_after(&sandbox, &id, 14),
        false,
        "after 14 minutes"
    );
    assert_eq!(
        long_running_after(&sandbox, &id, 16),
        true,
        "after 16 minutes"
    );
}

#[test]
fn malformed_warn_after_rejected() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox
        .cmd(&["register", &sandbox.id("L1"), "--command", "review"])
        .success();
    let before = sandbox.registry_bytes();

    let output = sandbox.cmd(&["start", &id, "--warn-after", "soon", "--", "true"]);

    assert_rejected(&output, "soon");
    assert_eq!(sandbox.registry_bytes(), before, "nothing was recorded");
}

fn long_running_events(sandbox: &Sandbox, id: &str) -> Vec<Value> {
    let mut events = common::events_of(sandbox, id);
    events.retain(|event| event["event"] == "long_running");
    events
}
