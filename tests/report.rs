//! `report`: CPU and memory per running task.

mod common;

use common::{Sandbox, find_listed, record_mixed_tasks};

#[test]
fn report_lists_running_task() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["report"]).success();

    assert!(output.stdout.contains(&tasks.running), "{output:#?}");
    assert!(
        output.stdout.contains(&tasks.running_pid.to_string()),
        "{output:#?}"
    );
    assert!(
        !output.stdout.contains(&tasks.completed),
        "ended tasks are not reported: {output:#?}"
    );
}

#[test]
fn report_json_measures_running_task() {
    let sandbox = Sandbox::new();
    let tasks = record_mixed_tasks(&sandbox);

    let output = sandbox.cmd(&["report", "--json"]).success();

    let report = output.json();
    let entry = find_listed(&report, &tasks.running)
        .unwrap_or_else(|| panic!("{} is not reported: {report:#}", tasks.running));
    let text = entry.to_string();
    assert!(
        text.contains("cpu"),
        "the entry has a CPU figure: {entry:#}"
    );
    assert!(
        text.contains("rss") || text.contains("memory"),
        "the entry has a memory figure: {entry:#}"
    );
    assert!(
        find_listed(&report, &tasks.failed).is_none(),
        "ended tasks are not reported: {report:#}"
    );
}
