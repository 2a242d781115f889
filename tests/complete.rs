//! `complete`: the task is recorded `completed` and its processes end.

mod common;

use common::{Sandbox, Watched, assert_all_ended};

#[test]
fn complete_marks_completed_and_ends_tree() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let main = sandbox.start_helper(
        &id,
        &["forker", "--children", "2", "--setsid", "--sleep", "300"],
    );
    let mut tree = vec![Watched::new(main)];
    tree.extend(
        sandbox
            .wait_for_logged_pids(&id, 2)
            .into_iter()
            .map(Watched::new),
    );

    sandbox.cmd(&["complete", &id]).success();

    assert_all_ended(&tree, "complete T1");
    let task = sandbox.task(&id);
    assert_eq!(task["status"], "completed");
    assert!(task["completed_at"].is_string(), "{task:#}");
}

#[test]
fn complete_ends_background_child() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.start_shell(&id, "sleep 300 & echo $!; sleep 300");
    let leftover = Watched::new(sandbox.wait_for_logged_pids(&id, 1)[0]);

    sandbox.cmd(&["complete", &id]).success();

    assert_all_ended(&[leftover], "complete T1");
    assert_eq!(sandbox.task(&id)["status"], "completed");
}

#[test]
fn complete_marks_logical_task() {
    let sandbox = Sandbox::new();
    let logical = sandbox.id("L1");
    sandbox
        .cmd(&[
            "register",
            &logical,
            "--command",
            "write the changelog",
            "--rules",
            "A",
        ])
        .success();

    sandbox.cmd(&["complete", &logical]).success();

    let task = sandbox.task(&logical);
    assert_eq!(task["status"], "completed");
    assert!(task["completed_at"].is_string(), "{task:#}");
    assert_eq!(task["constitution_rules"], serde_json::json!(["A"]));
}
