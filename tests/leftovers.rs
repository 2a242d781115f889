//! When a task's main process exits, its monitor ends the descendants it left and
//! records how many.

mod common;

use common::{Sandbox, Watched, assert_all_ended};

#[test]
fn background_child_ended_after_exit() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, "sleep 100 & echo $!; exit 0");

    let task = sandbox.wait_for_leftovers(&id);

    let leftover = sandbox.wait_for_logged_pids(&id, 1)[0];
    assert!(
        !common::is_running(leftover),
        "the background sleep {leftover} was ended"
    );
    assert_eq!(
        task["status"], "completed",
        "the main process exited 0: {task:#}"
    );
    assert_eq!(task["exit_code"], 0);
    assert_eq!(task["leftovers_ended"], 1, "{task:#}");
}

#[test]
fn setsid_children_ended_after_exit() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(
        &id,
        &["forker", "--children", "2", "--setsid", "--sleep", "2"],
    );
    let children: Vec<Watched> = sandbox
        .wait_for_logged_pids(&id, 2)
        .into_iter()
        .map(Watched::new)
        .collect();

    let task = sandbox.wait_for_leftovers(&id);

    assert_all_ended(&children, "the main process exited");
    assert_eq!(task["status"], "completed", "{task:#}");
    assert_eq!(task["leftovers_ended"], 2, "{task:#}");
}

#[test]
fn orphans_ended_after_exit() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(
        &id,
        &[
            "forker",
            "--children",
            "2",
            "--double-fork",
            "--setsid",
            "--sleep",
            "2",
        ],
    );
    let orphans: Vec<Watched> = sandbox
        .wait_for_logged_pids(&id, 2)
        .into_iter()
        .map(Watched::new)
        .collect();

    let task = sandbox.wait_for_leftovers(&id);

    assert_all_ended(&orphans, "the main process exited");
    assert_eq!(task["leftovers_ended"], 2, "{task:#}");
}

#[test]
fn no_leftovers_counts_zero() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_helper(&id, &["exit", "0"]);

    let task = sandbox.wait_for_leftovers(&id);

    assert_eq!(task["leftovers_ended"], 0, "{task:#}");
}
