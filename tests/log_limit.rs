//! Bounded logs: `start ID --log-limit SIZE` caps `logs/<ID>.log` (default 8 MiB).
//! When the log would pass the limit it becomes `<ID>.log.1`, replacing an older
//! one, and a new `<ID>.log` starts. So at most twice the limit stays on disk, and
//! the newest output is always kept: the last line the task printed is the last
//! line of `<ID>.log`.
//!
//! The task is `tw-test-helper print-lines`, whose numbered lines the test rebuilds
//! byte for byte, so any lost, repeated or reordered byte shows.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{HELPER, LINE_BYTES, Sandbox, assert_rejected};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// The log limit when `--log-limit` is not given.
const DEFAULT_LIMIT: u64 = 8 * MIB;

/// The two log files of a task once its monitor has exited.
struct Logs {
    current: Vec<u8>,
    rotated: Option<Vec<u8>>,
}

fn rotated_path(sandbox: &Sandbox, id: &str) -> PathBuf {
    let mut path = sandbox.log_path(id).into_os_string();
    path.push(".1");
    PathBuf::from(path)
}

/// Starts `print-lines --bytes BYTES` as task `id` with `options` before `--`,
/// waits until it ended and its monitor exited, and reads both log files.
fn print_lines(sandbox: &Sandbox, id: &str, options: &[&str], bytes: u64) -> Logs {
    let bytes_text = bytes.to_string();
    let mut args = vec!["start", id];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--", HELPER, "print-lines", "--bytes", &bytes_text]);
    sandbox.cmd(&args).success();

    let task = common::wait_for(
        common::EVENT_DEADLINE * 3,
        &format!("task {id} to print {bytes} bytes and end"),
        || {
            let task = sandbox.registry()["tasks"].get(id).cloned()?;
            (task["status"] != "running").then_some(task)
        },
    );
    assert_eq!(task["status"], "completed", "{task:#}");
    let monitor = common::monitor_pid(&task);
    let monitor_ticks = task["monitor"]["start_ticks"].as_u64();
    common::wait_until(
        common::EVENT_DEADLINE,
        &format!("monitor {monitor} of {id} to exit"),
        || !common::is_running(monitor) || common::start_ticks(monitor) != monitor_ticks,
    );

    Logs {
        current: fs::read(sandbox.log_path(id)).expect("read <ID>.log"),
        rotated: fs::read(rotated_path(sandbox, id)).ok(),
    }
}

/// Describes a log's size and first and last lines, for failure messages.
fn describe(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_string();
    let last = text.lines().last().unwrap_or_default().to_string();
    format!(
        "{} bytes, first line {first:?}, last line {last:?}",
        bytes.len()
    )
}

/// Asserts everything the limit promises for `bytes` of output under `limit`.
#[track_caller]
fn assert_bounded(logs: &Logs, limit: u64, bytes: u64) {
    let expected = common::numbered_output(bytes);
    let current = &logs.current;
    let rotated = logs.rotated.as_ref().unwrap_or_else(|| {
        panic!(
            "no <ID>.log.1 after {bytes} bytes with a {limit}-byte limit; <ID>.log has {}",
            describe(current)
        )
    });

    assert!(
        current.len() as u64 <= limit,
        "<ID>.log passes the {limit}-byte limit: {}",
        describe(current)
    );
    assert!(
        rotated.len() as u64 <= limit,
        "<ID>.log.1 passes the {limit}-byte limit: {}",
        describe(rotated)
    );
    assert!(
        rotated.len() as u64 >= limit / 2,
        "<ID>.log.1 holds the previous log, not a fragment of it: {}",
        describe(rotated)
    );

    let last_line = common::numbered_line(bytes.div_ceil(LINE_BYTES) - 1);
    assert!(
        current.ends_with(last_line.as_bytes()),
        "the last line printed, {:?}, ends <ID>.log: {}",
        last_line.trim_end(),
        describe(current)
    );
    assert!(
        expected.ends_with(current),
        "<ID>.log is the newest output without gaps: {}",
        describe(current)
    );
    let mut both = rotated.clone();
    both.extend_from_slice(current);
    assert!(
        expected.ends_with(&both),
        "<ID>.log.1 followed by <ID>.log is the newest output without gaps: <ID>.log.1 has {}; <ID>.log has {}",
        describe(rotated),
        describe(current)
    );
}

#[test]
fn log_rotates_at_limit() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    let logs = print_lines(&sandbox, &id, &["--log-limit", "1M"], 8 * MIB);

    assert_bounded(&logs, MIB, 8 * MIB);
}

#[test]
fn default_limit_keeps_16_mib() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    let logs = print_lines(&sandbox, &id, &[], 64 * MIB);

    assert_bounded(&logs, DEFAULT_LIMIT, 64 * MIB);
    let on_disk = logs.current.len() + logs.rotated.as_ref().map_or(0, Vec::len);
    assert!(
        on_disk as u64 <= 2 * DEFAULT_LIMIT,
        "64 MiB of output left {on_disk} bytes on disk"
    );
}

#[test]
fn size_units_accepted() {
    let sandbox = Sandbox::new();
    for (name, text, limit) in [
        ("K", "512k", 512 * KIB),
        ("M", "1M", MIB),
        ("B", "1048576", MIB),
        ("MiB", "8MiB", 8 * MIB),
    ] {
        let id = sandbox.id(name);

        let logs = print_lines(&sandbox, &id, &["--log-limit", text], 3 * limit);

        assert_bounded(&logs, limit, 3 * limit);
    }
}

#[test]
fn output_under_limit_not_rotated() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    let logs = print_lines(&sandbox, &id, &["--log-limit", "1M"], 512 * KIB);

    assert_eq!(
        logs.current,
        common::numbered_output(512 * KIB),
        "<ID>.log holds all the output"
    );
    assert!(logs.rotated.is_none(), "nothing was rotated");
}

#[test]
fn malformed_log_limit_rejected() {
    let sandbox = Sandbox::new();
    sandbox
        .cmd(&["register", &sandbox.id("L1"), "--command", "review"])
        .success();

    for value in ["lots", "12parsecs", "M"] {
        let id = sandbox.id(&format!("T-{value}"));
        let before = sandbox.registry_bytes();

        let output = sandbox.cmd(&["start", &id, "--log-limit", value, "--", "true"]);

        assert_rejected(&output, value);
        assert_eq!(
            sandbox.registry_bytes(),
            before,
            "a rejected --log-limit {value} recorded something"
        );
        assert!(
            !sandbox.log_path(&id).exists(),
            "a rejected --log-limit {value} created a log"
        );
    }
}
