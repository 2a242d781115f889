//! `kill`: the whole process tree ends and the task is recorded `cancelled`.

mod common;

use common::{Sandbox, Watched, assert_all_ended};

/// Starts `forker` with `flags`, waits for its descendants' PIDs, and returns the
/// main process followed by the descendants.
fn start_tree(sandbox: &Sandbox, id: &str, flags: &[&str]) -> Vec<Watched> {
    let mut args = vec!["forker", "--children", "3", "--sleep", "300"];
    args.extend_from_slice(flags);
    let main = sandbox.start_helper(id, &args);
    let mut tree = vec![Watched::new(main)];
    for pid in sandbox.wait_for_logged_pids(id, 3) {
        tree.push(Watched::new(pid));
    }
    tree
}

#[test]
fn kill_ends_whole_tree() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_tree(&sandbox, &id, &[]);

    sandbox.cmd(&["kill", &id]).success();

    assert_all_ended(&tree, "kill T1");
    let task = sandbox.task(&id);
    assert_eq!(task["status"], "cancelled");
    assert!(task["completed_at"].is_string(), "{task:#}");
}

#[test]
fn kill_ends_setsid_descendants() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_tree(&sandbox, &id, &["--setsid"]);
    for descendant in &tree[1..] {
        assert_ne!(
            common::process_group(descendant.pid),
            common::process_group(tree[0].pid),
            "PID {} left the task's process group",
            descendant.pid
        );
    }

    sandbox.cmd(&["kill", &id]).success();

    assert_all_ended(&tree, "kill T1");
    assert_eq!(sandbox.task(&id)["status"], "cancelled");
}

#[test]
fn kill_ends_double_forked_orphans() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_tree(&sandbox, &id, &["--double-fork", "--setsid"]);

    sandbox.cmd(&["kill", &id]).success();

    assert_all_ended(&tree, "kill T1");
    assert_eq!(sandbox.task(&id)["status"], "cancelled");
}

#[test]
fn kill_signal_kill_records_sigkill() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let tree = start_tree(&sandbox, &id, &[]);

    sandbox.cmd(&["kill", &id, "--signal", "KILL"]).success();

    assert_all_ended(&tree, "kill --signal KILL");
    let task = sandbox.task(&id);
    assert_eq!(task["status"], "cancelled");
    assert_eq!(task["signal"], "SIGKILL");
    assert!(task["exit_code"].is_null(), "{task:#}");
}

#[test]
fn kill_grace_escalates_to_sigkill() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let pid = sandbox.start_shell(&id, "trap '' TERM; sleep 60");
    let main = Watched::new(pid);

    sandbox.cmd(&["kill", &id, "--grace", "1s"]).success();

    assert_all_ended(&[main], "kill --grace 1s");
    let task = sandbox.task(&id);
    assert_eq!(task["status"], "cancelled");
    assert_eq!(
        task["signal"], "SIGKILL",
        "SIGTERM was ignored, so SIGKILL ended it: {task:#}"
    );
}

#[test]
fn kill_of_logical_task_cancels() {
    let sandbox = Sandbox::new();
    let logical = sandbox.id("L1");
    sandbox
        .cmd(&["register", &logical, "--command", "review"])
        .success();

    sandbox.cmd(&["kill", &logical]).success();

    let task = sandbox.task(&logical);
    assert_eq!(task["status"], "cancelled");
    assert!(task["completed_at"].is_string(), "{task:#}");
}

#[test]
fn kill_of_ended_task_keeps_status() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(&id, &["exit", "3"]);
    sandbox.wait_for_end(&id);

    sandbox.cmd(&["kill", &id]).success();

    let task = sandbox.task(&id);
    assert_eq!(
        task["status"], "failed",
        "an ended task keeps how it ended: {task:#}"
    );
    assert_eq!(task["exit_code"], 3);
}
