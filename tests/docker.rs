//! Docker tasks against the real engine: launch and limits, exits learned from the
//! events stream (outside `docker kill`, OOM kills), `wait`, `kill`, `logs`, `check`,
//! attached containers, an exit while no daemon ran, and an unreachable engine.
//!
//! Tests that need an engine skip with a printed reason when none responds, unless
//! `TASK_WATCHDOG_REQUIRE_DOCKER=1`, which CI sets whenever `docker info` succeeds.

mod common;

use std::time::{Duration, Instant};

use common::docker::{MISSING_SOCKET, docker, fixture_or_skip};
use common::{EVENT_DEADLINE, Sandbox, run_to_end, wait_for};

/// How long an exit may take to reach the registry while the daemon runs. The
/// daemon usually records it within a few hundred milliseconds; the margin covers a
/// loaded CI machine.
const EXIT_DEADLINE: Duration = Duration::from_secs(5);

/// Starts `command` in a container for task `id` and returns the container id.
#[track_caller]
fn start_container(
    sandbox: &Sandbox,
    id: &str,
    image: &str,
    extra: &[&str],
    command: &[&str],
) -> String {
    let mut args = vec!["start", id, "--docker", "--image", image];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(command);
    sandbox.cmd(&args).success();
    let task = sandbox.task(id);
    task["docker"]["container_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no container id recorded: {task:#}"))
        .to_string()
}

#[test]
fn launch_sets_limits_name_labels_and_mount() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "launch_sets_limits_name_labels_and_mount")
    else {
        return;
    };
    let id = sandbox.id("T1");
    let workdir = sandbox.root().join("work");
    std::fs::create_dir_all(&workdir).unwrap();
    std::fs::write(workdir.join("marker.txt"), "from the host\n").unwrap();
    let workdir_text = workdir.display().to_string();

    let container = start_container(
        &sandbox,
        &id,
        &fixture.image,
        &[
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--workdir",
            &workdir_text,
            "--env",
            "GREETING=hello there",
        ],
        &["sh", "-c", "echo \"$GREETING\"; cat marker.txt; sleep 60"],
    );

    let task = sandbox.task(&id);
    assert_eq!(task["mode"], "docker");
    assert_eq!(task["status"], "running");
    assert_eq!(task["docker"]["container_name"], format!("dev-task-{id}"));
    assert_eq!(task["docker"]["resource_limits"]["memory"], "64m");
    assert_eq!(task["docker"]["resource_limits"]["cpu"], "0.5");
    assert_eq!(
        fixture.inspect(&container, "{{.HostConfig.Memory}}"),
        "67108864"
    );
    assert_eq!(
        fixture.inspect(&container, "{{.HostConfig.NanoCpus}}"),
        "500000000"
    );
    assert_eq!(
        fixture.inspect(&container, "{{.Name}}"),
        format!("/dev-task-{id}")
    );
    assert_eq!(
        fixture.inspect(
            &container,
            "{{index .Config.Labels \"task-watchdog.task\"}}"
        ),
        id
    );
    assert_eq!(
        fixture.inspect(
            &container,
            "{{index .Config.Labels \"task-watchdog.registry\"}}"
        ),
        sandbox.registry_path().display().to_string()
    );
    assert_eq!(
        fixture.inspect(&container, "{{json .Config.Cmd}}"),
        r#"["sh","-c","echo \"$GREETING\"; cat marker.txt; sleep 60"]"#,
        "the command passes as a list, not through a shell"
    );
    assert_eq!(
        fixture.inspect(&container, "{{range .HostConfig.Binds}}{{.}}{{end}}"),
        format!("{workdir_text}:/workspace")
    );

    let output = wait_for(EVENT_DEADLINE, "the container's output", || {
        let output = sandbox.cmd(&["logs", &id]);
        output.stdout.contains("from the host").then_some(output)
    });
    assert_eq!(output.stdout, "hello there\nfrom the host\n");
}

#[test]
fn outside_docker_kill_recorded_as_137() {
    let mut sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "outside_docker_kill_recorded_as_137") else {
        return;
    };
    let daemon = sandbox.spawn_daemon(&[]);
    sandbox.wait_for_daemon(daemon);
    let id = sandbox.id("T1");
    let container = start_container(&sandbox, &id, &fixture.image, &[], &["sleep", "300"]);

    let killed_at = Instant::now();
    docker(&["kill", &container]).success();
    let task = wait_for(
        EXIT_DEADLINE,
        "the daemon to record the docker kill",
        || {
            let task = sandbox.task(&id);
            (task["status"] != "running").then_some(task)
        },
    );
    let latency = killed_at.elapsed();
    eprintln!("docker kill reached the registry after {latency:?}");

    assert_eq!(task["status"], "failed", "{task:#}");
    assert_eq!(task["exit_code"], 137, "{task:#}");
    assert_eq!(task["oom_killed"], false, "{task:#}");
    assert!(task["completed_at"].is_string(), "{task:#}");
    let stderr = sandbox.daemon_stderr();
    assert_eq!(
        stderr.matches("connected to the Docker engine").count(),
        1,
        "the connection is logged once:\n{stderr}"
    );
}

#[test]
fn wait_returns_container_exit_code() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "wait_returns_container_exit_code") else {
        return;
    };
    let id = sandbox.id("T1");
    start_container(
        &sandbox,
        &id,
        &fixture.image,
        &[],
        &["sh", "-c", "sleep 1; exit 7"],
    );

    let output = sandbox.cmd(&["wait", &id]);

    assert_eq!(output.code, Some(7), "{output:#?}");
    let task = sandbox.task(&id);
    assert_eq!(
        task["status"], "failed",
        "wait records the end with no daemon"
    );
    assert_eq!(task["exit_code"], 7);
}

#[test]
fn wait_returns_zero_for_completed_container() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "wait_returns_zero_for_completed_container")
    else {
        return;
    };
    let id = sandbox.id("T1");
    start_container(&sandbox, &id, &fixture.image, &[], &["true"]);

    let output = sandbox.cmd(&["wait", &id]);

    assert_eq!(output.code, Some(0), "{output:#?}");
    assert_eq!(sandbox.task(&id)["status"], "completed");
}

#[test]
fn oom_kill_recorded() {
    let mut sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "oom_kill_recorded") else {
        return;
    };
    let daemon = sandbox.spawn_daemon(&[]);
    sandbox.wait_for_daemon(daemon);
    let id = sandbox.id("T1");

    // busybox tail keeps the last lines in memory, and /dev/zero has no line end,
    // so it grows until the 8 MiB limit (swap included) ends it.
    let container = start_container(
        &sandbox,
        &id,
        &fixture.image,
        &["--memory", "8m"],
        &["tail", "/dev/zero"],
    );
    let task = sandbox.wait_for_end(&id);

    assert_eq!(
        fixture.inspect(&container, "{{.State.OOMKilled}}"),
        "true",
        "the engine saw the OOM kill"
    );
    assert_eq!(task["oom_killed"], true, "{task:#}");
    assert_eq!(task["exit_code"], 137, "{task:#}");
    assert_eq!(task["status"], "failed", "{task:#}");
    let check = sandbox.cmd(&["check", &id]).success();
    assert!(check.stdout.contains("out of memory"), "{check:#?}");
}

#[test]
fn exit_while_daemon_stopped_recorded_at_start() {
    let mut sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "exit_while_daemon_stopped_recorded_at_start")
    else {
        return;
    };
    let id = sandbox.id("T1");
    let container = start_container(&sandbox, &id, &fixture.image, &[], &["sh", "-c", "exit 3"]);
    wait_for(EVENT_DEADLINE, "the container to exit", || {
        (fixture.inspect(&container, "{{.State.Status}}") == "exited").then_some(())
    });
    assert_eq!(
        sandbox.task(&id)["status"],
        "running",
        "nothing recorded the exit yet"
    );

    let started_at = Instant::now();
    let daemon = sandbox.spawn_daemon(&[]);
    let task = wait_for(EXIT_DEADLINE, "the daemon to reconcile the exit", || {
        let task = sandbox.task(&id);
        (task["status"] != "running").then_some(task)
    });
    eprintln!(
        "recorded {:?} after the daemon started",
        started_at.elapsed()
    );

    assert_eq!(task["status"], "failed", "{task:#}");
    assert_eq!(task["exit_code"], 3, "{task:#}");
    assert!(common::is_running(daemon));
}

#[test]
fn kill_stops_container_and_records_cancelled() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "kill_stops_container_and_records_cancelled")
    else {
        return;
    };
    let id = sandbox.id("T1");
    let container = start_container(&sandbox, &id, &fixture.image, &[], &["sleep", "300"]);

    let output = sandbox.cmd(&["kill", &id, "--grace", "1s"]).success();

    assert!(output.stdout.contains("cancelled"), "{output:#?}");
    assert_eq!(fixture.inspect(&container, "{{.State.Running}}"), "false");
    let task = sandbox.task(&id);
    assert_eq!(task["status"], "cancelled", "{task:#}");
    // sleep runs as PID 1 of the container, which ignores SIGTERM, so SIGKILL ends it.
    assert_eq!(task["exit_code"], 137, "{task:#}");
}

#[test]
fn kill_delivers_chosen_signal() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "kill_delivers_chosen_signal") else {
        return;
    };
    let id = sandbox.id("T1");
    let script = "trap 'exit 5' INT; trap 'exit 6' TERM; while true; do sleep 0.2; done";
    start_container(&sandbox, &id, &fixture.image, &[], &["sh", "-c", script]);

    sandbox
        .cmd(&["kill", &id, "--signal", "INT", "--grace", "10s"])
        .success();

    let task = sandbox.task(&id);
    assert_eq!(task["status"], "cancelled", "{task:#}");
    assert_eq!(
        task["exit_code"], 5,
        "the INT trap ran, not TERM or KILL: {task:#}"
    );
}

#[test]
fn complete_stops_container_and_records_completed() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "complete_stops_container_and_records_completed")
    else {
        return;
    };
    let id = sandbox.id("T1");
    let container = start_container(&sandbox, &id, &fixture.image, &[], &["sleep", "300"]);

    sandbox.cmd(&["complete", &id]).success();

    assert_eq!(fixture.inspect(&container, "{{.State.Running}}"), "false");
    assert_eq!(sandbox.task(&id)["status"], "completed");
}

#[test]
fn rehydrate_lists_running_and_ended_containers() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "rehydrate_lists_running_and_ended_containers")
    else {
        return;
    };
    let running = sandbox.id("T1");
    let ended = sandbox.id("T2");
    start_container(&sandbox, &running, &fixture.image, &[], &["sleep", "300"]);
    start_container(
        &sandbox,
        &ended,
        &fixture.image,
        &[],
        &["sh", "-c", "exit 4"],
    );
    sandbox.cmd(&["wait", &ended]).code(4);

    let output = sandbox.cmd(&["rehydrate"]).success();

    assert!(
        output
            .stdout
            .contains(&format!("container dev-task-{running}")),
        "{output:#?}"
    );
    assert!(output.stdout.contains("exit 4"), "{output:#?}");
}

#[test]
fn logs_tail_prints_last_lines() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "logs_tail_prints_last_lines") else {
        return;
    };
    let id = sandbox.id("T1");
    start_container(
        &sandbox,
        &id,
        &fixture.image,
        &[],
        &["sh", "-c", "echo one; echo two; echo three"],
    );
    sandbox.cmd(&["wait", &id]).success();

    let all = sandbox.cmd(&["logs", &id]).success();
    let tail = sandbox.cmd(&["logs", &id, "--tail", "2"]).success();

    assert_eq!(all.stdout, "one\ntwo\nthree\n");
    assert_eq!(tail.stdout, "two\nthree\n");
}

#[test]
fn logs_follow_ends_with_container() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "logs_follow_ends_with_container") else {
        return;
    };
    let id = sandbox.id("T1");
    start_container(
        &sandbox,
        &id,
        &fixture.image,
        &[],
        &["sh", "-c", "echo first; sleep 2; echo last"],
    );

    let output = sandbox.cmd(&["logs", &id, "--follow"]).success();

    assert_eq!(output.stdout, "first\nlast\n");
}

#[test]
fn check_reports_container_state_and_usage() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "check_reports_container_state_and_usage") else {
        return;
    };
    let id = sandbox.id("T1");
    start_container(
        &sandbox,
        &id,
        &fixture.image,
        &["--memory", "32m"],
        &["sh", "-c", "echo ready; sleep 60"],
    );

    let check = sandbox.cmd(&["check", &id, "--json"]).success().json();
    let report = sandbox.cmd(&["report", "--json"]).success().json();

    assert_eq!(check["alive"], true, "{check:#}");
    let observed = &check["observed"]["container"];
    assert_eq!(observed["state"], "running", "{check:#}");
    assert_eq!(observed["memory_limit"], 32 * 1024 * 1024, "{check:#}");
    assert!(
        observed["memory_bytes"]
            .as_u64()
            .is_some_and(|bytes| bytes > 0),
        "{check:#}"
    );
    assert!(observed["cpu_percent"].is_number(), "{check:#}");
    let row = report
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("no report row for {id}: {report:#}"));
    assert_eq!(row["alive"], true, "{row:#}");
    assert!(
        row["rss_bytes"].as_u64().is_some_and(|bytes| bytes > 0),
        "{row:#}"
    );
}

#[test]
fn attached_container_exit_recorded() {
    let mut sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "attached_container_exit_recorded") else {
        return;
    };
    let name = format!("tw-attached-{}", sandbox.id("c").to_ascii_lowercase());
    let created = docker(&[
        "run",
        "--detach",
        "--name",
        &name,
        &fixture.image,
        "sleep",
        "300",
    ])
    .success();
    let container = created.stdout.trim().to_string();
    fixture.track(&container);
    let daemon = sandbox.spawn_daemon(&[]);
    sandbox.wait_for_daemon(daemon);
    let id = sandbox.id("T1");

    sandbox
        .cmd(&[
            "register",
            &id,
            "--command",
            "sleep 300",
            "--container",
            &name,
        ])
        .success();
    let task = sandbox.task(&id);
    assert_eq!(task["mode"], "docker");
    assert_eq!(task["docker"]["container_id"], container.as_str());
    assert_eq!(task["docker"]["container_name"], name.as_str());

    docker(&["kill", "--signal", "KILL", &container]).success();
    let task = wait_for(
        EXIT_DEADLINE,
        "the daemon to record the attached container's exit",
        || {
            let task = sandbox.task(&id);
            (task["status"] != "running").then_some(task)
        },
    );
    assert_eq!(task["exit_code"], 137, "{task:#}");
}

#[test]
fn attaching_exited_container_records_end() {
    let mut sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "attaching_exited_container_records_end") else {
        return;
    };
    let created = docker(&["run", "--detach", &fixture.image, "sh", "-c", "exit 5"]).success();
    let container = created.stdout.trim().to_string();
    fixture.track(&container);
    wait_for(EVENT_DEADLINE, "the container to exit", || {
        (fixture.inspect(&container, "{{.State.Status}}") == "exited").then_some(())
    });
    let daemon = sandbox.spawn_daemon(&[]);
    sandbox.wait_for_daemon(daemon);
    let id = sandbox.id("T1");

    sandbox
        .cmd(&[
            "register",
            &id,
            "--command",
            "exit 5",
            "--container",
            &container,
        ])
        .success();
    let task = wait_for(
        EXIT_DEADLINE,
        "the daemon to reconcile the attached container",
        || {
            let task = sandbox.task(&id);
            (task["status"] != "running").then_some(task)
        },
    );

    assert_eq!(task["exit_code"], 5, "{task:#}");
    assert_eq!(task["status"], "failed", "{task:#}");
}

#[test]
fn cleanup_removes_ended_container() {
    let sandbox = Sandbox::new();
    let Some(fixture) = fixture_or_skip(&sandbox, "cleanup_removes_ended_container") else {
        return;
    };
    let id = sandbox.id("T1");
    let container = start_container(&sandbox, &id, &fixture.image, &[], &["true"]);
    sandbox.cmd(&["wait", &id]).success();

    let output = sandbox
        .cmd(&["cleanup", "--days", "0", "--json"])
        .success()
        .json();

    assert_eq!(
        output["containers_removed"][0],
        container.as_str(),
        "{output:#}"
    );
    let inspected = docker(&["inspect", &container]);
    assert_ne!(
        inspected.code,
        Some(0),
        "the container is gone: {inspected:#?}"
    );
}

#[test]
fn unreachable_engine_fails_with_one_line() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let mut command = sandbox.command(common::WATCHDOG);
    command
        .env("DOCKER_HOST", MISSING_SOCKET)
        .args(["start", &id, "--docker", "--image", "busybox", "--", "true"]);

    let output = run_to_end(command, common::COMMAND_DEADLINE);

    assert_eq!(output.code, Some(1), "{output:#?}");
    assert_eq!(output.stderr.lines().count(), 1, "{output:#?}");
    assert!(
        output.stderr.contains(MISSING_SOCKET),
        "names the endpoint: {output:#?}"
    );
    assert!(
        output.stderr.contains("DOCKER_HOST"),
        "names the fix: {output:#?}"
    );
    assert!(output.stdout.is_empty(), "{output:#?}");
}

#[test]
fn unreachable_engine_read_commands_name_endpoint() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    sandbox.write_registry(&serde_json::json!({
        "tasks": {
            id.as_str(): {
                "mode": "docker",
                "command": "pytest",
                "status": "running",
                "started_at": "2026-01-10T12:00:00Z",
                "docker": {"container_id": "0123456789ab", "container_name": format!("dev-task-{id}")}
            }
        }
    }));

    for args in [
        vec!["logs", id.as_str()],
        vec!["check", id.as_str()],
        vec!["kill", id.as_str()],
    ] {
        let mut command = sandbox.command(common::WATCHDOG);
        command.env("DOCKER_HOST", MISSING_SOCKET).args(&args);
        let output = run_to_end(command, common::COMMAND_DEADLINE);
        assert_eq!(output.code, Some(1), "{args:?}: {output:#?}");
        assert_eq!(output.stderr.lines().count(), 1, "{args:?}: {output:#?}");
        assert!(
            output.stderr.contains(MISSING_SOCKET),
            "{args:?}: {output:#?}"
        );
    }
}

#[test]
fn daemon_without_engine_still_watches_native_tasks() {
    let mut sandbox = Sandbox::new();
    let daemon = sandbox.spawn_daemon_with(&[], |command| {
        command.env("DOCKER_HOST", MISSING_SOCKET);
    });
    sandbox.wait_for_daemon(daemon);
    let id = sandbox.id("T1");
    let pid = sandbox.spawn_sleeper(300);
    sandbox
        .cmd(&[
            "register",
            &id,
            "--command",
            "sleep 300",
            "--pid",
            &pid.to_string(),
        ])
        .success();

    assert!(common::send_signal(pid, libc::SIGKILL));
    sandbox.reap(pid);
    let task = sandbox.wait_for_end(&id);

    assert_eq!(task["status"], "failed", "{task:#}");
    assert!(
        common::is_running(daemon),
        "the daemon runs on without an engine"
    );
    let stderr = sandbox.daemon_stderr();
    assert_eq!(
        stderr.matches("no Docker engine").count(),
        1,
        "the missing engine is logged once, not per retry:\n{stderr}"
    );
    assert!(stderr.contains(MISSING_SOCKET), "{stderr}");
}
