//! `rehydrate`: what is running and what ended, for an agent that lost its context.

mod common;

use common::{Sandbox, record_mixed_tasks};

#[test]
fn rehydrate_names_running_and_ended() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["rehydrate"]).success();

    for id in tasks.all() {
        assert!(
            output.stdout.contains(id),
            "rehydrate omits {id}: {output:#?}"
        );
    }
    assert!(
        output.stdout.contains("broke"),
        "the failed task's last output is shown: {output:#?}"
    );
}

#[test]
fn rehydrate_json_is_only_json() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["rehydrate", "--json"]).success();

    let summary = output.json();
    let text = summary.to_string();
    for id in tasks.all() {
        assert!(
            text.contains(&format!("\"{id}\"")),
            "rehydrate --json omits {id}: {summary:#}"
        );
    }
}

#[test]
fn rehydrate_markdown_has_headings() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["rehydrate", "--markdown"]).success();

    assert!(
        output.stdout.lines().any(|line| line.starts_with('#')),
        "no Markdown heading: {output:#?}"
    );
    for id in [&tasks.running, &tasks.failed] {
        assert!(
            output.stdout.contains(id.as_str()),
            "rehydrate --markdown omits {id}: {output:#?}"
        );
    }
}
