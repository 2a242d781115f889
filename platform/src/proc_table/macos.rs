//! The process table on macOS, from libproc: `proc_listallpids` for the PIDs and
//! `proc_pidinfo` for each process.
//!
//! Units: start times are microseconds since the Unix epoch (`pbi_start_tvsec` and
//! `pbi_start_tvusec`, stamped at fork from the wall clock and never adjusted
//! after), CPU times are microseconds, so [`ticks_per_second`] is 1 000 000.
//!
//! Limits:
//! - macOS shows a process's start time, CPU time and RSS only to its owner and to
//!   root. Other users' processes appear with their parent, group and state
//!   (`PROC_PIDT_SHORTBSDINFO`), and `start_ticks`, `cpu_ticks` and `rss_bytes` 0.
//! - A zombie has no task, so it appears with CPU time and RSS 0.
//! - `session` comes from `getsid` and is 0 where that fails.
//! - The environment is the one the process was started with (`KERN_PROCARGS2`),
//!   readable only for the caller's own processes; others read as untagged.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use libc::{c_int, c_void, pid_t};

use super::{ProcStat, ProcessStart, parse};
use crate::Pid;
use crate::sysctl;

/// A `proc_pidinfo` flavor and the structure it fills.
///
/// # Safety
///
/// Implement only for C structures of integers and integer arrays, which any byte
/// pattern is a valid value of, and which the flavor fills completely.
unsafe trait PidInfo: Copy {
    const FLAVOR: c_int;
}

// SAFETY: integers and `c_char` arrays, filled by PROC_PIDTASKALLINFO.
unsafe impl PidInfo for libc::proc_taskallinfo {
    const FLAVOR: c_int = libc::PROC_PIDTASKALLINFO;
}
// SAFETY: integers and `c_char` arrays, filled by PROC_PIDTBSDINFO.
unsafe impl PidInfo for libc::proc_bsdinfo {
    const FLAVOR: c_int = libc::PROC_PIDTBSDINFO;
}
// SAFETY: integers, `c_char` arrays and reserved padding, filled by
// PROC_PIDT_SHORTBSDINFO.
unsafe impl PidInfo for libc::proc_bsdshortinfo {
    const FLAVOR: c_int = libc::PROC_PIDT_SHORTBSDINFO;
}

/// Calls `proc_pidinfo` for `T`'s flavor; `Ok(None)` when no such process exists.
/// `include_zombie` makes the BSD-info flavors find zombies too (the kernel ignores
/// it for the task flavors).
fn pid_info<T: PidInfo>(pid: Pid, include_zombie: bool) -> io::Result<Option<T>> {
    let mut info = MaybeUninit::<T>::zeroed();
    let size = size_of::<T>() as c_int;
    // SAFETY: `info` has `size` writable bytes, and the kernel writes at most that.
    let written = unsafe {
        libc::proc_pidinfo(
            pid,
            T::FLAVOR,
            u64::from(include_zombie),
            info.as_mut_ptr().cast::<c_void>(),
            size,
        )
    };
    if written == size {
        // SAFETY: the memory was zeroed and then filled, and `PidInfo` makes every
        // byte pattern a valid `T`.
        return Ok(Some(unsafe { info.assume_init() }));
    }

    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::ESRCH) => Ok(None),
        Some(errno) if written <= 0 && errno != 0 => Err(error),
        _ => Err(io::Error::other(format!(
            "proc_pidinfo flavor {} for PID {pid} returned {written} bytes, expected {size}",
            T::FLAVOR
        ))),
    }
}

pub fn read_start(pid: Pid) -> io::Result<Option<ProcessStart>> {
    if pid <= 0 {
        return Ok(None);
    }
    let Some(info) = pid_info::<libc::proc_bsdinfo>(pid, true)? else {
        return Ok(None);
    };
    Ok(Some(ProcessStart {
        start_ticks: start_micros(&info),
        exited: info.pbi_status as i32 == parse::SZOMB,
    }))
}

pub fn read_stat(pid: Pid) -> io::Result<Option<ProcStat>> {
    if pid <= 0 {
        return Ok(None);
    }

    // The task flavor fails for zombies (ESRCH) and other users' processes (EPERM);
    // each fallback shows less.
    if let Ok(Some(all)) = pid_info::<libc::proc_taskallinfo>(pid, false) {
        return Ok(Some(from_bsd_info(pid, &all.pbsd, Some(&all.ptinfo))));
    }
    match pid_info::<libc::proc_bsdinfo>(pid, true) {
        Ok(Some(info)) => return Ok(Some(from_bsd_info(pid, &info, None))),
        Ok(None) => return Ok(None),
        Err(_) => {}
    }
    Ok(pid_info::<libc::proc_bsdshortinfo>(pid, true)?.map(|info| from_short_info(pid, &info)))
}

pub fn scan() -> io::Result<Vec<ProcStat>> {
    let mut processes = Vec::new();
    for pid in all_pids()? {
        // PID 0 is the kernel, which Linux does not list either.
        if pid == 0 {
            continue;
        }
        // A process listed a moment ago may be gone now; skip it, and any that
        // cannot be read at all.
        if let Ok(Some(process)) = read_stat(pid) {
            processes.push(process);
        }
    }
    Ok(processes)
}

fn all_pids() -> io::Result<Vec<Pid>> {
    for _ in 0..4 {
        // SAFETY: a null buffer of size 0 requests only the number of processes.
        let estimate = unsafe { libc::proc_listallpids(std::ptr::null_mut(), 0) };
        if estimate < 0 {
            return Err(io::Error::last_os_error());
        }

        let capacity = estimate as usize + 64;
        let mut pids: Vec<pid_t> = vec![0; capacity];
        let bytes = (capacity * size_of::<pid_t>()) as c_int;
        // SAFETY: `pids` has `bytes` writable bytes; the call returns how many PIDs
        // it stored.
        let count = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast::<c_void>(), bytes) };
        if count < 0 {
            return Err(io::Error::last_os_error());
        }
        let count = count as usize;
        // A full buffer may mean more processes started since the estimate.
        if count < capacity {
            pids.truncate(count);
            return Ok(pids);
        }
    }
    Err(io::Error::other(
        "the process list kept growing while it was read",
    ))
}

fn from_bsd_info(
    pid: Pid,
    info: &libc::proc_bsdinfo,
    task: Option<&libc::proc_taskinfo>,
) -> ProcStat {
    let name = parse::c_chars(&info.pbi_name);
    let comm = if name.is_empty() {
        parse::c_chars(&info.pbi_comm)
    } else {
        name
    };
    ProcStat {
        pid,
        ppid: info.pbi_ppid as Pid,
        pgid: info.pbi_pgid as Pid,
        session: session_of(pid),
        state: parse::state_letter(info.pbi_status as i32),
        comm,
        start_ticks: start_micros(info),
        cpu_ticks: task.map_or(0, |task| {
            mach_time_to_micros(task.pti_total_user.saturating_add(task.pti_total_system))
        }),
        rss_bytes: task.map_or(0, |task| task.pti_resident_size),
    }
}

fn from_short_info(pid: Pid, info: &libc::proc_bsdshortinfo) -> ProcStat {
    ProcStat {
        pid,
        ppid: info.pbsi_ppid as Pid,
        pgid: info.pbsi_pgid as Pid,
        session: session_of(pid),
        state: parse::state_letter(info.pbsi_status as i32),
        comm: parse::c_chars(&info.pbsi_comm),
        start_ticks: 0,
        cpu_ticks: 0,
        rss_bytes: 0,
    }
}

fn start_micros(info: &libc::proc_bsdinfo) -> u64 {
    parse::micros(info.pbi_start_tvsec as i64, info.pbi_start_tvusec as i64)
}

fn session_of(pid: Pid) -> Pid {
    rustix::process::Pid::from_raw(pid)
        .and_then(|target| rustix::process::getsid(Some(target)).ok())
        .map_or(0, |session| session.as_raw_nonzero().get())
}

/// Converts Mach absolute time, the unit of `pti_total_user` and
/// `pti_total_system`, to microseconds. The ratio is 1/1 nanoseconds on Intel Macs
/// and 125/3 on Apple silicon.
fn mach_time_to_micros(ticks: u64) -> u64 {
    static TIMEBASE: OnceLock<(u32, u32)> = OnceLock::new();
    let (numer, denom) = *TIMEBASE.get_or_init(read_timebase);
    let nanos = u128::from(ticks) * u128::from(numer) / u128::from(denom);
    u64::try_from(nanos / 1_000).unwrap_or(u64::MAX)
}

/// Reads the Mach timebase as (numerator, denominator), or 1/1 if the call fails.
// The `libc` crate deprecates its Mach bindings in favour of the `mach2` crate; one
// call does not justify another dependency.
#[allow(deprecated)]
fn read_timebase() -> (u32, u32) {
    let mut info = libc::mach_timebase_info { numer: 0, denom: 0 };
    // SAFETY: `info` is a valid `mach_timebase_info` for the call to fill.
    let result = unsafe { libc::mach_timebase_info(&mut info) };
    if result != 0 || info.denom == 0 {
        (1, 1)
    } else {
        (info.numer, info.denom)
    }
}

/// Reads `pid`'s `KERN_PROCARGS2` value: its arguments and environment.
fn process_arguments(pid: Pid) -> Option<Vec<u8>> {
    static ARG_MAX: OnceLock<Option<usize>> = OnceLock::new();
    let capacity = (*ARG_MAX.get_or_init(|| {
        let bytes = sysctl::read_mib_with_capacity(
            &[libc::CTL_KERN, libc::KERN_ARGMAX],
            size_of::<c_int>(),
        )
        .ok()?;
        sysctl::read_struct::<c_int>(&bytes).and_then(|max| usize::try_from(max).ok())
    }))?;
    sysctl::read_mib_with_capacity(&[libc::CTL_KERN, libc::KERN_PROCARGS2, pid], capacity).ok()
}

pub fn has_env_entry(pid: Pid, key: &str, value: &str) -> bool {
    let Some(buffer) = process_arguments(pid) else {
        return false;
    };
    parse::procargs2_environment(&buffer)
        .is_some_and(|entries| parse::has_entry(entries, key, value))
}

pub fn env_value(pid: Pid, key: &str) -> Option<String> {
    let buffer = process_arguments(pid)?;
    let entries = parse::procargs2_environment(&buffer)?;
    let value = parse::env_entry_value(entries, key)?;
    Some(String::from_utf8_lossy(value).into_owned())
}

pub fn ticks_per_second() -> u64 {
    1_000_000
}

/// Returns the current time in microseconds since the Unix epoch, the unit and
/// origin of start times here.
pub fn uptime_ticks() -> io::Result<u64> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|error| {
            io::Error::other(format!("system clock before the Unix epoch: {error}"))
        })?;
    Ok(u64::try_from(now.as_micros()).unwrap_or(u64::MAX))
}

pub fn boot_time_secs() -> io::Result<u64> {
    let boot = sysctl::boot_time()?;
    Ok(u64::try_from(boot.tv_sec).unwrap_or(0))
}
