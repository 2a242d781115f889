//! Registry writes survive crashes and concurrency. SIGKILL of any writer (CLI,
//! monitor, daemon) at any moment leaves a registry that parses and contains every
//! change reported done, and concurrent writers never lose each other's records.
//!
//! Killed writers may leave `.process_registry.tmp-<PID>` files behind; only the
//! registry itself must be whole.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use common::{COMMAND_DEADLINE, HELPER, Sandbox, WATCHDOG, send_signal, wait_for};

/// The maximum random delay before a writer is killed.
const MAX_KILL_DELAY_MS: u64 = 20;

/// The environment variable that sets the seed of the kill delays, to replay a run.
const SEED_VARIABLE: &str = "TW_TEST_KILL_SEED";

/// A small xorshift generator for kill delays. Each test prints its seed, and
/// [`SEED_VARIABLE`] replays it.
struct Jitter(u64);

impl Jitter {
    /// Seeds the generator from [`SEED_VARIABLE`], or else from the clock.
    fn new() -> Self {
        let from_clock = || {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos() as u64)
                .unwrap_or(1);
            nanos ^ u64::from(std::process::id())
        };
        let seed = std::env::var(SEED_VARIABLE)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(from_clock)
            | 1;
        println!("kill-delay seed: {seed} (set {SEED_VARIABLE}={seed} to replay it)");
        Jitter(seed)
    }

    /// Returns a delay from 0 to `MAX_KILL_DELAY_MS` milliseconds.
    fn delay(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(self.0 % (MAX_KILL_DELAY_MS + 1))
    }
}

/// Waits for `child` to exit within `COMMAND_DEADLINE` and returns its status.
#[track_caller]
fn wait_child(child: &mut Child, description: &str) -> ExitStatus {
    wait_for(COMMAND_DEADLINE, description, || {
        child.try_wait().expect("try_wait")
    })
}

/// Spawns `task-watchdog ARGS` in the sandbox with its output discarded, waits
/// `delay`, sends SIGKILL and returns how it ended.
fn run_and_kill(sandbox: &Sandbox, args: &[&str], delay: Duration) -> ExitStatus {
    let mut command = sandbox.command(WATCHDOG);
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("spawn task-watchdog");
    std::thread::sleep(delay);
    // The child is ours and not yet reaped, so its PID cannot have been reused.
    send_signal(child.id() as i32, libc::SIGKILL);
    wait_child(
        &mut child,
        &format!("`task-watchdog {}` to end", args.join(" ")),
    )
}

/// Asserts that the registry parses and contains every id in `done`. With nothing
/// done yet, a missing registry is whole too.
#[track_caller]
fn assert_registry_whole(sandbox: &Sandbox, done: &[String], context: &str) -> Value {
    let bytes = sandbox.registry_bytes();
    if bytes.is_empty() && done.is_empty() {
        return Value::Null;
    }
    let registry: Value = serde_json::from_slice(&bytes).unwrap_or_else(|error| {
        panic!(
            "the registry does not parse after {context} ({error}):\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    for id in done {
        assert!(
            registry["tasks"].get(id).is_some(),
            "task {id}, reported done, is missing after {context}:\n{registry:#}"
        );
    }
    registry
}

#[test]
fn concurrent_registers_all_recorded() {
    let sandbox = Sandbox::new();
    let ids: Vec<String> = (0..40).map(|n| sandbox.id(&format!("R{n}"))).collect();

    let mut children: Vec<(String, Child)> = ids
        .iter()
        .map(|id| {
            let mut command = sandbox.command(WATCHDOG);
            command
                .args(["register", id, "--command", &format!("job {id}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            (id.clone(), command.spawn().expect("spawn register"))
        })
        .collect();
    for (id, child) in &mut children {
        let status = wait_child(child, &format!("register {id} to exit"));
        let mut stderr = String::new();
        if let Some(pipe) = child.stderr.as_mut() {
            let _ = std::io::Read::read_to_string(pipe, &mut stderr);
        }
        assert_eq!(status.code(), Some(0), "register {id} failed: {stderr}");
    }

    let registry = sandbox.registry();
    let tasks = registry["tasks"].as_object().expect("tasks is an object");
    assert_eq!(
        tasks.len(),
        40,
        "every register left its record: {registry:#}"
    );
    for id in &ids {
        assert_eq!(
            registry["tasks"][id]["command"],
            format!("job {id}"),
            "{registry:#}"
        );
    }
    let registered = common::events_of_kind(&sandbox, "registered");
    assert_eq!(
        registered.len(),
        40,
        "the event log has one whole line per register: {registered:#?}"
    );
}

#[test]
fn sigkilled_register_keeps_registry_whole() {
    let sandbox = Sandbox::new();
    let mut jitter = Jitter::new();
    let mut done = Vec::new();
    let mut killed = 0;

    for round in 0..30 {
        let id = sandbox.id(&format!("K{round}"));
        let delay = jitter.delay();
        let status = run_and_kill(&sandbox, &["register", &id, "--command", "x"], delay);
        if status.code() == Some(0) {
            done.push(id);
        } else {
            killed += 1;
        }
        assert_registry_whole(
            &sandbox,
            &done,
            &format!("round {round}: register killed after {delay:?} ({status})"),
        );

        if round % 5 == 0 {
            let finished = sandbox.id(&format!("D{round}"));
            sandbox
                .cmd(&["register", &finished, "--command", "y"])
                .success();
            done.push(finished);
        }
    }
    println!("{killed} of 30 register calls were killed before they finished");
    assert_registry_whole(&sandbox, &done, "the last round");
}

/// Kills `start` at a random moment and, when it got far enough to record a
/// monitor, kills that monitor too, possibly while it records the exit.
#[test]
fn sigkilled_start_and_monitor_keep_registry_whole() {
    let sandbox = Sandbox::new();
    let mut jitter = Jitter::new();
    let mut done = Vec::new();
    let mut monitors_killed = 0;

    for round in 0..20 {
        let id = sandbox.id(&format!("S{round}"));
        let delay = jitter.delay();
        let status = run_and_kill(&sandbox, &["start", &id, "--", HELPER, "exit", "0"], delay);
        if status.code() == Some(0) {
            done.push(id.clone());
        }
        let context = format!("round {round}: start killed after {delay:?} ({status})");
        let registry = assert_registry_whole(&sandbox, &done, &context);

        if let Some(monitor) = registry["tasks"].get(&id).map(|task| &task["monitor"])
            && let (Some(pid), Some(ticks)) =
                (monitor["pid"].as_i64(), monitor["start_ticks"].as_u64())
        {
            std::thread::sleep(jitter.delay());
            if kill_if_same(&sandbox, pid as i32, ticks) {
                monitors_killed += 1;
            }
            assert_registry_whole(
                &sandbox,
                &done,
                &format!("{context}, then its monitor killed"),
            );
        }
    }
    println!(
        "{} of 20 start calls finished before the kill; {monitors_killed} monitors were killed while running",
        done.len()
    );
}

/// Sends SIGKILL to `pid` only while it is the same process the record names and
/// carries this sandbox's marker, so a reused PID is never hit. Returns whether it
/// sent the signal.
fn kill_if_same(sandbox: &Sandbox, pid: i32, recorded_ticks: u64) -> bool {
    let marker = format!("{}={}", common::SANDBOX_MARKER, sandbox.root().display());
    common::start_ticks(pid) == Some(recorded_ticks)
        && common::is_running(pid)
        && common::environment_of(pid).contains(&marker)
        && send_signal(pid, libc::SIGKILL)
}

/// Kills the daemon while it records a burst of exits, restarts it, and checks
/// that every exit recorded before the kill is still recorded the same way.
#[test]
fn sigkilled_daemon_loses_no_recorded_exit() {
    let mut sandbox = Sandbox::new();
    let mut jitter = Jitter::new();
    let mut done = Vec::new();

    for round in 0..3 {
        let mut attached = Vec::new();
        for n in 0..10 {
            let id = sandbox.id(&format!("A{round}x{n}"));
            let pid = sandbox.spawn_sleeper(300);
            sandbox
                .cmd(&[
                    "register",
                    &id,
                    "--command",
                    "sleep",
                    "--pid",
                    &pid.to_string(),
                ])
                .success();
            done.push(id.clone());
            attached.push((id, pid));
        }
        let daemon = sandbox.spawn_daemon(&["--interval", "300"]);
        sandbox.wait_for_daemon(daemon);

        for (_, pid) in &attached {
            assert!(send_signal(*pid, libc::SIGKILL));
        }
        for (_, pid) in &attached {
            sandbox.reap(*pid);
        }
        let delay = jitter.delay();
        std::thread::sleep(delay);
        assert!(send_signal(daemon, libc::SIGKILL));
        sandbox.wait_for_exit(daemon, COMMAND_DEADLINE);

        let context = format!("round {round}: daemon killed {delay:?} after the exits");
        let snapshot = assert_registry_whole(&sandbox, &done, &context);
        let recorded: BTreeMap<String, Value> = snapshot["tasks"]
            .as_object()
            .expect("tasks is an object")
            .iter()
            .filter(|(_, task)| task["status"] != "running")
            .map(|(id, task)| (id.clone(), task.clone()))
            .collect();
        let recorded_this_round = attached
            .iter()
            .filter(|(id, _)| recorded.contains_key(id))
            .count();

        let restarted = sandbox.spawn_daemon(&["--interval", "300"]);
        let started = Instant::now();
        for (id, _) in &attached {
            let task = sandbox.wait_for_end(id);
            assert_eq!(task["status"], "failed", "{task:#}");
        }
        println!(
            "round {round}: {recorded_this_round} of {} exits recorded before the kill, the rest within {:?} of the restart",
            attached.len(),
            started.elapsed()
        );

        let registry = assert_registry_whole(&sandbox, &done, &context);
        for (id, before) in &recorded {
            for field in ["status", "exit_code", "signal", "completed_at", "reason"] {
                assert_eq!(
                    registry["tasks"][id][field], before[field],
                    "{context}: {id}.{field} changed after the restart:\n{:#}",
                    registry["tasks"][id]
                );
            }
        }
        assert!(send_signal(restarted, libc::SIGKILL));
        sandbox.wait_for_exit(restarted, COMMAND_DEADLINE);
    }
}
