//! How a process ended, decoded from a `waitpid` status.

use crate::signal;

/// The end of a process as its parent saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// The code passed to `exit`, when the process exited normally.
    pub code: Option<i32>,
    /// The signal number that ended the process, when a signal did.
    pub signal: Option<i32>,
    /// True when the kernel wrote a core dump as the process died.
    pub core_dumped: bool,
}

impl ExitStatus {
    /// Decodes a raw status as `waitpid(2)` stores it.
    pub fn from_raw(raw: i32) -> Self {
        if libc::WIFEXITED(raw) {
            Self {
                code: Some(libc::WEXITSTATUS(raw)),
                signal: None,
                core_dumped: false,
            }
        } else if libc::WIFSIGNALED(raw) {
            Self {
                code: None,
                signal: Some(libc::WTERMSIG(raw)),
                core_dumped: libc::WCOREDUMP(raw),
            }
        } else {
            Self {
                code: None,
                signal: None,
                core_dumped: false,
            }
        }
    }

    /// Returns the signal's name, such as `SIGKILL`, when a signal ended the process.
    pub fn signal_name(&self) -> Option<String> {
        self.signal.map(signal::name)
    }

    /// Returns the status a shell would report: the exit code, or 128 plus the signal.
    pub fn shell_code(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(code), _) => code,
            (None, Some(signo)) => 128 + signo,
            (None, None) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exit_code() {
        let status = ExitStatus::from_raw(3 << 8);
        assert_eq!(status.code, Some(3));
        assert_eq!(status.signal, None);
        assert_eq!(status.shell_code(), 3);
    }

    #[test]
    fn decodes_signal_with_core() {
        let status = ExitStatus::from_raw(libc::SIGSEGV | 0x80);
        assert_eq!(status.code, None);
        assert_eq!(status.signal, Some(libc::SIGSEGV));
        assert!(status.core_dumped);
        assert_eq!(status.signal_name().as_deref(), Some("SIGSEGV"));
        assert_eq!(status.shell_code(), 128 + libc::SIGSEGV);
    }
}
