//! Process identity: which process a PID meant when it was recorded.
//!
//! A PID alone is reused by the kernel once its process is reaped. The pair (boot id,
//! start time) names one process for the life of the machine: the start time in
//! clock ticks since boot (field 22 of `/proc/PID/stat`) cannot repeat for one PID
//! within a boot, and the boot id changes with every boot.
//!
//! Only Linux reads identities here so far. On other systems [`identity_of`] returns
//! `ErrorKind::Unsupported`.

use std::io;

use crate::Pid;

/// The identity of one process: which boot it ran in and when it started.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessIdentity {
    /// `/proc/sys/kernel/random/boot_id` at the time the process was seen.
    pub boot_id: String,
    /// Start time in clock ticks since boot.
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

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;

    use super::{Liveness, ProcessIdentity};
    use crate::Pid;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "process identity is implemented only on Linux so far",
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
