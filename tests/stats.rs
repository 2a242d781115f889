//! `stats`: task counts by status, in the lines dev-kid parses and as JSON.

mod common;

use common::{Output, Sandbox, record_mixed_tasks};

#[track_caller]
fn assert_lines(output: &Output, expected: &[&str]) {
    let lines: Vec<&str> = output.stdout.lines().map(str::trim).collect();
    for line in expected {
        assert!(
            lines.contains(line),
            "stats lacks the line {line:?}: {output:#?}"
        );
    }
}

#[test]
fn stats_prints_dev_kid_lines() {
    let sandbox = Sandbox::new();
    record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["stats"]).success();

    assert_lines(
        &output,
        &["Total tasks: 4", "Running: 2", "Completed: 1", "Failed: 1"],
    );
}

#[test]
fn stats_counts_cancelled_apart() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);
    sandbox.cmd(&["kill", &tasks.running]).success();

    let output = sandbox.cmd(&["stats"]).success();

    assert_lines(
        &output,
        &["Total tasks: 4", "Running: 1", "Completed: 1", "Failed: 1"],
    );
}

#[test]
fn stats_json_has_counts() {
    let sandbox = Sandbox::new();
    record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["stats", "--json"]).success();

    let counts = output.json();
    assert_eq!(counts["total"], 4, "{counts:#}");
    assert_eq!(counts["running"], 2, "{counts:#}");
    assert_eq!(counts["completed"], 1, "{counts:#}");
    assert_eq!(counts["failed"], 1, "{counts:#}");
}

#[test]
fn stats_empty_registry_counts_zero() {
    let sandbox = Sandbox::new();

    let output = sandbox.cmd(&["stats"]).success();

    assert_lines(
        &output,
        &["Total tasks: 0", "Running: 0", "Completed: 0", "Failed: 0"],
    );
}
