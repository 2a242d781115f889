//! Bad values on the command line: task ids that could not be file names, PIDs that
//! cannot be attached, malformed durations. Each is exit 1 with one line on stderr
//! that names the value, and the registry is left as it was. `bad_input.rs` covers
//! the first cases of each; this file covers the rest.

mod common;

use common::{Sandbox, assert_rejected, send_signal};

/// Creates a sandbox whose registry contains the logical task `L1`, so there are
/// bytes to compare, and returns its id.
fn sandbox_with_registry() -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    let id = sandbox.id("L1");
    sandbox
        .cmd(&["register", &id, "--command", "review"])
        .success();
    (sandbox, id)
}

#[track_caller]
fn assert_rejected_unchanged(sandbox: &Sandbox, args: &[&str], value: &str) {
    let before = sandbox.registry_bytes();
    let output = sandbox.cmd(args);
    assert_rejected(&output, value);
    assert_eq!(
        sandbox.registry_bytes(),
        before,
        "`{}` changed the registry",
        args.join(" ")
    );
}

#[test]
fn control_character_ids_rejected() {
    let (sandbox, _) = sandbox_with_registry();

    for id in ["tab\there", "esc\x1b[31m", "del\x7f", "cr\rret", "bell\x07"] {
        assert_rejected_unchanged(&sandbox, &["start", id, "--", "true"], id);
        assert_rejected_unchanged(&sandbox, &["register", id, "--command", "x"], id);
        for command in ["check", "kill", "complete", "logs", "wait"] {
            assert_rejected_unchanged(&sandbox, &[command, id], id);
        }
    }
    let logs = std::fs::read_dir(sandbox.claude_dir().join("logs"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(logs, 0, "no log file was created for a rejected id");
}

#[test]
fn slash_ids_rejected_by_every_command() {
    let (sandbox, _) = sandbox_with_registry();

    for id in ["../escape", "a/b", "/abs"] {
        for command in ["kill", "complete", "logs", "wait"] {
            assert_rejected_unchanged(&sandbox, &[command, id], id);
        }
    }
    assert!(
        !sandbox.root().join("escape.log").exists(),
        "no file was created outside the logs directory"
    );
}

#[test]
fn id_of_128_characters_accepted() {
    let sandbox = Sandbox::new();
    let suffix = sandbox.id("");
    let id = format!("{}{suffix}", "x".repeat(128 - suffix.len()));
    assert_eq!(id.chars().count(), 128);

    sandbox.start_shell(&id, "echo long id");

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "completed", "{task:#}");
    assert!(
        sandbox.log_path(&id).exists(),
        "the log has the id as its name"
    );
}

#[test]
fn more_bad_pids_rejected() {
    let (sandbox, _) = sandbox_with_registry();
    let id = sandbox.id("P1");

    for pid in ["1", "-1", "", " ", "4194305", "2147483648", "12abc"] {
        assert_rejected_unchanged(
            &sandbox,
            &["register", &id, "--command", "x", "--pid", pid],
            pid,
        );
    }
}

/// A process that has exited but is not reaped yet (a zombie) is no process to
/// attach.
#[test]
fn exited_pid_rejected() {
    let (mut sandbox, _) = sandbox_with_registry();
    let id = sandbox.id("P1");
    let pid = sandbox.spawn_sleeper(300);
    assert!(send_signal(pid, libc::SIGKILL));
    common::wait_until(common::EVENT_DEADLINE, "the sleeper to exit", || {
        !common::is_running(pid)
    });

    assert_rejected_unchanged(
        &sandbox,
        &["register", &id, "--command", "x", "--pid", &pid.to_string()],
        &pid.to_string(),
    );
    sandbox.reap(pid);
}

#[test]
fn more_malformed_durations_rejected() {
    let (sandbox, logical) = sandbox_with_registry();
    let id = sandbox.id("T1");

    assert_rejected_unchanged(&sandbox, &["rehydrate", "--since", "xyz"], "xyz");
    assert_rejected_unchanged(
        &sandbox,
        &["start", &id, "--grace", "never", "--", "true"],
        "never",
    );
    assert_rejected_unchanged(
        &sandbox,
        &["start", &id, "--timeout=-5s", "--", "true"],
        "-5s",
    );
    assert_rejected_unchanged(
        &sandbox,
        &["start", &id, "--timeout", "0", "--", "true"],
        "0",
    );
    assert_rejected_unchanged(&sandbox, &["kill", &logical, "--grace=-1s"], "-1s");
    assert_rejected_unchanged(&sandbox, &["cleanup", "--days", "soon"], "soon");
    assert_eq!(
        sandbox.task(&logical)["status"],
        "running",
        "a rejected kill ends nothing"
    );
}
