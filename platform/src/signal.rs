//! Signal names and numbers, and signals sent only to a verified process.
//!
//! Numbers differ between Linux, macOS and FreeBSD, so the table is built from the
//! target's own `libc` constants.

use std::io;

use crate::Pid;
use crate::identity::{self, Liveness, ProcessIdentity};

const SIGNALS: &[(i32, &str)] = &[
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGILL, "SIGILL"),
    (libc::SIGTRAP, "SIGTRAP"),
    (libc::SIGABRT, "SIGABRT"),
    (libc::SIGBUS, "SIGBUS"),
    (libc::SIGFPE, "SIGFPE"),
    (libc::SIGKILL, "SIGKILL"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGSEGV, "SIGSEGV"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGPIPE, "SIGPIPE"),
    (libc::SIGALRM, "SIGALRM"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGCHLD, "SIGCHLD"),
    (libc::SIGCONT, "SIGCONT"),
    (libc::SIGSTOP, "SIGSTOP"),
    (libc::SIGTSTP, "SIGTSTP"),
    (libc::SIGTTIN, "SIGTTIN"),
    (libc::SIGTTOU, "SIGTTOU"),
    (libc::SIGURG, "SIGURG"),
    (libc::SIGXCPU, "SIGXCPU"),
    (libc::SIGXFSZ, "SIGXFSZ"),
    (libc::SIGVTALRM, "SIGVTALRM"),
    (libc::SIGPROF, "SIGPROF"),
    (libc::SIGWINCH, "SIGWINCH"),
    (libc::SIGIO, "SIGIO"),
    (libc::SIGSYS, "SIGSYS"),
];

/// Returns the name of a signal number, such as `SIGTERM`, or `SIG<n>` for one
/// without a name (real-time signals).
pub fn name(signo: i32) -> String {
    SIGNALS
        .iter()
        .find(|(number, _)| *number == signo)
        .map(|(_, name)| (*name).to_string())
        .unwrap_or_else(|| format!("SIG{signo}"))
}

/// Parses `TERM`, `SIGTERM`, `sigterm` or `15` into a signal number.
pub fn parse(text: &str) -> Option<i32> {
    if let Ok(number) = text.parse::<i32>() {
        return (1..=64).contains(&number).then_some(number);
    }
    let upper = text.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    SIGNALS
        .iter()
        .find(|(_, name)| *name == full)
        .map(|(number, _)| *number)
}

/// The outcome of a signal sent with [`send_verified`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The recorded process was alive and got the signal.
    Sent,
    /// The process had already exited (or is a zombie); nothing was sent.
    Gone,
    /// The PID now belongs to another process; nothing was sent.
    Reused,
}

/// Sends `signo` to `pid` only if it is still the process described by `expected`.
///
/// On Linux the process is pinned with a pidfd before its identity is read, and the
/// signal goes through that pidfd, so a PID reused after the check cannot receive
/// it. Where pidfds are unavailable the check and the `kill` are two steps and a
/// reuse in between, within microseconds, is not excluded.
pub fn send_verified(pid: Pid, expected: &ProcessIdentity, signo: i32) -> io::Result<Delivery> {
    #[cfg(target_os = "linux")]
    if crate::pidfd::supported() {
        let Some(pidfd) = crate::pidfd::PidFd::open(pid)? else {
            return Ok(Delivery::Gone);
        };
        return match identity::check(pid, expected)? {
            Liveness::Alive => pidfd.send_signal(signo),
            Liveness::Gone => Ok(Delivery::Gone),
            Liveness::Reused => Ok(Delivery::Reused),
        };
    }

    match identity::check(pid, expected)? {
        Liveness::Alive => send_unverified(pid, signo),
        Liveness::Gone => Ok(Delivery::Gone),
        Liveness::Reused => Ok(Delivery::Reused),
    }
}

/// Sends `signo` with plain `kill(2)`. Callers must have verified the identity.
pub(crate) fn send_unverified(pid: Pid, signo: i32) -> io::Result<Delivery> {
    let Some(target) = rustix::process::Pid::from_raw(pid) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid PID {pid}"),
        ));
    };
    let Some(signal) = rustix::process::Signal::from_named_raw(signo) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid signal {signo}"),
        ));
    };
    match rustix::process::kill_process(target, signal) {
        Ok(()) => Ok(Delivery::Sent),
        Err(rustix::io::Errno::SRCH) => Ok(Delivery::Gone),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_numbers() {
        assert_eq!(parse("TERM"), Some(libc::SIGTERM));
        assert_eq!(parse("sigkill"), Some(libc::SIGKILL));
        assert_eq!(parse("9"), Some(9));
        assert_eq!(parse("0"), None);
        assert_eq!(parse("NOPE"), None);
    }

    #[test]
    fn names_unknown_numbers() {
        assert_eq!(name(libc::SIGINT), "SIGINT");
        assert_eq!(name(40), "SIG40");
    }
}
