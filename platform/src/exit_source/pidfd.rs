//! Exit events from pidfds (Linux 5.3+).
//!
//! Each watch owns a pidfd registered with tokio's reactor; the pidfd becomes
//! readable when the process exits. Readiness is only a hint: under ptrace a pidfd
//! can turn readable for a stop, so every wake-up is confirmed by checking the
//! process's identity before the exit is reported. An idle watch costs one file
//! descriptor and one parked task, and no wake-ups.
//!
//! Limit: one descriptor per watched process, so the open-file limit caps how many
//! processes one source can watch.

use std::collections::HashMap;
use std::io;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Token, WatchOutcome};
use crate::identity::{self, Liveness};
use crate::pidfd::PidFd;
use crate::{Pid, ProcessIdentity};

/// True when this machine lets us open pidfds.
pub fn probe() -> bool {
    if !crate::pidfd::supported() {
        return false;
    }
    match PidFd::open(crate::current_pid()) {
        Ok(_) => true,
        Err(error) => {
            tracing::debug!(%error, "pidfd backend unavailable");
            false
        }
    }
}

pub struct Watches {
    sender: mpsc::UnboundedSender<Token>,
    tasks: HashMap<Token, JoinHandle<()>>,
}

impl Watches {
    pub fn new(sender: mpsc::UnboundedSender<Token>) -> Self {
        Self {
            sender,
            tasks: HashMap::new(),
        }
    }

    pub fn watch(
        &mut self,
        token: Token,
        pid: Pid,
        expected: &ProcessIdentity,
    ) -> io::Result<WatchOutcome> {
        self.unwatch(token);

        let Some(pidfd) = PidFd::open(pid)? else {
            return Ok(WatchOutcome::Exited);
        };
        // The pidfd is open before the identity is read, so if the check passes the
        // descriptor refers to the recorded process and cannot be reused.
        match identity::check(pid, expected)? {
            Liveness::Alive => {}
            Liveness::Gone => return Ok(WatchOutcome::Exited),
            Liveness::Reused => return Ok(WatchOutcome::Reused),
        }

        // SAFETY: an `OwnedFd` is open until dropped and its `as_raw_fd` always returns
        // the same descriptor; the `AsyncFd` owns it and nothing else can close it.
        let async_fd =
            unsafe { AsyncFd::register_with_interest(pidfd.into_owned_fd(), Interest::READABLE) }
                .map_err(|error| error.into_parts().1)?;
        let sender = self.sender.clone();
        let expected = expected.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok(mut guard) = async_fd.readable().await else {
                    // The reactor is shutting down with the runtime.
                    return;
                };
                if matches!(identity::check(pid, &expected), Ok(Liveness::Alive)) {
                    tracing::trace!(pid, "spurious pidfd readiness");
                    guard.clear_ready();
                    continue;
                }
                let _ = sender.send(token);
                return;
            }
        });
        self.tasks.insert(token, task);
        Ok(WatchOutcome::Watching)
    }

    pub fn unwatch(&mut self, token: Token) {
        if let Some(task) = self.tasks.remove(&token) {
            task.abort();
        }
    }

    pub fn is_watching(&self, token: Token) -> bool {
        self.tasks
            .get(&token)
            .is_some_and(|task| !task.is_finished())
    }
}
