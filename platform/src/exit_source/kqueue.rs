//! Exit events from kqueue `EVFILT_PROC` with `NOTE_EXIT`, on macOS and FreeBSD.
//!
//! Minimum versions are those of the Rust targets: macOS 10.12, and FreeBSD 12 (the
//! ABI the `libc` crate builds for). `EVFILT_PROC` is older than both.
//!
//! One kqueue contains every watch: its descriptor is registered with tokio's reactor,
//! and one task drains it with a zero-timeout `kevent` whenever it turns readable,
//! sending the tokens of exited processes on the channel. An idle source costs one
//! descriptor and one parked task, however many processes it watches, and makes no
//! wake-ups.
//!
//! A watch is registered before the process's identity is read, so if the check
//! passes, the registration is on the recorded process, and an exit after the check
//! is queued for it. A registration that fails with ESRCH means the process has
//! already exited (macOS refuses zombies this way too); FreeBSD accepts a zombie and
//! reports its exit at once. Either way the watch returns
//! [`WatchOutcome::Exited`].
//!
//! Limits:
//! - The kernel keys registrations by PID, so tokens watching the same process share
//!   one registration, added with the first token and deleted with the last.
//! - FreeBSD puts the `wait` status in every exit event. macOS does so only with
//!   `NOTE_EXITSTATUS`, which xnu's `filt_procattach` grants only to the process's
//!   parent (or its tracer waiting to become the parent) and rejects for others with
//!   EACCES. Registration retries without it on EACCES, EPERM or EINVAL. The channel
//!   carries only tokens, so a status read here is logged at debug and not passed on.
//! - On macOS an exit of a traced process is reported only once its tracer has
//!   reaped it and handed it back to its parent.
//! - An error event for a registered PID is logged and its tokens stay watched, so
//!   the daemon's sweep is what notices that process's exit. No such event is
//!   expected, because the source never changes a registration while draining.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustix::event::Timespec;
use rustix::event::kqueue::{Event, EventFilter, EventFlags, ProcessEvents, kevent_timespec};
use rustix::io::Errno;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::proc_event::{self, Decoded, ProcEvent, STATUS_REPORT, WatchTable};
use super::{Token, WatchOutcome};
use crate::identity::{self, Liveness};
use crate::{Pid, ProcessIdentity};

/// Events read per `kevent` call while draining.
const DRAIN_BATCH: usize = 64;

const NO_WAIT: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

/// True when this machine lets us create a kqueue and watch a process with it.
pub fn probe() -> bool {
    let result = rustix::event::kqueue::kqueue()
        .and_then(|queue| add_exit_watch(queue.as_fd(), crate::current_pid()));
    match result {
        Ok(()) => true,
        Err(error) => {
            tracing::debug!(%error, "kqueue backend unavailable");
            false
        }
    }
}

pub struct Watches {
    queue: Arc<AsyncFd<OwnedFd>>,
    table: Arc<Mutex<WatchTable>>,
    sender: mpsc::UnboundedSender<Token>,
    drainer: JoinHandle<()>,
}

impl Watches {
    /// Creates the kqueue and starts the task that drains it.
    pub fn new(sender: mpsc::UnboundedSender<Token>) -> io::Result<Self> {
        let queue = rustix::event::kqueue::kqueue()?;
        // SAFETY: an `OwnedFd` is open until dropped and its `as_raw_fd` always returns
        // the same descriptor; the `AsyncFd` owns it and nothing else can close it.
        let queue = unsafe { AsyncFd::register_with_interest(queue, Interest::READABLE) }
            .map_err(|error| error.into_parts().1)?;
        let queue = Arc::new(queue);
        let table: Arc<Mutex<WatchTable>> = Arc::default();
        let drainer = tokio::spawn(drain_when_readable(
            Arc::clone(&queue),
            Arc::clone(&table),
            sender.clone(),
        ));
        Ok(Self {
            queue,
            table,
            sender,
            drainer,
        })
    }

    pub fn watch(
        &mut self,
        token: Token,
        pid: Pid,
        expected: &ProcessIdentity,
    ) -> io::Result<WatchOutcome> {
        self.unwatch(token);
        let queue = self.queue.get_ref().as_fd();
        let mut table = lock(&self.table);

        // Exits already queued go out first. One may be of an earlier process with
        // this PID: it belongs to that process's tokens, and reading it removes the
        // old one-shot registration, so the one added below is on the current process.
        if let Err(error) = drain(queue, &mut table, &self.sender) {
            tracing::warn!(%error, "cannot read kqueue events");
        }

        if !table.is_registered(pid) {
            match register_exit(queue, pid) {
                Ok(()) => {}
                Err(Errno::SRCH) => return Ok(WatchOutcome::Exited),
                Err(error) => return Err(error.into()),
            }
        }
        table.insert(token, pid);

        let outcome = match identity::check(pid, expected) {
            Ok(Liveness::Alive) => return Ok(WatchOutcome::Watching),
            Ok(Liveness::Gone) => Ok(WatchOutcome::Exited),
            Ok(Liveness::Reused) => Ok(WatchOutcome::Reused),
            Err(error) => Err(error),
        };
        // Deleting the registration also discards an exit it queued after the check.
        if let Some(unwatched) = table.remove(token) {
            delete_exit_watch(queue, unwatched);
        }
        outcome
    }

    pub fn unwatch(&mut self, token: Token) {
        let mut table = lock(&self.table);
        if let Some(pid) = table.remove(token) {
            delete_exit_watch(self.queue.get_ref().as_fd(), pid);
        }
    }

    pub fn is_watching(&self, token: Token) -> bool {
        lock(&self.table).contains(token)
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        self.drainer.abort();
    }
}

fn lock(table: &Mutex<WatchTable>) -> MutexGuard<'_, WatchTable> {
    // A panic while holding this lock can only come from a HashMap operation; the
    // table is still consistent, so keep using it.
    table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Drains the kqueue each time the reactor reports it readable.
async fn drain_when_readable(
    queue: Arc<AsyncFd<OwnedFd>>,
    table: Arc<Mutex<WatchTable>>,
    sender: mpsc::UnboundedSender<Token>,
) {
    loop {
        let Ok(mut guard) = queue.readable().await else {
            // The reactor is shutting down with the runtime.
            return;
        };
        let result = drain(queue.get_ref().as_fd(), &mut lock(&table), &sender);
        if let Err(error) = result {
            tracing::warn!(%error, "cannot read kqueue events");
        }
        // Readiness that arrived after the last read is kept by tokio, so clearing
        // here loses no event.
        guard.clear_ready();
        if sender.is_closed() {
            return;
        }
    }
}

/// Reads every queued event without blocking and sends the tokens of exited
/// processes. The caller holds the table's lock, so adding or removing a watch
/// never interleaves with a drain.
fn drain(
    queue: BorrowedFd<'_>,
    table: &mut WatchTable,
    sender: &mpsc::UnboundedSender<Token>,
) -> io::Result<()> {
    let mut buffer = [MaybeUninit::<Event>::uninit(); DRAIN_BATCH];
    loop {
        // SAFETY: `kevent` requires descriptors named by registered events to stay
        // open, and this kqueue contains only `EVFILT_PROC` events, which name PIDs.
        let result = unsafe { kevent_timespec(queue, &[], &mut buffer, Some(&NO_WAIT)) };
        let events = match result {
            Ok((events, _)) => events,
            Err(Errno::INTR) => continue,
            Err(error) => return Err(error.into()),
        };
        for event in events.iter() {
            dispatch(event, table, sender);
        }
        if events.len() < DRAIN_BATCH {
            return Ok(());
        }
    }
}

fn dispatch(event: &Event, table: &mut WatchTable, sender: &mpsc::UnboundedSender<Token>) {
    let Some(event) = proc_event_of(event) else {
        return;
    };
    if let Decoded::Failed { pid, errno } = proc_event::decode(&event, STATUS_REPORT) {
        let error = io::Error::from_raw_os_error(errno);
        tracing::warn!(pid, %error, "kqueue reported an error for a watched process");
        return;
    }
    for (token, status) in proc_event::exits(&event, STATUS_REPORT, table) {
        tracing::debug!(pid = event.pid, token, ?status, "process exited");
        // A closed channel means the source is being dropped, so the token has no reader.
        let _ = sender.send(token);
    }
}

fn proc_event_of(event: &Event) -> Option<ProcEvent> {
    match event.filter() {
        EventFilter::Proc { pid, flags } => Some(ProcEvent {
            pid: pid.as_raw_nonzero().get(),
            flags: event.flags().bits(),
            fflags: flags.bits(),
            data: event.data(),
        }),
        _ => None,
    }
}

/// Registers for the exit of `pid`, asking for its `wait` status where the system
/// may grant it.
fn register_exit(queue: BorrowedFd<'_>, pid: Pid) -> rustix::io::Result<()> {
    #[cfg(target_os = "macos")]
    {
        let with_status =
            ProcessEvents::EXIT | ProcessEvents::from_bits_retain(libc::NOTE_EXITSTATUS);
        match add_filter(queue, pid, with_status) {
            // Not our child: macOS grants the status only to the parent.
            Err(Errno::ACCESS | Errno::PERM | Errno::INVAL) => {}
            other => return other,
        }
    }
    add_exit_watch(queue, pid)
}

/// Registers `queue` for the exit of `pid`; ESRCH when the process has already
/// exited (on macOS also when it is a zombie).
pub(crate) fn add_exit_watch(queue: BorrowedFd<'_>, pid: Pid) -> rustix::io::Result<()> {
    add_filter(queue, pid, ProcessEvents::EXIT)
}

fn add_filter(queue: BorrowedFd<'_>, pid: Pid, events: ProcessEvents) -> rustix::io::Result<()> {
    let Some(target) = rustix::process::Pid::from_raw(pid.max(0)) else {
        return Err(Errno::SRCH);
    };
    let change = Event::new(
        EventFilter::Proc {
            pid: target,
            flags: events,
        },
        EventFlags::ADD,
        std::ptr::null_mut(),
    );
    let mut no_events: [Event; 0] = [];
    // SAFETY: `kevent` requires descriptors named by registered events to stay open;
    // `EVFILT_PROC` events name PIDs. With no room for events, an error in the change
    // is returned as the call's error.
    unsafe { kevent_timespec(queue, &[change], &mut no_events, Some(&NO_WAIT)) }.map(|_| ())
}

/// Deletes the registration for `pid`. One that fired has already gone with its
/// event (the kernel makes exit events one-shot), so ENOENT and ESRCH are expected.
fn delete_exit_watch(queue: BorrowedFd<'_>, pid: Pid) {
    let Some(target) = rustix::process::Pid::from_raw(pid.max(0)) else {
        return;
    };
    let change = Event::new(
        EventFilter::Proc {
            pid: target,
            flags: ProcessEvents::EXIT,
        },
        EventFlags::DELETE,
        std::ptr::null_mut(),
    );
    let mut no_events: [Event; 0] = [];
    // SAFETY: as in `add_filter`; a deletion names the same PID.
    let result = unsafe { kevent_timespec(queue, &[change], &mut no_events, Some(&NO_WAIT)) };
    match result {
        Ok(_) | Err(Errno::NOENT | Errno::SRCH) => {}
        Err(error) => tracing::debug!(pid, %error, "cannot delete kqueue registration"),
    }
}

/// Blocks until `queue` returns one event or `limit` passes.
pub(crate) fn wait_for_event(queue: BorrowedFd<'_>, limit: Duration) -> io::Result<()> {
    let timeout = Timespec {
        tv_sec: limit.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: limit.subsec_nanos() as _,
    };
    let mut buffer = [MaybeUninit::<Event>::uninit(); 1];
    // SAFETY: as in `drain`; the callers register only `EVFILT_PROC` events.
    match unsafe { kevent_timespec(queue, &[], &mut buffer, Some(&timeout)) } {
        Ok(_) | Err(Errno::INTR) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
