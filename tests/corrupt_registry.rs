//! A registry that does not parse is moved aside under a name with a timestamp,
//! never deleted, and work continues on a fresh one. A registry that parses but has
//! records of the wrong shape keeps those records as they are while every other
//! task keeps working. `bad_input.rs` covers the first move aside and its message.

mod common;

use std::fs;
use std::path::PathBuf;

use chrono::{Duration as Days, Utc};
use serde_json::{Value, json};

use common::{Sandbox, assert_rejected, send_signal};

/// Lists the files moved aside, `process_registry.json.corrupt-*`, sorted by name.
fn corrupt_copies(sandbox: &Sandbox) -> Vec<PathBuf> {
    let mut copies: Vec<PathBuf> = fs::read_dir(sandbox.claude_dir())
        .expect("read .claude")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| file_name(path).starts_with("process_registry.json.corrupt-"))
        .collect();
    copies.sort();
    copies
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Writes `bytes` as the registry, replacing it atomically.
fn write_raw_registry(sandbox: &Sandbox, bytes: &[u8]) {
    fs::create_dir_all(sandbox.claude_dir()).expect("create .claude");
    let temporary = sandbox.claude_dir().join("registry.test-tmp");
    fs::write(&temporary, bytes).expect("write the registry");
    fs::rename(&temporary, sandbox.registry_path()).expect("replace the registry");
}

/// Asserts that the part of `name` after `corrupt-` contains today's UTC date (or
/// yesterday's, for a run across midnight), as `20260110` or `2026-01-10`.
#[track_caller]
fn assert_has_timestamp(name: &str) {
    let suffix = name
        .split_once("corrupt-")
        .map(|(_, suffix)| suffix)
        .unwrap_or_default();
    let today = Utc::now();
    let dates = [today, today - Days::days(1)];
    let found = dates.iter().any(|date| {
        suffix.contains(&date.format("%Y%m%d").to_string())
            || suffix.contains(&date.format("%Y-%m-%d").to_string())
    });
    assert!(found, "the name {name:?} has no timestamp of today");
}

#[test]
fn corrupt_copy_named_with_timestamp() {
    let sandbox = Sandbox::new();
    write_raw_registry(&sandbox, b"{\"tasks\": {\"T1\": ");

    sandbox.cmd(&["list"]).success();

    let copies = corrupt_copies(&sandbox);
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_has_timestamp(&file_name(&copies[0]));
}

#[test]
fn corrupt_copies_never_deleted() {
    let sandbox = Sandbox::new();
    let first: &[u8] = b"first garbage {{{";
    let second: &[u8] = b"second garbage ]]]";
    let (first_id, second_id) = (sandbox.id("T1"), sandbox.id("T2"));
    write_raw_registry(&sandbox, first);
    sandbox
        .cmd(&["register", &first_id, "--command", "x"])
        .success();
    write_raw_registry(&sandbox, second);

    let output = sandbox
        .cmd(&["register", &second_id, "--command", "y"])
        .success();

    let copies = corrupt_copies(&sandbox);
    assert_eq!(
        copies.len(),
        2,
        "each corrupt registry has its own copy: {copies:?}"
    );
    let contents: Vec<Vec<u8>> = copies
        .iter()
        .map(|path| fs::read(path).expect("read a copy"))
        .collect();
    assert!(contents.contains(&first.to_vec()), "the first copy is kept");
    assert!(
        contents.contains(&second.to_vec()),
        "the second copy is kept"
    );
    let newest = copies
        .iter()
        .find(|path| fs::read(path).is_ok_and(|bytes| bytes == second))
        .expect("the second copy");
    assert!(
        output.stderr.contains(&file_name(newest)),
        "the message names {}: {output:#?}",
        newest.display()
    );

    sandbox.cmd(&["complete", &second_id]).success();
    sandbox.cmd(&["cleanup", "--days", "0"]).success();
    assert_eq!(
        corrupt_copies(&sandbox),
        copies,
        "later commands and cleanup keep the copies"
    );
}

#[test]
fn work_continues_after_corrupt_registry() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    write_raw_registry(&sandbox, b"\x89PNG\r\n\x1a\n not a registry");

    sandbox.start_shell(&id, "echo after the repair");

    let task = sandbox.wait_for_end(&id);
    assert_eq!(task["status"], "completed", "{task:#}");
    let tasks = sandbox.registry()["tasks"].clone();
    assert_eq!(
        tasks.as_object().map(|tasks| tasks.len()),
        Some(1),
        "{tasks:#}"
    );
    assert_eq!(corrupt_copies(&sandbox).len(), 1);
}

#[test]
fn daemon_moves_corrupt_registry_aside() {
    let mut sandbox = Sandbox::new();
    let attached = sandbox.id("A1");
    let daemon = sandbox.spawn_daemon(&["--interval", "300"]);
    sandbox.wait_for_daemon(daemon);
    let garbage: &[u8] = b"{\"tasks\": oops";

    write_raw_registry(&sandbox, garbage);

    common::wait_until(
        common::EVENT_DEADLINE,
        "a copy of the corrupt registry",
        || corrupt_copies(&sandbox).len() == 1,
    );
    assert_eq!(
        fs::read(&corrupt_copies(&sandbox)[0]).expect("read the copy"),
        garbage
    );
    let pid = sandbox.spawn_sleeper(300);
    sandbox
        .cmd(&[
            "register",
            &attached,
            "--command",
            "sleep",
            "--pid",
            &pid.to_string(),
        ])
        .success();
    assert!(send_signal(pid, libc::SIGKILL));
    sandbox.reap(pid);
    let task = sandbox.wait_for_end(&attached);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
}

/// Task records of the wrong shape, keyed by id, and one valid logical task.
struct MixedRegistry {
    bad: Vec<(String, Value)>,
    good: String,
}

/// Writes a registry with three records of the wrong shape and one valid task.
fn write_mixed_registry(sandbox: &Sandbox) -> MixedRegistry {
    let started_at = Utc::now().to_rfc3339();
    let bad = vec![
        (
            sandbox.id("BadStatus"),
            json!({"mode": "native", "command": "x", "status": 5, "started_at": started_at, "wave": 2}),
        ),
        (
            sandbox.id("BadNative"),
            json!({"mode": "native", "command": "y", "status": "running", "started_at": started_at, "native": "x"}),
        ),
        (sandbox.id("BadNumber"), json!(3)),
    ];
    let good = sandbox.id("Good");
    let mut tasks = serde_json::Map::new();
    for (id, record) in &bad {
        tasks.insert(id.clone(), record.clone());
    }
    tasks.insert(
        good.clone(),
        json!({"mode": "native", "command": "review", "status": "running", "started_at": started_at, "constitution_rules": []}),
    );
    sandbox.write_registry(&json!({"tasks": tasks, "dev_kid_version": "2.0"}));
    MixedRegistry { bad, good }
}

/// Asserts that each bad record is still in the registry, unchanged as JSON.
#[track_caller]
fn assert_bad_records_kept(sandbox: &Sandbox, mixed: &MixedRegistry, context: &str) {
    let registry = sandbox.registry();
    for (id, record) in &mixed.bad {
        assert_eq!(
            registry["tasks"].get(id),
            Some(record),
            "the record of {id} changed after {context}:\n{registry:#}"
        );
    }
}

#[test]
fn wrong_types_kept_after_register() {
    let sandbox = Sandbox::new();
    let mixed = write_mixed_registry(&sandbox);
    let other = sandbox.id("Other");

    sandbox
        .cmd(&["register", &other, "--command", "z"])
        .success();

    assert_bad_records_kept(&sandbox, &mixed, "an unrelated register");
    assert_eq!(sandbox.task(&other)["command"], "z");
    assert_eq!(sandbox.registry()["dev_kid_version"], "2.0");
}

#[test]
fn wrong_types_spare_other_tasks() {
    let sandbox = Sandbox::new();
    let mixed = write_mixed_registry(&sandbox);
    let other = sandbox.id("Other");
    sandbox
        .cmd(&["register", &other, "--command", "z"])
        .success();

    sandbox.cmd(&["check", &mixed.good]).success();
    sandbox
        .cmd(&["check", &mixed.good, "--json"])
        .success()
        .json();
    sandbox.cmd(&["list"]).success();
    sandbox.cmd(&["list", "--json"]).success().json();
    sandbox.cmd(&["stats"]).success();
    sandbox.cmd(&["rehydrate", "--json"]).success().json();
    sandbox.cmd(&["complete", &mixed.good]).success();
    sandbox.cmd(&["kill", &other]).success();

    assert_eq!(sandbox.task(&mixed.good)["status"], "completed");
    assert_eq!(sandbox.task(&other)["status"], "cancelled");
    assert_bad_records_kept(&sandbox, &mixed, "commands on other tasks");
}

#[test]
fn wrong_types_named_by_check() {
    let sandbox = Sandbox::new();
    let mixed = write_mixed_registry(&sandbox);

    for (id, _) in &mixed.bad {
        let before = sandbox.registry_bytes();
        for args in [
            vec!["check", id.as_str()],
            vec!["check", id.as_str(), "--json"],
            vec!["kill", id.as_str()],
            vec!["complete", id.as_str()],
        ] {
            let output = sandbox.cmd(&args);

            assert_rejected(&output, id);
            assert_eq!(output.stdout, "", "`{}` printed to stdout", args.join(" "));
            assert_eq!(
                sandbox.registry_bytes(),
                before,
                "`{}` changed the registry",
                args.join(" ")
            );
        }
    }
}

#[test]
fn daemon_keeps_wrong_types() {
    let mut sandbox = Sandbox::new();
    let mixed = write_mixed_registry(&sandbox);
    let attached = sandbox.id("A1");
    let daemon = sandbox.spawn_daemon(&["--interval", "1"]);
    sandbox.wait_for_daemon(daemon);
    let pid = sandbox.spawn_sleeper(300);
    sandbox
        .cmd(&[
            "register",
            &attached,
            "--command",
            "sleep",
            "--pid",
            &pid.to_string(),
        ])
        .success();

    assert!(send_signal(pid, libc::SIGKILL));
    sandbox.reap(pid);

    let task = sandbox.wait_for_end(&attached);
    assert_eq!(task["status"], "failed", "{task:#}");
    assert_bad_records_kept(&sandbox, &mixed, "the daemon recorded an exit");
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
}
