//! `tw-test-helper`: the program the integration tests run as tasks.
//!
//! ```text
//! tw-test-helper forker --children N [--setsid] [--double-fork] [--sleep SECS] [--child-sleep SECS]
//! tw-test-helper exit CODE
//! tw-test-helper signal NAME        (SEGV, ABRT, KILL or TERM, sent to itself)
//! tw-test-helper sleep SECS
//! tw-test-helper print-env NAME
//! tw-test-helper print-lines --bytes N
//! ```
//!
//! `forker` starts N descendants that sleep for `--child-sleep` seconds (default 300),
//! prints one line per descendant with only its PID, flushes, then sleeps for `--sleep`
//! seconds (default 300) and exits 0. `--setsid` puts each descendant in a new session,
//! so it leaves the forker's process group. `--double-fork` starts each descendant
//! through an intermediate process that exits at once, so the descendant is orphaned
//! and reparented to the nearest subreaper.
//!
//! `print-lines` writes numbered lines of [`LINE_BYTES`] bytes each to stdout, enough
//! of them to reach N bytes (rounded up to a whole line), and exits 0. Line `i`, from
//! 0, is `i` in ten digits, a space, then `x` up to the newline. The tests rebuild the
//! same bytes with `common::numbered_line`. N takes a `k`, `M` or `G` suffix (powers
//! of 1024).
//!
//! Usage errors exit 2.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::Duration;

/// How long a forked descendant sleeps when `--child-sleep` is not given.
const DEFAULT_CHILD_SLEEP_SECS: f64 = 300.0;

/// The length of each line `print-lines` writes, newline included.
const LINE_BYTES: u64 = 64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((subcommand, rest)) = args.split_first() else {
        return usage("missing subcommand");
    };
    match subcommand.as_str() {
        "forker" => forker(rest),
        "spawn-orphan" => spawn_orphan(rest),
        "exit" => match rest.first().map(|code| code.parse::<u8>()) {
            Some(Ok(code)) => ExitCode::from(code),
            _ => usage("exit needs a code from 0 to 255"),
        },
        "signal" => match rest.first() {
            Some(name) => kill_self(name),
            None => usage("signal needs a name such as KILL"),
        },
        "sleep" => match rest.first().map(|secs| secs.parse::<f64>()) {
            Some(Ok(secs)) => {
                thread::sleep(Duration::from_secs_f64(secs));
                ExitCode::SUCCESS
            }
            _ => usage("sleep needs a number of seconds"),
        },
        "print-lines" => match rest {
            [flag, bytes] if flag == "--bytes" => match parse_bytes(bytes) {
                Some(bytes) => print_lines(bytes),
                None => usage("print-lines --bytes needs a byte count such as 1048576 or 8M"),
            },
            _ => usage("print-lines needs --bytes N"),
        },
        "print-env" => match rest.first() {
            Some(name) => {
                match std::env::var(name) {
                    Ok(value) => println!("{name}={value}"),
                    Err(_) => println!("{name} is not set"),
                }
                ExitCode::SUCCESS
            }
            None => usage("print-env needs a variable name"),
        },
        other => usage(&format!("unknown subcommand {other:?}")),
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!(
        "tw-test-helper: {problem}; see the usage at the top of tests/helper/tw_test_helper.rs"
    );
    ExitCode::from(2)
}

/// Options of `forker`, also passed on to `spawn-orphan`.
struct ForkOptions {
    children: usize,
    setsid: bool,
    double_fork: bool,
    sleep_secs: f64,
    child_sleep_secs: f64,
}

fn parse_fork_options(args: &[String]) -> Result<ForkOptions, String> {
    let mut options = ForkOptions {
        children: 1,
        setsid: false,
        double_fork: false,
        sleep_secs: 300.0,
        child_sleep_secs: DEFAULT_CHILD_SLEEP_SECS,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--children" => {
                options.children = value()?
                    .parse()
                    .map_err(|_| "invalid --children".to_string())?
            }
            "--sleep" => {
                options.sleep_secs = value()?
                    .parse()
                    .map_err(|_| "invalid --sleep".to_string())?
            }
            "--child-sleep" => {
                options.child_sleep_secs = value()?
                    .parse()
                    .map_err(|_| "invalid --child-sleep".to_string())?;
            }
            "--setsid" => options.setsid = true,
            "--double-fork" => options.double_fork = true,
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(options)
}

fn forker(args: &[String]) -> ExitCode {
    let options = match parse_fork_options(args) {
        Ok(options) => options,
        Err(problem) => return usage(&problem),
    };

    let mut stdout = std::io::stdout();
    for _ in 0..options.children {
        let pid = if options.double_fork {
            spawn_through_intermediate(&options)
        } else {
            spawn_sleeper(options.setsid, options.child_sleep_secs).map(|child| child.id())
        };
        match pid {
            Ok(pid) => {
                // The tests read these lines from the task's log while it runs.
                let _ = writeln!(stdout, "{pid}").and_then(|()| stdout.flush());
            }
            Err(error) => {
                eprintln!("tw-test-helper: cannot start a descendant: {error}");
                return ExitCode::FAILURE;
            }
        }
    }

    thread::sleep(Duration::from_secs_f64(options.sleep_secs));
    ExitCode::SUCCESS
}

/// Starts `tw-test-helper sleep SECS`, optionally in a new session. The child is
/// not waited for: it must outlive this process or be ended by the watchdog.
fn spawn_sleeper(setsid: bool, secs: f64) -> std::io::Result<std::process::Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("sleep")
        .arg(secs.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if setsid {
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent,
        // so it may run between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command.spawn()
}

/// Runs `spawn-orphan` and reads the PID it prints; the intermediate exits at once,
/// so the sleeper it started is orphaned.
fn spawn_through_intermediate(options: &ForkOptions) -> std::io::Result<u32> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("spawn-orphan")
        .arg("--child-sleep")
        .arg(options.child_sleep_secs.to_string());
    if options.setsid {
        command.arg("--setsid");
    }
    let mut intermediate = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;

    let mut line = String::new();
    if let Some(stdout) = intermediate.stdout.take() {
        BufReader::new(stdout).read_line(&mut line)?;
    }
    intermediate.wait()?;
    line.trim()
        .parse()
        .map_err(|_| std::io::Error::other(format!("the intermediate printed {line:?}, not a PID")))
}

/// Starts one sleeper, prints its PID and exits: the intermediate of `--double-fork`.
fn spawn_orphan(args: &[String]) -> ExitCode {
    let options = match parse_fork_options(args) {
        Ok(options) => options,
        Err(problem) => return usage(&problem),
    };
    match spawn_sleeper(options.setsid, options.child_sleep_secs) {
        Ok(child) => {
            println!("{}", child.id());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tw-test-helper: cannot start a descendant: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Sends signal `name` to this process with its default action, so SEGV and ABRT
/// may dump core and every one of them ends the process.
fn kill_self(name: &str) -> ExitCode {
    let signal = match name.trim_start_matches("SIG") {
        "SEGV" => libc::SIGSEGV,
        "ABRT" => libc::SIGABRT,
        "KILL" => libc::SIGKILL,
        "TERM" => libc::SIGTERM,
        other => {
            return usage(&format!(
                "unsupported signal {other:?}; use SEGV, ABRT, KILL or TERM"
            ));
        }
    };
    // SAFETY: resetting a disposition to the default and raising a signal touch no
    // memory owned by Rust.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    // Only reached when the parent started this process with the signal blocked.
    eprintln!("tw-test-helper: signal {name} did not end the process");
    ExitCode::FAILURE
}

/// Parses a byte count with an optional `k`, `M` or `G` suffix (powers of 1024).
fn parse_bytes(text: &str) -> Option<u64> {
    let (number, multiplier) = match text.char_indices().last()? {
        (end, 'k' | 'K') => (&text[..end], 1 << 10),
        (end, 'm' | 'M') => (&text[..end], 1 << 20),
        (end, 'g' | 'G') => (&text[..end], 1 << 30),
        _ => (text, 1),
    };
    number.parse::<u64>().ok()?.checked_mul(multiplier)
}

/// Writes numbered lines until at least `bytes` bytes are out. A write error, such
/// as a closed pipe, exits 1.
fn print_lines(bytes: u64) -> ExitCode {
    let count = bytes.div_ceil(LINE_BYTES);
    let padding = "x".repeat(LINE_BYTES as usize - 12);
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for index in 0..count {
        if let Err(error) = writeln!(stdout, "{index:010} {padding}") {
            eprintln!("tw-test-helper: cannot write line {index}: {error}");
            return ExitCode::FAILURE;
        }
    }
    match stdout.flush() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tw-test-helper: cannot flush the output: {error}");
            ExitCode::FAILURE
        }
    }
}
