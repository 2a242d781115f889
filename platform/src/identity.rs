//! Process identity: which process a PID meant when it was recorded.
//!
//! A PID alone is reused by the kernel once its process is reaped. The pair (boot id,
//! start time) names one process for the life of the machine: a start time cannot
//! repeat for one PID within a boot, and the boot id changes with every boot.
//!
//! | system | boot id | start time |
//! | --- | --- | --- |
//! | Linux | `/proc/sys/kernel/random/boot_id` | clock ticks since boot, field 22 of `/proc/PID/stat` |
//! | macOS | `kern.bootsessionuuid` | microseconds since the Unix epoch, `pbi_start_tvsec` and `pbi_start_tvusec` of `proc_pidinfo(PROC_PIDTBSDINFO)` |
//! | FreeBSD | `kern.boot_id` (16 random bytes chosen once per boot), in hex | microseconds since boot: `ki_start` of `KERN_PROC_PID` minus `kern.boottime` |
//!
//! FreeBSD computes `ki_start` as the start in uptime plus the current
//! `kern.boottime`, and a step of the wall clock moves `kern.boottime`, so the
//! difference is the one value that stays fixed for the life of the process.
//! Where the boot id sysctl cannot be read (older FreeBSD releases lack
//! `kern.boot_id`), the boot id is `kern.boottime` as text, and a step of the wall
//! clock then makes every recorded process read as gone.
//!
//! On macOS a process's start time is readable only by its owner and by root, so
//! [`identity_of`] and [`check`] fail with `PermissionDenied` for another user's
//! process. Other systems return `ErrorKind::Unsupported`.

use std::io;

use crate::Pid;

/// The identity of one process: which boot it ran in and when it started.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessIdentity {
    /// The boot id at the time the process was seen (see the table above).
    pub boot_id: String,
    /// Start time in the system's start-time unit: clock ticks since boot on Linux,
    /// microseconds since the Unix epoch on macOS, microseconds since boot on
    /// FreeBSD. [`crate::proc_table::uptime_ticks`] returns the current time in the
    /// same unit.
    pub start_ticks: u64,
}

/// Whether a recorded process is still the one running under its PID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Running and matching the recorded identity.
    Alive,
    /// Exited: no process has the PID, or it is a zombie waiting to be reaped.
    Gone,
    /// Another process now has the PID.
    Reused,
}

/// Returns the current boot id, read once per process.
pub fn boot_id() -> io::Result<String> {
    imp::boot_id()
}

/// Reads the identity of `pid`; `Ok(None)` when no such process exists.
///
/// A zombie still has an identity, so a child that exited before its parent read
/// this can still be recorded.
pub fn identity_of(pid: Pid) -> io::Result<Option<ProcessIdentity>> {
    imp::identity_of(pid)
}

/// Compares the process now under `pid` with the recorded identity.
pub fn check(pid: Pid, expected: &ProcessIdentity) -> io::Result<Liveness> {
    imp::check(pid, expected)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::sync::OnceLock;

    use super::{Liveness, ProcessIdentity};
    use crate::Pid;

    static BOOT_ID: OnceLock<String> = OnceLock::new();

    pub fn boot_id() -> io::Result<String> {
        if let Some(id) = BOOT_ID.get() {
            return Ok(id.clone());
        }
        let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")?
            .trim()
            .to_string();
        Ok(BOOT_ID.get_or_init(|| id).clone())
    }

    pub fn identity_of(pid: Pid) -> io::Result<Option<ProcessIdentity>> {
        let Some(stat) = crate::proc_table::read_stat(pid)? else {
            return Ok(None);
        };
        Ok(Some(ProcessIdentity {
            boot_id: boot_id()?,
            start_ticks: stat.start_ticks,
        }))
    }

    pub fn check(pid: Pid, expected: &ProcessIdentity) -> io::Result<Liveness> {
        if expected.boot_id != boot_id()? {
            return Ok(Liveness::Gone);
        }
        let Some(stat) = crate::proc_table::read_stat(pid)? else {
            return Ok(Liveness::Gone);
        };
        if stat.start_ticks != expected.start_ticks {
            return Ok(Liveness::Reused);
        }
        if stat.is_exited() {
            return Ok(Liveness::Gone);
        }
        Ok(Liveness::Alive)
    }
}

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
mod imp {
    use std::io;
    use std::sync::OnceLock;

    use super::{Liveness, ProcessIdentity};
    use crate::Pid;

    static BOOT_ID: OnceLock<String> = OnceLock::new();

    pub fn boot_id() -> io::Result<String> {
        if let Some(id) = BOOT_ID.get() {
            return Ok(id.clone());
        }
        let id = read_boot_id()?;
        Ok(BOOT_ID.get_or_init(|| id).clone())
    }

    #[cfg(target_os = "macos")]
    fn read_boot_id() -> io::Result<String> {
        match crate::sysctl::read_name(c"kern.bootsessionuuid") {
            Ok(bytes) => Ok(c_text(&bytes)),
            Err(error) => {
                tracing::debug!(%error, "no kern.bootsessionuuid; using kern.boottime as the boot id");
                boot_time_text()
            }
        }
    }

    #[cfg(target_os = "freebsd")]
    fn read_boot_id() -> io::Result<String> {
        match crate::sysctl::read_name(c"kern.boot_id") {
            Ok(bytes) => Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect()),
            Err(error) => {
                tracing::debug!(%error, "no kern.boot_id; using kern.boottime as the boot id");
                boot_time_text()
            }
        }
    }

    /// `kern.boottime` as `boottime:SECONDS.MICROSECONDS`, for systems without a
    /// boot id sysctl.
    fn boot_time_text() -> io::Result<String> {
        let boot = crate::sysctl::boot_time()?;
        Ok(format!("boottime:{}.{:06}", boot.tv_sec, boot.tv_usec))
    }

    /// Decodes a C string value up to its first NUL.
    #[cfg(target_os = "macos")]
    fn c_text(bytes: &[u8]) -> String {
        let end = bytes
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }

    pub fn identity_of(pid: Pid) -> io::Result<Option<ProcessIdentity>> {
        let Some(start) = crate::proc_table::read_start(pid)? else {
            return Ok(None);
        };
        Ok(Some(ProcessIdentity {
            boot_id: boot_id()?,
            start_ticks: start.start_ticks,
        }))
    }

    pub fn check(pid: Pid, expected: &ProcessIdentity) -> io::Result<Liveness> {
        if expected.boot_id != boot_id()? {
            return Ok(Liveness::Gone);
        }
        let Some(start) = crate::proc_table::read_start(pid)? else {
            return Ok(Liveness::Gone);
        };
        if start.start_ticks != expected.start_ticks {
            return Ok(Liveness::Reused);
        }
        if start.exited {
            return Ok(Liveness::Gone);
        }
        Ok(Liveness::Alive)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
mod imp {
    use std::io;

    use super::{Liveness, ProcessIdentity};
    use crate::Pid;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "process identity is implemented only on Linux, macOS and FreeBSD",
        )
    }

    pub fn boot_id() -> io::Result<String> {
        Err(unsupported())
    }

    pub fn identity_of(_pid: Pid) -> io::Result<Option<ProcessIdentity>> {
        Err(unsupported())
    }

    pub fn check(_pid: Pid, _expected: &ProcessIdentity) -> io::Result<Liveness> {
        Err(unsupported())
    }
}
