//! Decoding of kqueue `EVFILT_PROC` events into the tokens of exited processes.
//!
//! This part of the kqueue source makes no system calls, so it builds, and its tests
//! run, on every system. The `kqueue` module feeds it the events the kernel returns.
//! The flag values are the ones macOS and FreeBSD share in `<sys/event.h>`; on those
//! systems a compile-time check compares them with the `libc` constants.

use std::collections::HashMap;

use super::Token;
use crate::{ExitStatus, Pid};

/// `EV_ERROR`: the kernel could not apply a change, and `data` is the errno.
pub(crate) const EV_ERROR: u16 = 0x4000;
/// `NOTE_EXIT`: the process has exited.
pub(crate) const NOTE_EXIT: u32 = 0x8000_0000;
/// `NOTE_EXITSTATUS` (macOS only): `data` is the `wait` status.
pub(crate) const NOTE_EXITSTATUS: u32 = 0x0400_0000;

#[cfg(any(target_os = "macos", target_os = "freebsd"))]
const _: () = {
    assert!(EV_ERROR == libc::EV_ERROR);
    assert!(NOTE_EXIT == libc::NOTE_EXIT);
};
#[cfg(target_os = "macos")]
const _: () = assert!(NOTE_EXITSTATUS == libc::NOTE_EXITSTATUS);

/// The rule for where an `EVFILT_PROC` exit event carries the `wait` status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusReport {
    /// In `data` of every `NOTE_EXIT` event (FreeBSD).
    WithEveryExit,
    /// In `data` only when the event also has `NOTE_EXITSTATUS` in `fflags`, which
    /// macOS sets only for a watcher that registered with it.
    WhenFlagged,
}

/// The exit-status rule of this system.
pub(crate) const STATUS_REPORT: StatusReport = if cfg!(target_os = "freebsd") {
    StatusReport::WithEveryExit
} else {
    StatusReport::WhenFlagged
};

/// The fields of one `EVFILT_PROC` kevent that matter here; the kernel's `struct
/// kevent` differs in layout between systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcEvent {
    /// `ident`: the watched PID.
    pub pid: Pid,
    /// `flags`: `EV_*` bits.
    pub flags: u16,
    /// `fflags`: `NOTE_*` bits of the events that happened.
    pub fflags: u32,
    /// `data`: the `wait` status of an exit, or the errno of an `EV_ERROR`.
    pub data: i64,
}

/// The meaning of one event for the watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// The process exited; `status` is its `wait` status when the kernel reported it.
    Exited {
        pid: Pid,
        status: Option<ExitStatus>,
    },
    /// The kernel reported an error for the watch on `pid`.
    Failed { pid: Pid, errno: i32 },
    /// Another `EVFILT_PROC` event (fork, exec), which no watch requests.
    Ignored,
}

/// Decodes one event.
pub(crate) fn decode(event: &ProcEvent, report: StatusReport) -> Decoded {
    if event.flags & EV_ERROR != 0 {
        return Decoded::Failed {
            pid: event.pid,
            errno: i32::try_from(event.data).unwrap_or(i32::MAX),
        };
    }
    if event.fflags & NOTE_EXIT == 0 {
        return Decoded::Ignored;
    }

    let has_status = match report {
        StatusReport::WithEveryExit => true,
        StatusReport::WhenFlagged => event.fflags & NOTE_EXITSTATUS != 0,
    };
    // A `wait` status fits in 16 bits; macOS packs other detail above them.
    let status = has_status.then(|| ExitStatus::from_raw((event.data & 0xffff) as i32));
    Decoded::Exited {
        pid: event.pid,
        status,
    }
}

/// The tokens watching each PID.
///
/// A kqueue contains at most one `EVFILT_PROC` registration per PID, so two tokens
/// watching one process share it: the registration is added with the first token
/// and deleted with the last.
#[derive(Debug, Default)]
pub(crate) struct WatchTable {
    tokens_by_pid: HashMap<Pid, Vec<Token>>,
    pid_by_token: HashMap<Token, Pid>,
}

impl WatchTable {
    /// True when some token watches `pid`, so its registration exists.
    pub fn is_registered(&self, pid: Pid) -> bool {
        self.tokens_by_pid.contains_key(&pid)
    }

    pub fn contains(&self, token: Token) -> bool {
        self.pid_by_token.contains_key(&token)
    }

    /// Adds `token` as a watch on `pid`. The token must not be in the table.
    pub fn insert(&mut self, token: Token, pid: Pid) {
        self.pid_by_token.insert(token, pid);
        self.tokens_by_pid.entry(pid).or_default().push(token);
    }

    /// Removes `token` and returns its PID when it was the last token on that PID,
    /// whose registration the caller then deletes.
    pub fn remove(&mut self, token: Token) -> Option<Pid> {
        let pid = self.pid_by_token.remove(&token)?;
        let tokens = self.tokens_by_pid.get_mut(&pid)?;
        tokens.retain(|&watching| watching != token);
        if !tokens.is_empty() {
            return None;
        }
        self.tokens_by_pid.remove(&pid);
        Some(pid)
    }

    /// Removes and returns every token watching `pid`.
    pub fn take_pid(&mut self, pid: Pid) -> Vec<Token> {
        let tokens = self.tokens_by_pid.remove(&pid).unwrap_or_default();
        for token in &tokens {
            self.pid_by_token.remove(token);
        }
        tokens
    }
}

/// Translates one event into the exits it reports, one per watching token, and
/// drops those tokens from `table`. An error or an unwatched PID yields nothing.
pub(crate) fn exits(
    event: &ProcEvent,
    report: StatusReport,
    table: &mut WatchTable,
) -> Vec<(Token, Option<ExitStatus>)> {
    match decode(event, report) {
        Decoded::Exited { pid, status } => table
            .take_pid(pid)
            .into_iter()
            .map(|token| (token, status))
            .collect(),
        Decoded::Failed { .. } | Decoded::Ignored => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit_event(pid: Pid, fflags: u32, data: i64) -> ProcEvent {
        ProcEvent {
            pid,
            flags: 0x8000 | 0x0010, // EV_EOF | EV_ONESHOT, as the kernel sets on exit
            fflags,
            data,
        }
    }

    #[test]
    fn freebsd_exit_carries_status() {
        let event = exit_event(42, NOTE_EXIT, 3 << 8);
        let decoded = decode(&event, StatusReport::WithEveryExit);
        let Decoded::Exited { pid, status } = decoded else {
            panic!("expected an exit, got {decoded:?}");
        };
        assert_eq!(pid, 42);
        assert_eq!(status.and_then(|status| status.code), Some(3));
    }

    #[test]
    fn macos_exit_without_flag_has_no_status() {
        let event = exit_event(42, NOTE_EXIT, 0);
        assert_eq!(
            decode(&event, StatusReport::WhenFlagged),
            Decoded::Exited {
                pid: 42,
                status: None
            }
        );
    }

    #[test]
    fn macos_exit_with_flag_has_signal() {
        // SIGKILL (9) with the core-dump bit clear; detail bits above 16 are masked.
        let event = exit_event(7, NOTE_EXIT | NOTE_EXITSTATUS, 0x10_0000 | 9);
        let Decoded::Exited { status, .. } = decode(&event, StatusReport::WhenFlagged) else {
            panic!("expected an exit");
        };
        let status = status.expect("status reported");
        assert_eq!(status.signal, Some(9));
        assert_eq!(status.code, None);
    }

    #[test]
    fn error_event_is_failure() {
        let event = ProcEvent {
            pid: 9,
            flags: EV_ERROR,
            fflags: 0,
            data: 3,
        };
        assert_eq!(
            decode(&event, StatusReport::WithEveryExit),
            Decoded::Failed { pid: 9, errno: 3 }
        );
    }

    #[test]
    fn fork_event_is_ignored() {
        let event = ProcEvent {
            pid: 9,
            flags: 0,
            fflags: 0x4000_0000, // NOTE_FORK
            data: 0,
        };
        assert_eq!(
            decode(&event, StatusReport::WithEveryExit),
            Decoded::Ignored
        );
    }

    #[test]
    fn exit_reaches_every_token_on_pid() {
        let mut table = WatchTable::default();
        table.insert(1, 100);
        table.insert(2, 100);
        table.insert(3, 200);

        let mut found = exits(
            &exit_event(100, NOTE_EXIT, 0),
            StatusReport::WithEveryExit,
            &mut table,
        );
        found.sort_by_key(|(token, _)| *token);
        let tokens: Vec<Token> = found.iter().map(|(token, _)| *token).collect();
        assert_eq!(tokens, vec![1, 2]);
        assert!(
            found
                .iter()
                .all(|(_, status)| status.and_then(|status| status.code) == Some(0))
        );

        assert!(!table.contains(1));
        assert!(!table.contains(2));
        assert!(!table.is_registered(100));
        assert!(table.contains(3));
    }

    #[test]
    fn exit_of_unwatched_pid_yields_nothing() {
        let mut table = WatchTable::default();
        table.insert(1, 100);
        let found = exits(
            &exit_event(300, NOTE_EXIT, 0),
            StatusReport::WithEveryExit,
            &mut table,
        );
        assert!(found.is_empty());
        assert!(table.contains(1));
    }

    #[test]
    fn error_event_keeps_watches() {
        let mut table = WatchTable::default();
        table.insert(1, 100);
        let event = ProcEvent {
            pid: 100,
            flags: EV_ERROR,
            fflags: 0,
            data: 3,
        };
        assert!(exits(&event, StatusReport::WithEveryExit, &mut table).is_empty());
        assert!(table.contains(1));
    }

    #[test]
    fn remove_reports_last_token_only() {
        let mut table = WatchTable::default();
        table.insert(1, 100);
        table.insert(2, 100);
        assert_eq!(table.remove(1), None);
        assert!(table.is_registered(100));
        assert_eq!(table.remove(2), Some(100));
        assert!(!table.is_registered(100));
        assert_eq!(table.remove(2), None);
    }
}
