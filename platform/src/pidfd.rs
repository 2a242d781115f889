//! Process file descriptors (Linux 5.3+ for `pidfd_open`, 5.1+ for
//! `pidfd_send_signal`).
//!
//! A pidfd pins one process: signals sent through it cannot reach a later process
//! that reuses the PID, and it becomes readable when the process exits (including
//! while it is a zombie). When the kernel lacks the call (ENOSYS) or a seccomp
//! profile forbids it (EPERM), the first failure is remembered and [`supported`]
//! turns false, so callers fall back to plain PIDs without retrying each time.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::io::Errno;
use rustix::process::{PidfdFlags, Signal};

use crate::Pid;
use crate::signal::Delivery;

static UNSUPPORTED: AtomicBool = AtomicBool::new(false);

/// False once `pidfd_open` has failed with ENOSYS or EPERM in this process.
pub fn supported() -> bool {
    !UNSUPPORTED.load(Ordering::Relaxed)
}

/// An owned pidfd.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// Opens a pidfd for `pid`; `Ok(None)` when the process no longer exists.
    ///
    /// EINVAL for a valid PID means the process is in its exit window (Linux returns
    /// it for a thread-group leader that is exiting), so it counts as gone.
    pub fn open(pid: Pid) -> io::Result<Option<Self>> {
        let Some(target) = rustix::process::Pid::from_raw(pid) else {
            return Ok(None);
        };
        match rustix::process::pidfd_open(target, PidfdFlags::empty()) {
            Ok(fd) => Ok(Some(Self(fd))),
            Err(Errno::SRCH | Errno::INVAL) => Ok(None),
            Err(error @ (Errno::NOSYS | Errno::PERM)) => {
                if !UNSUPPORTED.swap(true, Ordering::Relaxed) {
                    tracing::debug!(%error, "pidfd_open unavailable; falling back to PIDs");
                }
                Err(error.into())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Sends `signo` to the pinned process.
    pub fn send_signal(&self, signo: i32) -> io::Result<Delivery> {
        let Some(signal) = Signal::from_named_raw(signo) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid signal {signo}"),
            ));
        };
        match rustix::process::pidfd_send_signal(&self.0, signal) {
            Ok(()) => Ok(Delivery::Sent),
            Err(Errno::SRCH) => Ok(Delivery::Gone),
            Err(error) => Err(error.into()),
        }
    }

    /// True when the process has exited, without blocking.
    pub fn has_exited(&self) -> io::Result<bool> {
        let mut fds = [rustix::event::PollFd::new(
            &self.0,
            rustix::event::PollFlags::IN,
        )];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        rustix::event::poll(&mut fds, Some(&zero))?;
        Ok(!fds[0].revents().is_empty())
    }

    pub fn into_owned_fd(self) -> OwnedFd {
        self.0
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
