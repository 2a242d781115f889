//! Snapshots of the process table: parents, groups, start times, CPU time and RSS.
//!
//! Linux reads `/proc/PID/stat` through the `procfs` crate, macOS uses libproc
//! (`proc_listallpids`, `proc_pidinfo`), and FreeBSD the `kern.proc` sysctls. The
//! `macos` and `freebsd` submodules state what each cannot see. One
//! [`ProcessTable::scan`] reads each process once, so trees and groups are summed
//! from a single consistent pass. Other systems return `ErrorKind::Unsupported`.
//!
//! Times are in [`ticks_per_second`] units: clock ticks on Linux, microseconds on
//! macOS and FreeBSD. Start times count from the origin [`uptime_ticks`] uses, so
//! `uptime_ticks() - start_ticks` is a process's age on every system.

use std::collections::HashMap;
use std::io;

use crate::Pid;

/// One process as the table saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgid: Pid,
    pub session: Pid,
    /// The one-letter state: `R`, `S`, `D`, `Z` (zombie), `T`, ... from `stat` on
    /// Linux, and the letter `ps` shows for `p_stat` on macOS and FreeBSD.
    pub state: char,
    pub comm: String,
    /// Start time in the unit and from the origin of
    /// [`crate::ProcessIdentity::start_ticks`]: clock ticks since boot on Linux,
    /// microseconds since the Unix epoch on macOS, microseconds since boot on
    /// FreeBSD. 0 where the system does not show it (another user's process on
    /// macOS).
    pub start_ticks: u64,
    /// User plus system CPU time in [`ticks_per_second`] units.
    pub cpu_ticks: u64,
    pub rss_bytes: u64,
}

impl ProcStat {
    /// True for a process that has exited and waits to be reaped.
    pub fn is_exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// All processes visible to the caller at one moment.
#[derive(Debug, Default)]
pub struct ProcessTable {
    processes: Vec<ProcStat>,
    index: HashMap<Pid, usize>,
    children: HashMap<Pid, Vec<Pid>>,
}

impl ProcessTable {
    /// Reads every process once. Processes that exit during the scan are skipped.
    pub fn scan() -> io::Result<Self> {
        Ok(Self::from_processes(imp::scan()?))
    }

    /// Builds a table from already-read entries.
    pub fn from_processes(processes: Vec<ProcStat>) -> Self {
        let mut index = HashMap::with_capacity(processes.len());
        let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for (position, process) in processes.iter().enumerate() {
            index.insert(process.pid, position);
            children.entry(process.ppid).or_default().push(process.pid);
        }
        Self {
            processes,
            index,
            children,
        }
    }

    pub fn get(&self, pid: Pid) -> Option<&ProcStat> {
        self.index
            .get(&pid)
            .map(|&position| &self.processes[position])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ProcStat> {
        self.processes.iter()
    }

    /// Returns every live descendant of `root`, not including `root` itself.
    pub fn descendants(&self, root: Pid) -> Vec<Pid> {
        let mut found = Vec::new();
        let mut pending = vec![root];
        while let Some(parent) = pending.pop() {
            for &child in self.children.get(&parent).into_iter().flatten() {
                // PID 0 is the parent of PID 1 and kernel threads; never walk it.
                if child != root && child != 0 {
                    found.push(child);
                    pending.push(child);
                }
            }
        }
        found
    }

    /// Returns the members of process group `pgid`.
    pub fn group_members(&self, pgid: Pid) -> impl Iterator<Item = &ProcStat> {
        self.processes
            .iter()
            .filter(move |process| process.pgid == pgid)
    }
}

/// Reads one process's `stat`; `Ok(None)` when it does not exist.
pub fn read_stat(pid: Pid) -> io::Result<Option<ProcStat>> {
    imp::read_stat(pid)
}

/// True when the environment `pid` started with contains `key=value`.
///
/// The kernel exposes the environment as it was at `exec`, so a process that changes
/// its own environment later keeps the tag it was started with. Processes the caller
/// may not inspect read as untagged.
pub fn has_env_entry(pid: Pid, key: &str, value: &str) -> bool {
    imp::has_env_entry(pid, key, value)
}

/// Returns the value of `key` in the environment `pid` started with, if any.
///
/// macOS shows the environment only for the caller's own processes, FreeBSD only
/// for processes the caller may debug. For other processes, and on systems this
/// module has no process table for, this returns `None`.
pub fn env_value(pid: Pid, key: &str) -> Option<String> {
    imp::env_value(pid, key)
}

/// When a process started and whether it has exited: what an identity check reads.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessStart {
    /// In the unit of [`ProcStat::start_ticks`].
    pub start_ticks: u64,
    /// True for a zombie.
    pub exited: bool,
}

/// Reads the start of `pid`; `Ok(None)` when it does not exist. Unlike
/// [`read_stat`], this fails where the start time cannot be read (another user's
/// process on macOS) instead of reporting 0.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) fn read_start(pid: Pid) -> io::Result<Option<ProcessStart>> {
    imp::read_start(pid)
}

/// Units per second of start times and CPU times: `USER_HZ` clock ticks on Linux,
/// 1 000 000 (microseconds) on macOS and FreeBSD.
pub fn ticks_per_second() -> u64 {
    imp::ticks_per_second()
}

/// Returns the current time in the unit and from the origin of
/// [`ProcStat::start_ticks`]:
/// clock ticks since boot on Linux, microseconds since the Unix epoch on macOS,
/// microseconds since boot on FreeBSD.
pub fn uptime_ticks() -> io::Result<u64> {
    imp::uptime_ticks()
}

/// Seconds since the Unix epoch at which the machine booted.
pub fn boot_time_secs() -> io::Result<u64> {
    imp::boot_time_secs()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;

    use procfs::ProcError;

    use super::ProcStat;
    use crate::Pid;

    fn to_io(error: ProcError) -> io::Error {
        match error {
            ProcError::Io(error, _) => error,
            ProcError::PermissionDenied(path) => io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("permission denied reading {path:?}"),
            ),
            other => io::Error::other(other.to_string()),
        }
    }

    fn convert(stat: procfs::process::Stat) -> ProcStat {
        ProcStat {
            pid: stat.pid,
            ppid: stat.ppid,
            pgid: stat.pgrp,
            session: stat.session,
            state: stat.state,
            comm: stat.comm,
            start_ticks: stat.starttime,
            cpu_ticks: stat.utime + stat.stime,
            rss_bytes: stat.rss * procfs::page_size(),
        }
    }

    pub fn read_stat(pid: Pid) -> io::Result<Option<ProcStat>> {
        if pid <= 0 {
            return Ok(None);
        }
        let stat = procfs::process::Process::new(pid).and_then(|process| process.stat());
        match stat {
            Ok(stat) => Ok(Some(convert(stat))),
            Err(ProcError::NotFound(_)) => Ok(None),
            Err(ProcError::Io(error, _)) if error.raw_os_error() == Some(libc::ESRCH) => Ok(None),
            Err(error) => Err(to_io(error)),
        }
    }

    pub fn scan() -> io::Result<Vec<ProcStat>> {
        let mut processes = Vec::new();
        for process in procfs::process::all_processes().map_err(to_io)? {
            // A process listed a moment ago may be gone now; skip it.
            let Ok(process) = process else { continue };
            let Ok(stat) = process.stat() else { continue };
            processes.push(convert(stat));
        }
        Ok(processes)
    }

    pub fn has_env_entry(pid: Pid, key: &str, value: &str) -> bool {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            return false;
        };
        let expected_len = key.len() + 1 + value.len();
        environ.split(|&byte| byte == 0).any(|entry| {
            entry.len() == expected_len
                && entry.starts_with(key.as_bytes())
                && entry[key.len()] == b'='
                && entry.ends_with(value.as_bytes())
        })
    }

    pub fn env_value(pid: Pid, key: &str) -> Option<String> {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        environ.split(|&byte| byte == 0).find_map(|entry| {
            let value = entry.strip_prefix(key.as_bytes())?.strip_prefix(b"=")?;
            Some(String::from_utf8_lossy(value).into_owned())
        })
    }

    pub fn ticks_per_second() -> u64 {
        procfs::ticks_per_second()
    }

    pub fn uptime_ticks() -> io::Result<u64> {
        let text = std::fs::read_to_string("/proc/uptime")?;
        let seconds: f64 = text
            .split_whitespace()
            .next()
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected /proc/uptime: {text:?}")))?;
        Ok((seconds * ticks_per_second() as f64) as u64)
    }

    pub fn boot_time_secs() -> io::Result<u64> {
        procfs::boot_time_secs().map_err(to_io)
    }
}

#[cfg(target_os = "freebsd")]
mod freebsd;
#[cfg(target_os = "freebsd")]
use freebsd as imp;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as imp;

// Elsewhere only the tests use it; they run on every system.
#[cfg(any(target_os = "macos", target_os = "freebsd", test))]
#[cfg_attr(not(any(target_os = "macos", target_os = "freebsd")), allow(dead_code))]
mod parse;

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
mod imp {
    use std::io;

    use super::ProcStat;
    use crate::Pid;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "process table scans are implemented only on Linux, macOS and FreeBSD",
        )
    }

    pub fn read_stat(_pid: Pid) -> io::Result<Option<ProcStat>> {
        Err(unsupported())
    }

    pub fn scan() -> io::Result<Vec<ProcStat>> {
        Err(unsupported())
    }

    pub fn has_env_entry(_pid: Pid, _key: &str, _value: &str) -> bool {
        false
    }

    pub fn env_value(_pid: Pid, _key: &str) -> Option<String> {
        None
    }

    pub fn ticks_per_second() -> u64 {
        100
    }

    pub fn uptime_ticks() -> io::Result<u64> {
        Err(unsupported())
    }

    pub fn boot_time_secs() -> io::Result<u64> {
        Err(unsupported())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: Pid, ppid: Pid, pgid: Pid) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            pgid,
            session: 1,
            state: 'S',
            comm: format!("p{pid}"),
            start_ticks: 100,
            cpu_ticks: 0,
            rss_bytes: 0,
        }
    }

    #[test]
    fn descendants_walk_whole_tree() {
        let table = ProcessTable::from_processes(vec![
            process(1, 0, 1),
            process(10, 1, 10),
            process(11, 10, 10),
            process(12, 11, 12),
            process(20, 1, 20),
        ]);
        let mut found = table.descendants(10);
        found.sort();
        assert_eq!(found, vec![11, 12]);
        assert_eq!(table.group_members(10).count(), 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn scan_finds_self_with_identity() {
        let table = ProcessTable::scan().unwrap();
        let me = table
            .get(crate::current_pid())
            .expect("own process in table");
        assert!(me.start_ticks > 0);
        assert!(has_env_entry(
            crate::current_pid(),
            "PATH",
            &std::env::var("PATH").unwrap()
        ));
    }
}
