//! Ending a set of processes: SIGTERM, a grace period, then SIGKILL for the rest.
//!
//! Every target carries the identity it was found with, and every signal is sent
//! with [`signal::send_verified`], so a process that exited during the grace period
//! and whose PID was reused is never hit. On Linux the grace period waits on pidfds
//! with `poll(2)`, and on macOS and FreeBSD on a kqueue with `EVFILT_PROC`. Elsewhere,
//! or when those fail, it checks identities every 10 ms.

use std::io;
use std::time::{Duration, Instant};

use crate::Pid;
use crate::identity::{self, Liveness, ProcessIdentity};
use crate::signal::{self, Delivery};

/// A process to end, with the identity it had when it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub pid: Pid,
    pub identity: ProcessIdentity,
}

/// The counts of what [`terminate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Targets that were alive and got the first signal.
    pub signalled: usize,
    /// Of those, the ones still alive after the grace period and sent SIGKILL.
    pub killed: usize,
}

/// Sends `first_signal` to every target, waits up to `grace` for them to exit, then
/// sends SIGKILL to the ones left. Returns once every signalled process has exited
/// or `grace` plus one more second has passed after SIGKILL.
///
/// Zombies count as exited: reaping them is their parent's job.
pub fn terminate(targets: &[Target], first_signal: i32, grace: Duration) -> io::Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut alive = Vec::new();
    for target in targets {
        if signal::send_verified(target.pid, &target.identity, first_signal)? == Delivery::Sent {
            outcome.signalled += 1;
            alive.push(target.clone());
        }
    }
    if first_signal == libc::SIGKILL {
        wait_for_exit(&mut alive, Duration::from_secs(1))?;
        return Ok(outcome);
    }

    wait_for_exit(&mut alive, grace)?;
    for target in &alive {
        if signal::send_verified(target.pid, &target.identity, libc::SIGKILL)? == Delivery::Sent {
            outcome.killed += 1;
        }
    }
    wait_for_exit(&mut alive, Duration::from_secs(1))?;
    Ok(outcome)
}

/// Waits until every process in `alive` has exited or `limit` has passed; the ones
/// still running are left in `alive`.
pub fn wait_for_exit(alive: &mut Vec<Target>, limit: Duration) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    while !alive.is_empty() {
        alive.retain(|target| {
            matches!(
                identity::check(target.pid, &target.identity),
                Ok(Liveness::Alive)
            )
        });
        let now = Instant::now();
        if alive.is_empty() || now >= deadline {
            break;
        }
        wait_for_any(alive, deadline - now)?;
    }
    Ok(())
}

/// Sleeps until one of `alive` may have exited, or `limit` passes.
#[cfg(target_os = "linux")]
fn wait_for_any(alive: &[Target], limit: Duration) -> io::Result<()> {
    use crate::pidfd::PidFd;
    use rustix::event::{PollFd, PollFlags, Timespec, poll};

    if !crate::pidfd::supported() {
        std::thread::sleep(limit.min(Duration::from_millis(10)));
        return Ok(());
    }
    let mut pidfds = Vec::with_capacity(alive.len());
    for target in alive {
        match PidFd::open(target.pid) {
            Ok(Some(pidfd)) => pidfds.push(pidfd),
            // Gone already: the caller's next identity check drops it.
            Ok(None) => return Ok(()),
            Err(_) => {
                std::thread::sleep(limit.min(Duration::from_millis(10)));
                return Ok(());
            }
        }
    }
    let mut fds: Vec<PollFd<'_>> = pidfds
        .iter()
        .map(|pidfd| PollFd::new(pidfd, PollFlags::IN))
        .collect();
    let timeout = Timespec {
        tv_sec: limit.as_secs() as _,
        tv_nsec: limit.subsec_nanos() as _,
    };
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Sleeps until one of `alive` may have exited, or `limit` passes.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
fn wait_for_any(alive: &[Target], limit: Duration) -> io::Result<()> {
    use std::os::fd::AsFd;

    use crate::exit_source::kqueue::{add_exit_watch, wait_for_event};

    let Ok(queue) = rustix::event::kqueue::kqueue() else {
        std::thread::sleep(limit.min(Duration::from_millis(10)));
        return Ok(());
    };
    for target in alive {
        match add_exit_watch(queue.as_fd(), target.pid) {
            Ok(()) => {}
            // Gone already: the caller's next identity check drops it.
            Err(rustix::io::Errno::SRCH) => return Ok(()),
            Err(_) => {
                std::thread::sleep(limit.min(Duration::from_millis(10)));
                return Ok(());
            }
        }
    }
    wait_for_event(queue.as_fd(), limit)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "freebsd")))]
fn wait_for_any(_alive: &[Target], limit: Duration) -> io::Result<()> {
    std::thread::sleep(limit.min(Duration::from_millis(10)));
    Ok(())
}
