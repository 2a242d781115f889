//! Starting a task's process in a clean signal state.
//!
//! A child inherits ignored signals and the blocked-signal mask across `exec`. The
//! standard library resets SIGPIPE and the mask, but when it takes glibc's
//! `posix_spawn` path (as it does for `process_group`), glibc leaves its two
//! internal signals (32 and 33) ignored in the new program. Installing a `pre_exec`
//! hook makes the standard library fork and exec itself, and the hook resets every
//! disposition and the mask in the child.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `command` start its program with every signal at its default disposition
/// and none blocked.
pub fn reset_signals_in_child(command: &mut Command) {
    // SAFETY: the hook runs in the child between fork and exec, where only
    // async-signal-safe functions may be called. It makes only the `rt_sigaction`
    // (or `sigaction`) and `pthread_sigmask` calls below, which are such functions,
    // and it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            // 64 covers the real-time signals of Linux, macOS and FreeBSD alike;
            // numbers a system lacks fail with EINVAL, which is ignored.
            for signo in 1..=64 {
                if signo != libc::SIGKILL && signo != libc::SIGSTOP {
                    set_default(signo);
                }
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
}

/// Sets `signo` to SIG_DFL with the raw system call, because glibc's `sigaction`
/// refuses its internal signals 32 and 33.
///
/// # Safety
/// Async-signal-safe; callable between fork and exec.
#[cfg(target_os = "linux")]
unsafe fn set_default(signo: i32) {
    // The kernel's `struct sigaction` with every field zero is SIG_DFL, no flags and
    // an empty mask on every Linux architecture, whatever its field order. Four
    // words cover its size on 64-bit targets; the mask size argument is 8 bytes.
    let action = [0u64; 4];
    // SAFETY: `action` outlives the call and is large enough for the kernel to read;
    // a null old-action pointer is allowed.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signo,
            action.as_ptr(),
            std::ptr::null_mut::<u64>(),
            8usize,
        );
    }
}

/// Sets `signo` to SIG_DFL.
///
/// # Safety
/// Async-signal-safe; callable between fork and exec.
#[cfg(not(target_os = "linux"))]
unsafe fn set_default(signo: i32) {
    // SAFETY: a zeroed `sigaction` with SIG_DFL and an empty mask is valid input,
    // and a null old-action pointer is allowed.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signo, &action, std::ptr::null_mut());
    }
}
