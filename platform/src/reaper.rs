//! The subreaper role and reaping of children.
//!
//! A subreaper adopts every orphaned descendant, so a task's children that escape
//! its process group with `setsid` or a double fork stay in the monitor's tree. Linux
//! has `PR_SET_CHILD_SUBREAPER` (3.4+) and FreeBSD `procctl(PROC_REAP_ACQUIRE)`
//! (10.2+). macOS has no such role; there escaped descendants are found only by
//! their process group and environment tag.

use std::io;

use rustix::io::Errno;
use rustix::process::WaitOptions;

use crate::{ExitStatus, Pid};

/// Makes the calling process the reaper of its orphaned descendants.
///
/// Returns `Ok(false)` on systems without a subreaper role.
pub fn become_subreaper() -> io::Result<bool> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
        Ok(true)
    }
    #[cfg(target_os = "freebsd")]
    {
        rustix::process::set_reaper_status(true)?;
        Ok(true)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        Ok(false)
    }
}

/// Blocks until any child ends and returns it; `Ok(None)` when there are no
/// children left. Interrupted waits are retried.
pub fn wait_any() -> io::Result<Option<(Pid, ExitStatus)>> {
    wait_with(WaitOptions::empty())
}

/// Returns a child that has already ended, without blocking; `Ok(None)` when none
/// has (or there are no children).
pub fn reap_ready() -> io::Result<Option<(Pid, ExitStatus)>> {
    wait_with(WaitOptions::NOHANG)
}

fn wait_with(options: WaitOptions) -> io::Result<Option<(Pid, ExitStatus)>> {
    loop {
        match rustix::process::wait(options) {
            Ok(Some((pid, status))) => {
                let status = ExitStatus::from_raw(status.as_raw());
                return Ok(Some((pid.as_raw_nonzero().get(), status)));
            }
            Ok(None) | Err(Errno::CHILD) => return Ok(None),
            Err(Errno::INTR) => continue,
            Err(error) => return Err(error.into()),
        }
    }
}
