//! Limits: the daemon watches 2,000 attached processes at once and records every
//! exit. Each watched process costs the daemon one file descriptor (its pidfd), so
//! the daemon starts here with its soft open-file limit lowered to 1,024 and must
//! raise it to the hard limit to watch them all.

mod common;

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use common::{Sandbox, send_signal, wait_for, wait_until};

const COUNT: usize = 2000;

/// The soft open-file limit the daemon starts with, a common default.
const LOWERED_SOFT_LIMIT: libc::rlim_t = 1024;

/// How long the daemon may take to record all the exits.
const RECORD_DEADLINE: Duration = Duration::from_secs(60);

/// Reads the hard limit on open files of this process.
fn hard_open_file_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into `limit`, which outlives the call.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(result, 0, "getrlimit(RLIMIT_NOFILE) failed");
    limit.rlim_max
}

/// Reads the soft limit on open files of `pid` from `/proc/PID/limits`.
fn soft_open_file_limit(pid: i32) -> Option<libc::rlim_t> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    match line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
    {
        "unlimited" => Some(libc::RLIM_INFINITY),
        number => number.parse().ok(),
    }
}

#[test]
fn daemon_records_2000_exits() {
    let hard_limit = hard_open_file_limit();
    // Each watch needs a descriptor, and the daemon needs a few dozen of its own.
    if hard_limit < (COUNT + 100) as libc::rlim_t {
        println!(
            "skipped: the hard open-file limit is {hard_limit}, too low for the daemon to watch {COUNT} processes"
        );
        return;
    }
    let mut sandbox = Sandbox::new();

    let started = Instant::now();
    let mut pids = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        let mut command = sandbox.command("sleep");
        command.arg("600");
        pids.push(sandbox.spawn(command) as i32);
    }
    println!("spawned {COUNT} sleepers in {:?}", started.elapsed());

    let ids: Vec<String> = (0..COUNT).map(|n| sandbox.id(&format!("P{n}"))).collect();
    sandbox.write_registry(&attached_registry(&ids, &pids));

    let daemon = sandbox.spawn_daemon_with(&["--interval", "300"], |command| {
        // SAFETY: setrlimit is async-signal-safe and touches only the child, so it
        // may run between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: LOWERED_SOFT_LIMIT,
                    rlim_max: hard_limit,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    sandbox.wait_for_daemon(daemon);
    wait_until(
        RECORD_DEADLINE,
        "the daemon to log that it started watching",
        || sandbox.daemon_stderr().contains("daemon started"),
    );
    let started_line = sandbox
        .daemon_stderr()
        .lines()
        .find(|line| line.contains("daemon started"))
        .unwrap_or_default()
        .to_string();
    println!("{started_line}");
    assert_eq!(
        soft_open_file_limit(daemon),
        Some(hard_limit),
        "the daemon raised its soft open-file limit from {LOWERED_SOFT_LIMIT} to the hard limit"
    );

    for pid in &pids {
        assert!(send_signal(*pid, libc::SIGKILL), "PID {pid} was running");
    }
    for pid in &pids {
        sandbox.reap(*pid);
    }

    let killed = Instant::now();
    let registry = wait_for_all_ended(&sandbox, &ids);
    println!("{COUNT} exits recorded in {:?}", killed.elapsed());
    for id in &ids {
        let task = &registry["tasks"][id];
        assert_eq!(task["status"], "failed", "{id}: {task:#}");
        assert!(task["completed_at"].is_string(), "{id}: {task:#}");
    }
    assert!(
        common::is_running(daemon),
        "the daemon keeps running: {}",
        sandbox.daemon_stderr()
    );
}

/// Builds a registry with one running task attached to each process, as `register
/// --pid` records it, written in one go instead of 2,000 `register` calls.
fn attached_registry(ids: &[String], pids: &[i32]) -> Value {
    let boot_id = common::boot_id();
    let now = chrono::Utc::now().to_rfc3339();
    let mut tasks = Map::new();
    for (id, pid) in ids.iter().zip(pids) {
        let pgid = common::process_group(*pid).expect("the sleeper's process group");
        let start_ticks = common::start_ticks(*pid).expect("the sleeper's start time");
        tasks.insert(
            id.clone(),
            json!({
                "mode": "native",
                "command": "sleep 600",
                "status": "running",
                "started_at": now,
                "native": {
                    "pid": pid,
                    "pgid": pgid,
                    "start_time": now,
                    "boot_id": boot_id,
                    "start_ticks": start_ticks,
                },
            }),
        );
    }
    json!({ "tasks": tasks })
}

/// Waits until no task in `ids` is recorded running and returns the registry. On
/// timeout, the panic names how many are left and shows the daemon's last log lines.
#[track_caller]
fn wait_for_all_ended(sandbox: &Sandbox, ids: &[String]) -> Value {
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(RECORD_DEADLINE, "every exit to be recorded", || {
            let registry = sandbox.registry();
            ids.iter()
                .all(|id| registry["tasks"][id]["status"] != "running")
                .then_some(registry)
        })
    }));
    match found {
        Ok(registry) => registry,
        Err(_) => {
            let registry = sandbox.registry();
            let running = ids
                .iter()
                .filter(|id| registry["tasks"][id.as_str()]["status"] == "running")
                .count();
            let stderr = sandbox.daemon_stderr();
            let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            panic!(
                "{running} of {COUNT} tasks still recorded running after {RECORD_DEADLINE:?}; last daemon log lines, newest first:\n{}",
                tail.join("\n")
            );
        }
    }
}
