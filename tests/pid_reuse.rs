//! A recorded PID whose identity (boot id and start time in clock ticks) does not
//! match the live process at that PID belongs to another process that reused the
//! number. `check` reports the task not alive and the PID reused, and `kill`,
//! `complete` and the daemon never signal that process.
//!
//! The tests attach a live sleeper and then shift its recorded `start_ticks`, which
//! is what a record looks like after its process exited and a new one got the PID.
//! The sleeper leads its own process group, so the recorded group is live too.

mod common;

use std::os::unix::process::CommandExt;
use std::time::Duration;

use chrono::Utc;

use common::{HELPER, Sandbox, Watched};

/// How long a test waits after a command before checking that the process was
/// spared: a signal sent by the command would have ended the sleeper well within it.
const SIGNAL_SETTLE: Duration = Duration::from_secs(1);

/// Spawns a sleeper that leads its own process group, attaches it as task `id`, and
/// adds `delta` to the recorded `native.start_ticks`. Returns the live sleeper.
fn attach_with_other_identity(sandbox: &mut Sandbox, id: &str, delta: i64) -> Watched {
    let mut command = sandbox.command(HELPER);
    command.args(["sleep", "300"]).process_group(0);
    let pid = sandbox.spawn(command) as i32;
    let sleeper = Watched::new(pid);
    sandbox
        .cmd(&[
            "register",
            id,
            "--command",
            "sleep 300",
            "--pid",
            &pid.to_string(),
        ])
        .success();

    let mut registry = sandbox.registry();
    let native = &mut registry["tasks"][id]["native"];
    assert_eq!(
        native["pgid"], pid,
        "the sleeper leads its group: {native:#}"
    );
    let ticks = native["start_ticks"].as_i64().expect("native.start_ticks");
    native["start_ticks"] = (ticks + delta).into();
    sandbox.write_registry(&registry);
    sleeper
}

#[test]
fn check_json_reports_pid_reused() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("A1");
    let sleeper = attach_with_other_identity(&mut sandbox, &id, 1);

    let view = sandbox.cmd(&["check", &id, "--json"]).success().json();

    assert_eq!(view["alive"], false, "{view:#}");
    assert_eq!(view["observed"]["pid_reused"], true, "{view:#}");
    assert!(sleeper.is_running(), "check never signals");
}

#[test]
fn check_human_says_pid_reused() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("A1");
    let sleeper = attach_with_other_identity(&mut sandbox, &id, 1);

    let output = sandbox.cmd(&["check", &id]).success();

    assert!(
        output.stdout.contains("reused"),
        "the output says the PID was reused: {output:#?}"
    );
    assert!(sleeper.is_running(), "check never signals");
}

/// A later start time (`+1`) and an earlier one (`-1`) both mean another process.
#[test]
fn kill_spares_reused_pid() {
    let mut sandbox = Sandbox::new();
    for (name, delta) in [("A1", 1), ("A2", -1)] {
        let id = sandbox.id(name);
        let sleeper = attach_with_other_identity(&mut sandbox, &id, delta);

        let output = sandbox.cmd(&["kill", &id]);

        std::thread::sleep(SIGNAL_SETTLE);
        assert!(
            sleeper.is_running(),
            "kill signalled PID {} whose start_ticks differ by {delta} from the record: {output:#?}",
            sleeper.pid
        );
    }
}

#[test]
fn kill_signal_kill_spares_reused_pid() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("A1");
    let sleeper = attach_with_other_identity(&mut sandbox, &id, 1);

    let output = sandbox.cmd(&["kill", &id, "--signal", "KILL"]);

    std::thread::sleep(SIGNAL_SETTLE);
    assert!(
        sleeper.is_running(),
        "kill --signal KILL signalled PID {}: {output:#?}",
        sleeper.pid
    );
}

#[test]
fn complete_spares_reused_pid() {
    let mut sandbox = Sandbox::new();
    for (name, delta) in [("A1", 1), ("A2", -1)] {
        let id = sandbox.id(name);
        let sleeper = attach_with_other_identity(&mut sandbox, &id, delta);

        let output = sandbox.cmd(&["complete", &id]);

        std::thread::sleep(SIGNAL_SETTLE);
        assert!(
            sleeper.is_running(),
            "complete signalled PID {} whose start_ticks differ by {delta} from the record: {output:#?}",
            sleeper.pid
        );
    }
}

/// The daemon finds a running task whose PID now belongs to another process. It may
/// record the task ended, but must not signal the process.
#[test]
fn daemon_spares_reused_pid_of_running_task() {
    let mut sandbox = Sandbox::new();
    let id = sandbox.id("A1");
    let sleeper = attach_with_other_identity(&mut sandbox, &id, 1);
    let daemon = sandbox.spawn_daemon(&["--interval", "1"]);
    sandbox.wait_for_daemon(daemon);

    let task = sandbox.wait_for_end(&id);

    // Several more sweeps pass while this sleeps.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        sleeper.is_running(),
        "the daemon signalled PID {} after recording {task:#}; its stderr:\n{}",
        sleeper.pid,
        sandbox.daemon_stderr()
    );
}

/// The sweep ends leftovers of ended tasks. A recorded PID that now belongs to
/// another process is no leftover, even when that process leads the recorded group.
#[test]
fn sweep_spares_reused_pid_of_ended_task() {
    let mut sandbox = Sandbox::new();
    let mut sleepers = Vec::new();
    for (name, delta) in [("A1", 1), ("A2", -1)] {
        let id = sandbox.id(name);
        sleepers.push(attach_with_other_identity(&mut sandbox, &id, delta));
        let mut registry = sandbox.registry();
        registry["tasks"][&id]["status"] = "completed".into();
        registry["tasks"][&id]["exit_code"] = 0.into();
        registry["tasks"][&id]["completed_at"] = Utc::now().to_rfc3339().into();
        sandbox.write_registry(&registry);
    }
    let daemon = sandbox.spawn_daemon(&["--interval", "1"]);
    sandbox.wait_for_daemon(daemon);

    // The start-up sweep and several periodic ones pass while this sleeps.
    std::thread::sleep(Duration::from_secs(3));

    for sleeper in &sleepers {
        assert!(
            sleeper.is_running(),
            "the sweep signalled PID {}; daemon stderr:\n{}",
            sleeper.pid,
            sandbox.daemon_stderr()
        );
    }
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
}
