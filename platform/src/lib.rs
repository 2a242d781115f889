//! Everything in task-watchdog that talks to one operating system: process identity,
//! signalling through pidfds, process-table scans, the subreaper role, reaping, and
//! the exit-event sources the daemon waits on.
//!
//! The rest of the program is free of `unsafe` and of `cfg(target_os)`; this crate
//! gives it one interface per concern and says in each module which kernel feature
//! backs it and what happens where that feature is missing.

pub mod exit_source;
pub mod exit_status;
pub mod identity;
pub mod limits;
#[cfg(target_os = "linux")]
pub mod pidfd;
pub mod proc_table;
pub mod reaper;
pub mod session;
pub mod signal;
pub mod spawn;
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
mod sysctl;
pub mod tree;

pub use exit_status::ExitStatus;
pub use identity::{Liveness, ProcessIdentity};

/// A process id as the kernel uses it (`pid_t`).
pub type Pid = i32;

/// Returns the id of the calling process.
pub fn current_pid() -> Pid {
    rustix::process::getpid().as_raw_nonzero().get()
}
