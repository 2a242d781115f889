//! The process table on FreeBSD, from the `kern.proc` sysctls: `KERN_PROC_PROC` for
//! every process in one call, `KERN_PROC_PID` for one, `KERN_PROC_ENV` for an
//! environment.
//!
//! Units: start times are microseconds since boot, CPU times (`ki_runtime`)
//! microseconds, so [`ticks_per_second`] is 1 000 000. The kernel reports `ki_start`
//! as the start in uptime plus the current `kern.boottime`, which a step of the wall
//! clock moves. So `kern.boottime` is read before and after each read and
//! subtracted, and a read that a step lands inside is retried.
//!
//! Limits:
//! - With `security.bsd.see_other_uids=0`, other users' processes are not listed.
//! - The environment (`KERN_PROC_ENV`) is readable only for processes the caller may
//!   debug; others read as untagged.
//! - `kinfo_proc` is decoded with the `libc` crate's layout (the FreeBSD 12 ABI).
//!   Every entry's `ki_structsize` is checked against it, and a mismatch is an
//!   error rather than a misread.

use std::io;
use std::mem::size_of;

use libc::{c_int, kinfo_proc};

use super::{ProcStat, ProcessStart, parse};
use crate::Pid;
use crate::sysctl;

/// How many times a read is retried while `kern.boottime` keeps changing.
const BOOT_TIME_ATTEMPTS: usize = 3;

pub fn read_start(pid: Pid) -> io::Result<Option<ProcessStart>> {
    Ok(read_stat(pid)?.map(|process| ProcessStart {
        start_ticks: process.start_ticks,
        exited: process.is_exited(),
    }))
}

pub fn read_stat(pid: Pid) -> io::Result<Option<ProcStat>> {
    if pid <= 0 {
        return Ok(None);
    }
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, pid];
    let read = || match sysctl::read_mib(&mib) {
        Ok(bytes) => decode_entries(&bytes),
        // No such process, or one this user may not see.
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => Ok(Vec::new()),
        Err(error) => Err(error),
    };
    let (entries, boot_micros) = with_steady_boot_time(read)?;
    Ok(entries.first().map(|entry| convert(entry, boot_micros)))
}

pub fn scan() -> io::Result<Vec<ProcStat>> {
    let mib = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PROC];
    let read = || decode_entries(&sysctl::read_mib(&mib)?);
    let (entries, boot_micros) = with_steady_boot_time(read)?;
    Ok(entries
        .iter()
        .map(|entry| convert(entry, boot_micros))
        .collect())
}

/// Runs `read` between two reads of `kern.boottime` and returns its result with the
/// boot time in microseconds, retrying while the two boot times differ.
fn with_steady_boot_time<T>(mut read: impl FnMut() -> io::Result<T>) -> io::Result<(T, u64)> {
    for _ in 0..BOOT_TIME_ATTEMPTS {
        let before = sysctl::boot_time()?;
        let value = read()?;
        let after = sysctl::boot_time()?;
        if before.tv_sec == after.tv_sec && before.tv_usec == after.tv_usec {
            return Ok((value, parse::micros(before.tv_sec, before.tv_usec)));
        }
    }
    Err(io::Error::other(
        "kern.boottime kept changing while the process table was read (the wall clock is being stepped); try again",
    ))
}

/// Splits a `kern.proc` value into its `kinfo_proc` entries.
fn decode_entries(bytes: &[u8]) -> io::Result<Vec<kinfo_proc>> {
    let size = size_of::<kinfo_proc>();
    let mut entries = Vec::with_capacity(bytes.len() / size);
    for chunk in bytes.chunks(size) {
        let entry = sysctl::read_struct::<kinfo_proc>(chunk)
            .filter(|entry| entry.ki_structsize as usize == size);
        let Some(entry) = entry else {
            return Err(io::Error::other(format!(
                "kern.proc returned entries that do not match this build's kinfo_proc of {size} bytes; \
                 build for this FreeBSD release"
            )));
        };
        entries.push(entry);
    }
    Ok(entries)
}

fn convert(entry: &kinfo_proc, boot_micros: u64) -> ProcStat {
    let start = parse::micros(entry.ki_start.tv_sec, entry.ki_start.tv_usec);
    let pages = u64::try_from(entry.ki_rssize).unwrap_or(0);
    ProcStat {
        pid: entry.ki_pid,
        ppid: entry.ki_ppid,
        pgid: entry.ki_pgid,
        session: entry.ki_sid,
        state: parse::state_letter(i32::from(entry.ki_stat)),
        comm: parse::c_chars(&entry.ki_comm),
        start_ticks: start.saturating_sub(boot_micros),
        cpu_ticks: entry.ki_runtime,
        rss_bytes: pages.saturating_mul(page_size()),
    }
}

fn page_size() -> u64 {
    // SAFETY: `sysconf` only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// Reads the environment of `pid` from `KERN_PROC_ENV`; `None` where it cannot be
/// read.
fn environment(pid: Pid) -> Option<Vec<u8>> {
    if pid <= 0 {
        return None;
    }
    let mib: [c_int; 4] = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_ENV, pid];
    sysctl::read_mib(&mib).ok()
}

pub fn has_env_entry(pid: Pid, key: &str, value: &str) -> bool {
    environment(pid)
        .is_some_and(|environ| parse::has_entry(parse::nul_separated(&environ), key, value))
}

pub fn env_value(pid: Pid, key: &str) -> Option<String> {
    let environ = environment(pid)?;
    let value = parse::env_entry_value(parse::nul_separated(&environ), key)?;
    Some(String::from_utf8_lossy(value).into_owned())
}

pub fn ticks_per_second() -> u64 {
    1_000_000
}

/// Returns the time since boot in microseconds (`CLOCK_UPTIME`, the clock
/// `ki_start` counts from), the unit and origin of start times here.
pub fn uptime_ticks() -> io::Result<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid `timespec` for the call to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_UPTIME, &mut now) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(parse::micros(now.tv_sec, now.tv_nsec / 1_000))
}

pub fn boot_time_secs() -> io::Result<u64> {
    let boot = sysctl::boot_time()?;
    Ok(u64::try_from(boot.tv_sec).unwrap_or(0))
}
