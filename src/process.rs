//! The current state of a native task's recorded processes: whether the main
//! process is alive and is still the one recorded, which processes belong to the
//! task's tree, and their CPU and memory.

use std::collections::BTreeSet;

use task_watchdog_platform::identity::{self, Liveness};
use task_watchdog_platform::proc_table::{self, ProcStat, ProcessTable};
use task_watchdog_platform::tree::Target;
use task_watchdog_platform::{Pid, ProcessIdentity};

use crate::registry::{ProcessRef, Task};

/// The environment variable that gives every process of a launched task its id.
pub const TAG_VARIABLE: &str = "TASK_WATCHDOG_ID";

/// The environment variable that marks every process of one launch; its value is
/// the record's `launch_id`, unique across registries and runs.
pub const LAUNCH_VARIABLE: &str = "TASK_WATCHDOG_LAUNCH";

/// The state of a task's main process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessState {
    /// Running, with the recorded identity.
    Alive,
    /// Exited.
    Exited,
    /// The PID now belongs to another process.
    Reused,
    /// The task has no process (logical, or launched and not started yet).
    None,
    /// The state could not be read (an old record without identity, or an error).
    Unknown,
}

impl ProcessState {
    pub fn is_alive(self) -> bool {
        self == ProcessState::Alive
    }
}

/// The recorded main process and its identity, when the record has both.
pub fn main_process(task: &Task) -> Option<(Pid, ProcessIdentity)> {
    let native = task.native.as_ref()?;
    Some((
        native.pid,
        ProcessIdentity {
            boot_id: native.boot_id.clone()?,
            start_ticks: native.start_ticks?,
        },
    ))
}

/// Returns the recorded monitor and its identity.
pub fn monitor_process(task: &Task) -> Option<(Pid, ProcessIdentity)> {
    task.monitor.as_ref().map(process_ref)
}

pub fn process_ref(reference: &ProcessRef) -> (Pid, ProcessIdentity) {
    (
        reference.pid,
        ProcessIdentity {
            boot_id: reference.boot_id.clone(),
            start_ticks: reference.start_ticks,
        },
    )
}

/// True when the task's recorded monitor is alive with its recorded identity.
pub fn monitor_alive(task: &Task) -> bool {
    monitor_process(task).is_some_and(|(pid, identity)| state_of(pid, &identity).is_alive())
}

/// True when the task has a recorded monitor that is no longer alive.
pub fn monitor_lost(task: &Task) -> bool {
    task.monitor.is_some() && !monitor_alive(task)
}

/// Checks `pid` against `identity`, mapping errors to `Unknown`.
pub fn state_of(pid: Pid, expected: &ProcessIdentity) -> ProcessState {
    match identity::check(pid, expected) {
        Ok(Liveness::Alive) => ProcessState::Alive,
        Ok(Liveness::Gone) => ProcessState::Exited,
        Ok(Liveness::Reused) => ProcessState::Reused,
        Err(error) => {
            tracing::debug!(pid, %error, "cannot check process identity");
            ProcessState::Unknown
        }
    }
}

/// The identity-verified state of the task's main process.
pub fn main_state(task: &Task) -> ProcessState {
    match (main_process(task), &task.native) {
        (Some((pid, expected)), _) => state_of(pid, &expected),
        // A record from the earlier version has a PID but no identity: it cannot be
        // verified, so it is never reported alive.
        (None, Some(_)) => ProcessState::Unknown,
        (None, None) => ProcessState::None,
    }
}

/// Chooses the live processes that belong to `task`, each with the identity it has
/// now, so they can be signalled safely.
///
/// Members are: the main process and its descendants when its identity matches;
/// the monitor's descendants (the subreaper adopts escaped ones) when the monitor's
/// identity matches, not counting the monitor itself; members of the task's process
/// group while the task's main process leads it, or that carry the task's launch
/// tag; and, when `include_tagged`, every process whose environment carries
/// `TASK_WATCHDOG_LAUNCH=<launch id>`, which finds escaped descendants after the
/// monitor is gone.
///
/// The launch tag, not the task id, marks a task's processes: two projects may both
/// have a task `T001`, and a group number outlives its leader and can be reused.
/// Reading environments costs one file read per process, so one-shot reports leave
/// `include_tagged` off.
pub fn members(task: &Task, table: &ProcessTable, include_tagged: bool) -> Vec<Target> {
    let mut pids = BTreeSet::new();
    let main = main_process(task);
    let started_ticks = main.as_ref().map(|(_, identity)| identity.start_ticks);
    let launch_id = task.launch_id.as_deref();
    let tagged = |process: &ProcStat| {
        launch_id
            .is_some_and(|launch| proc_table::has_env_entry(process.pid, LAUNCH_VARIABLE, launch))
    };

    let mut main_alive = false;
    if let Some((pid, expected)) = &main
        && matches_table(table, *pid, expected)
    {
        main_alive = true;
        pids.insert(*pid);
        pids.extend(table.descendants(*pid));
    }

    let monitor = monitor_process(task);
    if let Some((monitor_pid, expected)) = &monitor
        && matches_table(table, *monitor_pid, expected)
    {
        pids.extend(table.descendants(*monitor_pid));
    }

    // Only a task that leads its own group owns the group: an attached process may
    // share the group of the shell that started it.
    if let (Some(native), Some(since)) = (&task.native, started_ticks)
        && native.pgid == native.pid
    {
        pids.extend(
            table
                .group_members(native.pgid)
                .filter(|process| process.start_ticks >= since)
                .filter(|process| main_alive || tagged(process))
                .map(|process| process.pid),
        );
    }

    if include_tagged && let Some(since) = started_ticks {
        for process in table.iter() {
            if process.start_ticks >= since && !pids.contains(&process.pid) && tagged(process) {
                pids.insert(process.pid);
            }
        }
    }

    if let Some((monitor_pid, _)) = monitor {
        pids.remove(&monitor_pid);
    }
    pids.remove(&task_watchdog_platform::current_pid());

    let Ok(boot_id) = identity::boot_id() else {
        return Vec::new();
    };
    pids.into_iter()
        .filter_map(|pid| table.get(pid))
        .filter(|process| !process.is_exited())
        .map(|process| Target {
            pid: process.pid,
            identity: ProcessIdentity {
                boot_id: boot_id.clone(),
                start_ticks: process.start_ticks,
            },
        })
        .collect()
}

fn matches_table(table: &ProcessTable, pid: Pid, expected: &ProcessIdentity) -> bool {
    let same_boot = identity::boot_id().is_ok_and(|boot| boot == expected.boot_id);
    same_boot
        && table.get(pid).is_some_and(|process| {
            process.start_ticks == expected.start_ticks && !process.is_exited()
        })
}

/// CPU and memory of a set of processes, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub processes: usize,
    /// CPU time over wall time since each process started, summed, in percent of
    /// one core (as `ps` reports %CPU).
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

/// Sums CPU% and RSS over `targets` from one table scan.
pub fn usage(targets: &[Target], table: &ProcessTable) -> Usage {
    let uptime = proc_table::uptime_ticks().unwrap_or(0);
    let mut total = Usage::default();
    for target in targets {
        let Some(process) = table.get(target.pid) else {
            continue;
        };
        total.processes += 1;
        total.rss_bytes += process.rss_bytes;
        let elapsed = uptime.saturating_sub(process.start_ticks);
        if elapsed > 0 {
            total.cpu_percent += 100.0 * process.cpu_ticks as f64 / elapsed as f64;
        }
    }
    total
}

/// Builds the `native` record for `pid` with its identity; `start_time` is derived
/// from the boot time and the start ticks.
pub fn native_record(
    pid: Pid,
    pgid: Pid,
    identity: &ProcessIdentity,
    env_tag: Option<String>,
) -> crate::registry::Native {
    // Wall time now minus the process's age: exact to one clock tick, where the
    // boot time the kernel reports is rounded to whole seconds.
    let start_time = proc_table::uptime_ticks()
        .ok()
        .map(|uptime| {
            let hz = proc_table::ticks_per_second().max(1);
            let age_micros = uptime.saturating_sub(identity.start_ticks) * 1_000_000 / hz;
            chrono::Utc::now() - chrono::Duration::microseconds(age_micros as i64)
        })
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default();
    crate::registry::Native {
        pid,
        pgid,
        start_time,
        env_tag,
        boot_id: Some(identity.boot_id.clone()),
        start_ticks: Some(identity.start_ticks),
        extra: serde_json::Map::new(),
    }
}

/// Ends every live process of `task`: `first_signal`, then SIGKILL after `grace`.
///
/// The tree is scanned again after each round, up to three rounds, to catch
/// children forked between a scan and the signals.
pub fn end_tree(
    task: &Task,
    first_signal: i32,
    grace: std::time::Duration,
) -> std::io::Result<task_watchdog_platform::tree::Outcome> {
    let mut total = task_watchdog_platform::tree::Outcome::default();
    for _ in 0..3 {
        let table = ProcessTable::scan()?;
        let targets = members(task, &table, true);
        if targets.is_empty() {
            break;
        }
        let outcome = task_watchdog_platform::tree::terminate(&targets, first_signal, grace)?;
        total.signalled += outcome.signalled;
        total.killed += outcome.killed;
        if outcome.signalled == 0 {
            break;
        }
    }
    Ok(total)
}
