//! Two projects may use the same task id (dev-kid numbers tasks T001, T002, ... in
//! every project). Ending a task in one registry must never end the processes of the
//! task with the same id in another registry.

mod common;

use common::{Sandbox, Watched};

/// Starts a forker with two descendants in a new session under `id` and returns
/// its main process and descendants.
fn start_tree(sandbox: &Sandbox, id: &str) -> Vec<Watched> {
    let main = sandbox.start_helper(
        id,
        &["forker", "--children", "2", "--setsid", "--sleep", "300"],
    );
    let mut tree = vec![Watched::new(main)];
    tree.extend(
        sandbox
            .wait_for_logged_pids(id, 2)
            .into_iter()
            .map(Watched::new),
    );
    tree
}

#[test]
fn kill_spares_same_id_elsewhere() {
    let here = Sandbox::new();
    let elsewhere = Sandbox::new();
    let id = here.id("shared");
    here.start_helper(&id, &["sleep", "300"]);
    let other_tree = start_tree(&elsewhere, &id);

    here.cmd(&["kill", &id]).success();

    for process in &other_tree {
        assert!(
            process.is_running(),
            "PID {} of the other registry's task {id} was ended",
            process.pid
        );
    }
    assert_eq!(elsewhere.task(&id)["status"], "running");
}

#[test]
fn leftover_cleanup_spares_same_id_elsewhere() {
    let here = Sandbox::new();
    let elsewhere = Sandbox::new();
    let id = here.id("shared");
    here.start_helper(&id, &["sleep", "2"]);
    let other_tree = start_tree(&elsewhere, &id);

    let task = here.wait_for_leftovers(&id);

    for process in &other_tree {
        assert!(
            process.is_running(),
            "PID {} of the other registry's task {id} was ended",
            process.pid
        );
    }
    assert_eq!(
        task["leftovers_ended"], 0,
        "the task here left nothing behind: {task:#}"
    );
}
