//! Bad input: exit 1, one line on stderr that names the value, and the registry
//! left as it was.

mod common;

use common::{Sandbox, assert_rejected};

/// Creates a sandbox whose registry contains the logical task `L1`, so there are
/// bytes to compare.
fn sandbox_with_registry() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox
        .cmd(&["register", "L1", "--command", "review"])
        .success();
    sandbox
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
fn unknown_task_rejected() {
    let sandbox = sandbox_with_registry();

    for command in ["check", "kill", "complete", "logs", "wait"] {
        assert_rejected_unchanged(&sandbox, &[command, "nosuch"], "nosuch");
    }
    assert_rejected_unchanged(&sandbox, &["check", "nosuch", "--json"], "nosuch");
}

#[test]
fn unknown_task_json_keeps_stdout_empty() {
    let sandbox = sandbox_with_registry();

    let output = sandbox.cmd(&["check", "nosuch", "--json"]);

    assert_eq!(output.code, Some(1));
    assert_eq!(output.stdout, "", "errors go to stderr only");
}

#[test]
fn missing_program_records_failure() {
    let sandbox = sandbox_with_registry();

    let output = sandbox.cmd(&["start", "T1", "--", "/nonexistent/prog", "--flag"]);

    assert_rejected(&output, "/nonexistent/prog");
    let task = sandbox.task("T1");
    assert_eq!(task["status"], "failed");
    assert!(
        task["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "the failure has a reason: {task:#}"
    );
    assert!(task["completed_at"].is_string(), "{task:#}");
}

#[test]
fn malformed_durations_rejected() {
    let sandbox = sandbox_with_registry();

    assert_rejected_unchanged(
        &sandbox,
        &["start", "T1", "--timeout", "abc", "--", "true"],
        "abc",
    );
    assert_rejected_unchanged(&sandbox, &["kill", "L1", "--grace", "xyz"], "xyz");
    assert_rejected_unchanged(
        &sandbox,
        &["wait", "L1", "--timeout", "5 parsecs"],
        "5 parsecs",
    );
    assert_eq!(
        sandbox.task("L1")["status"],
        "running",
        "a rejected kill ends nothing"
    );
}

#[test]
fn malformed_signal_rejected() {
    let sandbox = sandbox_with_registry();

    assert_rejected_unchanged(&sandbox, &["kill", "L1", "--signal", "SIGFOO"], "SIGFOO");
}

#[test]
fn unsafe_ids_rejected() {
    let sandbox = sandbox_with_registry();

    for id in ["", "a/b", "..", ".", "line\nbreak", &"x".repeat(129)] {
        assert_rejected_unchanged(&sandbox, &["start", id, "--", "true"], id);
        assert_rejected_unchanged(&sandbox, &["register", id, "--command", "true"], id);
        assert_rejected_unchanged(&sandbox, &["check", id], id);
    }
    let logs = std::fs::read_dir(sandbox.claude_dir().join("logs"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(logs, 0, "no log file was created for a rejected id");
}

#[test]
fn bad_pids_rejected() {
    let sandbox = sandbox_with_registry();

    for pid in ["0", "-5", "abc", "999999999"] {
        assert_rejected_unchanged(
            &sandbox,
            &["register", "P1", "--command", "x", "--pid", pid],
            pid,
        );
    }
}

#[test]
fn corrupt_registry_moved_aside() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.claude_dir()).expect("create .claude");
    let garbage: &[u8] = b"\x00\xff{\"tasks\": {not json at all";
    std::fs::write(sandbox.registry_path(), garbage).expect("write garbage");

    let output = sandbox.cmd(&["register", "T1", "--command", "x"]).success();

    let aside = corrupt_copies(&sandbox);
    assert_eq!(aside.len(), 1, "one copy was moved aside: {aside:?}");
    let name = aside[0]
        .file_name()
        .and_then(|name| name.to_str())
        .expect("UTF-8 name");
    assert!(
        output.stderr.contains(name),
        "the message names {name}: {output:#?}"
    );
    assert_eq!(
        std::fs::read(&aside[0]).expect("read the copy"),
        garbage,
        "the copy keeps every byte"
    );
    let tasks = sandbox.registry()["tasks"].clone();
    assert_eq!(
        tasks.as_object().map(|tasks| tasks.len()),
        Some(1),
        "a fresh registry: {tasks:#}"
    );
    assert_eq!(tasks["T1"]["command"], "x");
}

#[test]
fn corrupt_registry_read_by_list() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.claude_dir()).expect("create .claude");
    std::fs::write(sandbox.registry_path(), b"[[[").expect("write garbage");

    let output = sandbox.cmd(&["list", "--json"]).success();

    output.json();
    let aside = corrupt_copies(&sandbox);
    assert_eq!(aside.len(), 1, "one copy was moved aside: {aside:?}");
    let name = aside[0]
        .file_name()
        .and_then(|name| name.to_str())
        .expect("UTF-8 name");
    assert!(
        output.stderr.contains(name),
        "the message names {name}: {output:#?}"
    );
}

fn corrupt_copies(sandbox: &Sandbox) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(sandbox.claude_dir())
        .expect("read .claude")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("process_registry.json.corrupt-"))
        })
        .collect()
}
