//! Exit-event sources: one interface, one module per kernel mechanism.
//!
//! A source watches processes it did not start and reports, by token, each one that
//! exits. It reports only *that* a process ended. On Linux this crate reads an exit
//! status only as the parent (the monitor, as parent, records it). kqueue reports it
//! on FreeBSD, and on macOS for our own children, but the channel carries tokens
//! only.
//!
//! | backend | module | kernel feature |
//! | --- | --- | --- |
//! | `pidfd` | [`pidfd`] | Linux 5.3+ `pidfd_open`, readable on exit |
//! | `kqueue` | `kqueue` | macOS and FreeBSD `EVFILT_PROC` with `NOTE_EXIT`, one kqueue for all watches |
//! | `poll` | [`poll`] | none: identity checks on an interval |
//!
//! Every source must run inside a tokio runtime: watches are tokio tasks that send
//! the token of an exited process into one channel, which [`ExitSource::next_exit`]
//! reads.

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub mod kqueue;
#[cfg(target_os = "linux")]
pub mod pidfd;
pub mod poll;
// Elsewhere only the tests use it; they run on every system.
#[cfg(any(target_os = "macos", target_os = "freebsd", test))]
#[cfg_attr(not(any(target_os = "macos", target_os = "freebsd")), allow(dead_code))]
mod proc_event;

use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::{Pid, ProcessIdentity};

/// The caller's name for one watch, returned when that process exits.
pub type Token = u64;

/// A mechanism for learning of process exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Pidfd,
    Kqueue,
    Poll,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Pidfd => "pidfd",
            Backend::Kqueue => "kqueue",
            Backend::Poll => "poll",
        }
    }

    /// Returns the backends this machine supports, best first.
    pub fn available() -> Vec<Backend> {
        let mut backends = Vec::new();
        #[cfg(target_os = "linux")]
        if pidfd::probe() {
            backends.push(Backend::Pidfd);
        }
        #[cfg(any(target_os = "macos", target_os = "freebsd"))]
        if kqueue::probe() {
            backends.push(Backend::Kqueue);
        }
        backends.push(Backend::Poll);
        backends
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "pidfd" => Ok(Backend::Pidfd),
            "kqueue" => Ok(Backend::Kqueue),
            "poll" => Ok(Backend::Poll),
            other => Err(format!(
                "unknown backend {other:?}; use auto, pidfd, kqueue or poll"
            )),
        }
    }
}

/// The state of a process at the moment a watch was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchOutcome {
    /// The process is alive and its exit will be reported.
    Watching,
    /// The process had already exited; no exit will be reported for it.
    Exited,
    /// The PID belongs to another process now; the recorded one has exited.
    Reused,
}

/// One exit-event source with its set of watches.
pub struct ExitSource {
    backend: Backend,
    receiver: mpsc::UnboundedReceiver<Token>,
    watches: Watches,
}

enum Watches {
    #[cfg(target_os = "linux")]
    Pidfd(pidfd::Watches),
    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    Kqueue(kqueue::Watches),
    Poll(poll::Watches),
}

impl ExitSource {
    /// Creates a source for `backend`. `poll_interval` is used only by `poll`.
    ///
    /// A backend this machine lacks is an `Unsupported` error naming the ones it has.
    pub fn new(backend: Backend, poll_interval: Duration) -> io::Result<Self> {
        if !Backend::available().contains(&backend) {
            let names: Vec<&str> = Backend::available().iter().map(|b| b.name()).collect();
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "backend {backend} is not available on this machine; available: {}",
                    names.join(", ")
                ),
            ));
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let watches = match backend {
            #[cfg(target_os = "linux")]
            Backend::Pidfd => Watches::Pidfd(pidfd::Watches::new(sender)),
            #[cfg(any(target_os = "macos", target_os = "freebsd"))]
            Backend::Kqueue => Watches::Kqueue(kqueue::Watches::new(sender)?),
            Backend::Poll => Watches::Poll(poll::Watches::new(sender, poll_interval)),
            _ => unreachable!("availability was checked above"),
        };
        Ok(Self {
            backend,
            receiver,
            watches,
        })
    }

    /// Creates a source with the best backend this machine supports.
    pub fn best(poll_interval: Duration) -> io::Result<Self> {
        let backend = Backend::available()[0];
        tracing::debug!(backend = backend.name(), "chose exit-event backend");
        Self::new(backend, poll_interval)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts watching `pid`, which must still be the process `identity` describes.
    /// Watching a token again replaces its earlier watch.
    pub fn watch(
        &mut self,
        token: Token,
        pid: Pid,
        identity: &ProcessIdentity,
    ) -> io::Result<WatchOutcome> {
        match &mut self.watches {
            #[cfg(target_os = "linux")]
            Watches::Pidfd(watches) => watches.watch(token, pid, identity),
            #[cfg(any(target_os = "macos", target_os = "freebsd"))]
            Watches::Kqueue(watches) => watches.watch(token, pid, identity),
            Watches::Poll(watches) => watches.watch(token, pid, identity),
        }
    }

    /// Stops watching `token`; an exit already queued for it may still be returned.
    pub fn unwatch(&mut self, token: Token) {
        match &mut self.watches {
            #[cfg(target_os = "linux")]
            Watches::Pidfd(watches) => watches.unwatch(token),
            #[cfg(any(target_os = "macos", target_os = "freebsd"))]
            Watches::Kqueue(watches) => watches.unwatch(token),
            Watches::Poll(watches) => watches.unwatch(token),
        }
    }

    /// True when `token` has a watch that has not fired.
    pub fn is_watching(&self, token: Token) -> bool {
        match &self.watches {
            #[cfg(target_os = "linux")]
            Watches::Pidfd(watches) => watches.is_watching(token),
            #[cfg(any(target_os = "macos", target_os = "freebsd"))]
            Watches::Kqueue(watches) => watches.is_watching(token),
            Watches::Poll(watches) => watches.is_watching(token),
        }
    }

    /// Waits for the next exit and returns its token. Never returns `None` while the
    /// source exists, because the source keeps a sender itself.
    pub async fn next_exit(&mut self) -> Option<Token> {
        let token = self.receiver.recv().await?;
        self.unwatch(token);
        Some(token)
    }

    /// Returns an exit that is already queued, without waiting, so a burst of exits
    /// can be handled as one batch.
    pub fn queued_exit(&mut self) -> Option<Token> {
        let token = self.receiver.try_recv().ok()?;
        self.unwatch(token);
        Some(token)
    }
}
