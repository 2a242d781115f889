//! Detaching a process from its caller: a new session, default signal dispositions,
//! and standard streams pointed away from the caller's pipes.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

/// Starts a new session with the caller as leader, leaving the caller's terminal
/// and process group.
pub fn new_session() -> io::Result<()> {
    rustix::process::setsid()?;
    Ok(())
}

/// Resets every catchable signal except SIGPIPE to its default disposition.
///
/// Ignored signals survive `exec`, so a monitor started from `nohup` or from a shell
/// that ignores SIGINT would otherwise pass that on to every task. Handlers do not
/// survive `exec`, but resetting them too leaves the monitor in a known state.
///
/// SIGPIPE stays ignored, as the Rust runtime set it, so a write to a pipe whose
/// reader has gone fails with EPIPE instead of killing the caller. The standard
/// library resets SIGPIPE and the blocked-signal mask in every child it spawns.
pub fn reset_signal_dispositions() {
    // 64 covers the real-time signals of Linux, macOS and FreeBSD alike.
    for signo in 1..=64 {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP || signo == libc::SIGPIPE {
            continue;
        }
        // SAFETY: `signal` with SIG_DFL installs no handler, so no Rust code runs in
        // signal context; numbers the kernel rejects return SIG_ERR, which is ignored.
        unsafe {
            libc::signal(signo, libc::SIG_DFL);
        }
    }
}

/// Points standard output at `/dev/null`, closing whatever it was (a pipe that the
/// caller reads to end of file).
pub fn detach_stdout() -> io::Result<()> {
    let null = File::options().write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdout(null.as_fd())?;
    Ok(())
}
