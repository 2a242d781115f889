//! Where the registry lives: `.claude/process_registry.json` under the current
//! directory, unless `TASK_WATCHDOG_REGISTRY` or `--registry` sets another path.

mod common;

use common::{COMMAND_DEADLINE, Sandbox, WATCHDOG, run_to_end};

#[test]
fn default_registry_under_cwd() {
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(WATCHDOG);
    command
        .env_remove("TASK_WATCHDOG_REGISTRY")
        .args(["register", "T1", "--command", "x"]);

    run_to_end(command, COMMAND_DEADLINE).success();

    assert_eq!(sandbox.task("T1")["command"], "x");
}

#[test]
fn environment_overrides_default() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.root().join("elsewhere").join("registry.json");
    let mut command = sandbox.command(WATCHDOG);
    command
        .env("TASK_WATCHDOG_REGISTRY", &elsewhere)
        .args(["register", "T1", "--command", "x"]);

    run_to_end(command, COMMAND_DEADLINE).success();

    assert!(
        elsewhere.exists(),
        "the registry is at {}",
        elsewhere.display()
    );
    assert!(
        !sandbox.registry_path().exists(),
        "the default path is unused"
    );
}

#[test]
fn flag_overrides_environment() {
    let sandbox = Sandbox::new();
    let flagged = sandbox.root().join("flagged.json");

    sandbox
        .cmd(&[
            "--registry",
            flagged.to_str().expect("UTF-8 path"),
            "register",
            "T1",
            "--command",
            "x",
        ])
        .success();

    assert!(flagged.exists(), "the registry is at {}", flagged.display());
    assert!(
        !sandbox.registry_path().exists(),
        "the environment's path is unused"
    );
}

#[test]
fn started_task_logs_beside_custom_registry() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let flagged = sandbox.root().join("state").join("tasks.json");

    sandbox
        .cmd(&[
            "--registry",
            flagged.to_str().expect("UTF-8 path"),
            "start",
            &id,
            "--command",
            "echo hi",
        ])
        .success();

    let log = sandbox
        .root()
        .join("state")
        .join("logs")
        .join(format!("{id}.log"));
    common::wait_until(
        common::EVENT_DEADLINE,
        &format!("{} to hold the output", log.display()),
        || std::fs::read_to_string(&log).is_ok_and(|text| text == "hi\n"),
    );
}
