//! Shared support for the integration tests: a sandbox directory per test, a runner
//! for the real `task-watchdog` binary, registry readers, polling with a deadline,
//! and cleanup of every process a test started.
//!
//! Every process started through a [`Sandbox`] carries the environment variable
//! [`SANDBOX_MARKER`] set to the sandbox's path. Monitors, tasks and their descendants
//! inherit it, so when the sandbox is dropped it finds them all in `/proc`, even
//! those that escaped into a new session, and ends them by PID.

#![allow(dead_code)]

pub mod docker;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub const WATCHDOG: &str = env!("CARGO_BIN_EXE_task-watchdog");
/// The helper program that tests run as tasks.
pub const HELPER: &str = env!("CARGO_BIN_EXE_tw-test-helper");

/// The environment variable that marks every process a sandbox started.
pub const SANDBOX_MARKER: &str = "TW_TEST_SANDBOX";

/// How long one command may run before the test fails. One-shot commands take
/// milliseconds; `kill` and `complete` wait through grace periods of a few seconds.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// How long a test waits for a recorded state change, such as an exit.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(20);

/// What a finished command printed and how it exited.
#[derive(Debug)]
pub struct Output {
    /// The exit status, or `None` when a signal ended the command.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panics unless the command exited 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected exit 0: {self:#?}");
        self
    }

    /// Panics unless the command exited with `code`.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "expected exit {code}: {self:#?}");
        self
    }

    /// Parses stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:#?}"))
    }
}

/// A temporary directory with the registry at `<dir>/.claude/process_registry.json`,
/// and the processes started in it.
///
/// Task ids from [`Sandbox::id`] are unique to the sandbox. The program finds a
/// task's escaped descendants by the `TASK_WATCHDOG_ID=<ID>` tag in their
/// environment, so parallel tests that shared an id could end each other's
/// processes. `ids_elsewhere.rs` tests that case on purpose.
pub struct Sandbox {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    daemons_started: usize,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("task-watchdog-test-")
            .tempdir()
            .expect("create a temporary directory");
        Sandbox {
            dir,
            children: Vec::new(),
            daemons_started: 0,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Returns a task id made of `name` and this sandbox's random suffix, such as
    /// `T1-x8Kq2a`.
    pub fn id(&self, name: &str) -> String {
        let directory = self
            .root()
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let suffix = directory.rsplit('-').next().unwrap_or(directory);
        format!("{name}-{suffix}")
    }

    pub fn claude_dir(&self) -> PathBuf {
        self.root().join(".claude")
    }

    pub fn registry_path(&self) -> PathBuf {
        self.claude_dir().join("process_registry.json")
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.claude_dir().join("logs").join(format!("{id}.log"))
    }

    /// Builds a command for `program` that runs in the sandbox and carries its marker.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.root())
            .env(SANDBOX_MARKER, self.root())
            .env("TASK_WATCHDOG_REGISTRY", self.registry_path())
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    /// Runs `task-watchdog ARGS` in the sandbox and returns how it ended.
    pub fn cmd(&self, args: &[&str]) -> Output {
        let mut command = self.command(WATCHDOG);
        command.args(args);
        run_to_end(command, COMMAND_DEADLINE)
    }

    /// Runs `task-watchdog start ID -- PROGRAM ARGS`, checks it succeeded, and returns
    /// the task's PID as printed.
    #[track_caller]
    pub fn start(&self, id: &str, program_and_args: &[&str]) -> i32 {
        let mut args = vec!["start", id, "--"];
        args.extend_from_slice(program_and_args);
        let output = self.cmd(&args).success();
        parse_started_pid(&output.stdout)
    }

    /// Runs `task-watchdog start ID -- tw-test-helper ARGS` and returns the task's PID.
    #[track_caller]
    pub fn start_helper(&self, id: &str, helper_args: &[&str]) -> i32 {
        let mut program = vec![HELPER];
        program.extend_from_slice(helper_args);
        self.start(id, &program)
    }

    /// Runs `task-watchdog start ID --command SCRIPT` and returns the task's PID.
    #[track_caller]
    pub fn start_shell(&self, id: &str, script: &str) -> i32 {
        let output = self.cmd(&["start", id, "--command", script]).success();
        parse_started_pid(&output.stdout)
    }

    /// Spawns a process that the test owns, such as a `sleep` to attach; it is killed
    /// and reaped when the sandbox is dropped.
    pub fn spawn(&mut self, mut command: Command) -> u32 {
        command.stdout(Stdio::null()).stderr(Stdio::null());
        let child = command.spawn().expect("spawn a test process");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Spawns `tw-test-helper sleep SECS` owned by the test and returns its PID.
    pub fn spawn_sleeper(&mut self, secs: u32) -> i32 {
        let mut command = self.command(HELPER);
        command.arg("sleep").arg(secs.to_string());
        self.spawn(command) as i32
    }

    /// Reaps the owned child `pid` after it was signalled, as a shell would, so it
    /// does not stay a zombie. Returns its wait status.
    pub fn reap(&mut self, pid: i32) -> std::process::ExitStatus {
        let position = self
            .children
            .iter()
            .position(|child| child.id() as i32 == pid)
            .unwrap_or_else(|| panic!("PID {pid} is not a child of this test"));
        let mut child = self.children.remove(position);
        child.wait().expect("wait for a test process")
    }

    /// Starts the daemon, `task-watchdog run ARGS`, with its stderr in
    /// `<dir>/daemon-N.stderr`. Returns its PID; the sandbox ends it when dropped.
    pub fn spawn_daemon(&mut self, args: &[&str]) -> i32 {
        let stderr_path = self.daemon_stderr_path(self.daemons_started);
        self.daemons_started += 1;
        let stderr = fs::File::create(&stderr_path).expect("create the daemon's stderr file");
        let mut command = self.command(WATCHDOG);
        command
            .arg("run")
            .args(args)
            .stderr(stderr)
            .stdout(Stdio::null());
        let child = command.spawn().expect("spawn the daemon");
        let pid = child.id() as i32;
        self.children.push(child);
        pid
    }

    fn daemon_stderr_path(&self, index: usize) -> PathBuf {
        self.root().join(format!("daemon-{index}.stderr"))
    }

    /// Everything the daemons of this sandbox wrote to stderr, for failure messages.
    pub fn daemon_stderr(&self) -> String {
        let mut text = String::new();
        for index in 0..self.daemons_started {
            if let Ok(part) = fs::read_to_string(self.daemon_stderr_path(index)) {
                text.push_str(&part);
            }
        }
        text
    }

    /// Waits until the daemon holds its single-instance lock file, then a moment more
    /// so it has read the registry. Tests must pass whether or not the daemon was
    /// ready; this only makes them exercise the event path rather than the start-up
    /// scan.
    pub fn wait_for_daemon(&self, pid: i32) {
        let lock = self.claude_dir().join("watchdog.lock");
        wait_until(
            EVENT_DEADLINE,
            &format!("daemon PID {pid} to create {}", lock.display()),
            || {
                assert!(
                    is_running(pid),
                    "daemon PID {pid} exited early; its stderr:\n{}",
                    self.daemon_stderr()
                );
                lock.exists()
            },
        );
        thread::sleep(Duration::from_millis(500));
    }

    /// Waits for the owned daemon `pid` to exit and returns its exit status.
    pub fn wait_for_exit(&mut self, pid: i32, deadline: Duration) -> std::process::ExitStatus {
        let position = self
            .children
            .iter()
            .position(|child| child.id() as i32 == pid)
            .unwrap_or_else(|| panic!("PID {pid} is not a child of this test"));
        let child = &mut self.children[position];
        wait_for(deadline, &format!("PID {pid} to exit"), || {
            child.try_wait().expect("try_wait")
        });
        // The child has exited, so this returns its status at once.
        self.children
            .remove(position)
            .wait()
            .expect("wait for a test process")
    }

    /// Reads the registry as JSON. Panics when it is missing or does not parse.
    #[track_caller]
    pub fn registry(&self) -> Value {
        let text = fs::read_to_string(self.registry_path()).expect("read the registry");
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("the registry does not parse ({error}):\n{text}"))
    }

    /// Reads the registry's bytes, or none when there is no registry file.
    pub fn registry_bytes(&self) -> Vec<u8> {
        fs::read(self.registry_path()).unwrap_or_default()
    }

    /// Replaces the registry with `value`, atomically as the program's own writers
    /// do. Call it only while no task can be writing.
    pub fn write_registry(&self, value: &Value) {
        fs::create_dir_all(self.claude_dir()).expect("create .claude");
        let temporary = self.claude_dir().join("registry.test-tmp");
        fs::write(
            &temporary,
            serde_json::to_vec_pretty(value).expect("serialize"),
        )
        .expect("write the registry");
        fs::rename(&temporary, self.registry_path()).expect("replace the registry");
    }

    /// Reads the record of task `id`. Panics when it is absent.
    #[track_caller]
    pub fn task(&self, id: &str) -> Value {
        let registry = self.registry();
        match registry["tasks"].get(id) {
            Some(task) => task.clone(),
            None => panic!("task {id:?} is not in the registry:\n{registry:#}"),
        }
    }

    /// Waits until task `id` is no longer `running` and returns its record.
    #[track_caller]
    pub fn wait_for_end(&self, id: &str) -> Value {
        wait_for(EVENT_DEADLINE, &format!("task {id} to end"), || {
            let task = self.registry()["tasks"].get(id).cloned()?;
            (task["status"] != "running").then_some(task)
        })
    }

    /// Waits until task `id` has a `leftovers_ended` count and returns its record.
    #[track_caller]
    pub fn wait_for_leftovers(&self, id: &str) -> Value {
        wait_for(
            EVENT_DEADLINE,
            &format!("task {id} to record leftovers_ended"),
            || {
                let task = self.registry()["tasks"].get(id).cloned()?;
                task.get("leftovers_ended")
                    .is_some_and(|count| !count.is_null())
                    .then_some(task)
            },
        )
    }

    /// Waits until the log of task `id` contains `count` lines that are PIDs, as
    /// `tw-test-helper forker` prints them, and returns those PIDs.
    #[track_caller]
    pub fn wait_for_logged_pids(&self, id: &str, count: usize) -> Vec<i32> {
        let log = self.log_path(id);
        wait_for(
            EVENT_DEADLINE,
            &format!("{count} PIDs in {}", log.display()),
            || {
                let text = fs::read_to_string(&log).ok()?;
                let pids: Vec<i32> = text
                    .lines()
                    .filter_map(|line| line.trim().parse().ok())
                    .collect();
                (pids.len() >= count).then_some(pids)
            },
        )
    }

    /// Lists the processes that carry this sandbox's marker, other than this one.
    fn marked_processes(&self) -> Vec<i32> {
        let marker = format!("{SANDBOX_MARKER}={}", self.root().display());
        let me = std::process::id() as i32;
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| *pid != me)
            .filter(|pid| {
                fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|byte| *byte == 0)
                        .any(|entry| entry == marker.as_bytes())
                })
            })
            .collect()
    }
}

impl Drop for Sandbox {
    /// Ends every process this sandbox started, by PID: owned children, daemons,
    /// monitors, tasks and their descendants. Several rounds catch processes forked
    /// while the previous round ran.
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
        }
        for _ in 0..3 {
            let marked = self.marked_processes();
            if marked.is_empty() {
                break;
            }
            for pid in marked {
                send_signal(pid, libc::SIGKILL);
            }
            thread::sleep(Duration::from_millis(50));
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}

/// Runs `command` with piped stdout and stderr, reads both to end of file, and
/// returns how it ended. Fails the test when the command or its pipes are still open
/// at `deadline`: a descendant holding the pipes would make a caller such as
/// Python's `subprocess.run(capture_output=True)` hang.
#[track_caller]
pub fn run_to_end(mut command: Command, deadline: Duration) -> Output {
    let description = format!("{command:?}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot spawn {description}: {error}"));

    let (sender, receiver) = mpsc::channel();
    for (name, mut pipe) in [
        (
            "stdout",
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
        ),
        ("stderr", Box::new(child.stderr.take().expect("stderr"))),
    ] {
        let sender = sender.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = sender.send((name, String::from_utf8_lossy(&bytes).into_owned()));
        });
    }

    let started = Instant::now();
    let mut stdout = None;
    let mut stderr = None;
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_sub(started.elapsed());
        match receiver.recv_timeout(left) {
            Ok(("stdout", text)) => stdout = Some(text),
            Ok((_, text)) => stderr = Some(text),
            Err(_) => {
                let exited = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{description}: stdout or stderr still open after {deadline:?} (exit status then: {exited:?}); \
                     stdout so far: {stdout:?}, stderr so far: {stderr:?}"
                );
            }
        }
    }

    let left = deadline.saturating_sub(started.elapsed());
    let status = wait_for(left, &format!("{description} to exit"), || {
        child.try_wait().expect("try_wait")
    });
    Output {
        code: status.code(),
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
    }
}

/// Parses the PID out of `started ID as PID N; output in PATH`.
#[track_caller]
pub fn parse_started_pid(stdout: &str) -> i32 {
    stdout
        .split_once(" as PID ")
        .and_then(|(_, rest)| rest.split(';').next())
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `as PID N` in start's output {stdout:?}"))
}

/// Polls `condition` every 50 ms until it holds; panics naming `what` and the
/// deadline when it does not hold within `deadline`.
#[track_caller]
pub fn wait_until(deadline: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    wait_for(deadline, what, || condition().then_some(()));
}

/// Polls `probe` every 50 ms until it returns a value; panics naming `what` and the
/// deadline when it returns none within `deadline`.
#[track_caller]
pub fn wait_for<T>(deadline: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if started.elapsed() >= deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Reads the fields of `/proc/PID/stat` after the command name, starting with the state
/// (field 3), or `None` when there is no such process.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or ')'.
    let (_, after_name) = text.rsplit_once(')')?;
    Some(after_name.split_whitespace().map(str::to_string).collect())
}

/// Reads the start time of `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`).
pub fn start_ticks(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Reads the process group of `pid` (field 5 of `/proc/PID/stat`).
pub fn process_group(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(2)?.parse().ok()
}

/// True when `pid` exists and is neither a zombie nor dead.
pub fn is_running(pid: i32) -> bool {
    stat_fields(pid)
        .and_then(|fields| fields.first().cloned())
        .is_some_and(|state| state != "Z" && state != "X")
}

/// A process seen by the test, remembered with its start time so that a later check
/// is not fooled by PID reuse.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    pub pid: i32,
    start_ticks: u64,
}

impl Watched {
    /// Remembers `pid`, which must be running now.
    #[track_caller]
    pub fn new(pid: i32) -> Self {
        let start_ticks = start_ticks(pid).unwrap_or_else(|| panic!("PID {pid} is not running"));
        assert!(is_running(pid), "PID {pid} is not running");
        Watched { pid, start_ticks }
    }

    /// True while the same process is running and not a zombie.
    pub fn is_running(&self) -> bool {
        start_ticks(self.pid) == Some(self.start_ticks) && is_running(self.pid)
    }
}

/// Asserts that every process in `watched` has ended, allowing `EVENT_DEADLINE` for
/// the kernel to deliver the signals.
#[track_caller]
pub fn assert_all_ended(watched: &[Watched], context: &str) {
    wait_until(
        EVENT_DEADLINE,
        &format!("every process to end after {context}"),
        || watched.iter().all(|process| !process.is_running()),
    );
}

/// Sends `signal` to `pid`; returns false when there was no such process.
pub fn send_signal(pid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) takes two integers and touches no memory.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Reads the boot id the kernel reports, as recorded in `native.boot_id`.
pub fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .expect("read the boot id")
        .trim()
        .to_string()
}

/// Asserts that everything in `original` is present in `current` with the same
/// value: every key of every object, recursively. `current` may hold more keys.
#[track_caller]
pub fn assert_json_contains(original: &Value, current: &Value, path: &str) {
    match (original, current) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                let inner = format!("{path}.{key}");
                match actual.get(key) {
                    Some(found) => assert_json_contains(value, found, &inner),
                    None => panic!("{inner} was lost; expected {value}"),
                }
            }
        }
        _ => assert_eq!(original, current, "{path} changed"),
    }
}

/// Asserts that the command failed the way bad input must: exit 1, exactly one
/// line on stderr, and that line names `value`.
#[track_caller]
pub fn assert_rejected(output: &Output, value: &str) {
    assert_eq!(
        output.code,
        Some(1),
        "expected exit 1 for {value:?}: {output:#?}"
    );
    let lines: Vec<&str> = output
        .stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr for {value:?}: {output:#?}"
    );
    let quoted = format!("{value:?}");
    assert!(
        (!value.is_empty() && lines[0].contains(value)) || lines[0].contains(&quoted),
        "stderr does not name {value:?}: {output:#?}"
    );
}

/// The ids of the tasks [`record_mixed_tasks`] records.
pub struct MixedTasks {
    /// A sleeping helper, still running.
    pub running: String,
    pub running_pid: i32,
    /// Printed `built` and exited 0.
    pub completed: String,
    /// Printed `broke` and exited 3.
    pub failed: String,
    /// Registered with no process, so running until `complete` or `kill`.
    pub logical: String,
}

impl MixedTasks {
    pub fn all(&self) -> [&str; 4] {
        [&self.running, &self.completed, &self.failed, &self.logical]
    }
}

/// Records one task of each kind: running, completed, failed and logical.
pub fn record_mixed_tasks(sandbox: &Sandbox) -> MixedTasks {
    let tasks = MixedTasks {
        running: sandbox.id("R1"),
        running_pid: 0,
        completed: sandbox.id("C1"),
        failed: sandbox.id("F1"),
        logical: sandbox.id("L1"),
    };
    let running_pid = sandbox.start_helper(&tasks.running, &["sleep", "60"]);
    sandbox.start_shell(&tasks.completed, "echo built; exit 0");
    sandbox.start_shell(&tasks.failed, "echo broke; exit 3");
    sandbox
        .cmd(&["register", &tasks.logical, "--command", "review the plan"])
        .success();
    assert_eq!(
        sandbox.wait_for_end(&tasks.completed)["status"],
        "completed"
    );
    assert_eq!(sandbox.wait_for_end(&tasks.failed)["status"], "failed");
    MixedTasks {
        running_pid,
        ..tasks
    }
}

/// Finds the entry of task `id` in the output of a `--json` listing: an array of
/// objects with an `id` field, an object keyed by id, or either of those under
/// `tasks`.
pub fn find_listed<'a>(listing: &'a Value, id: &str) -> Option<&'a Value> {
    match listing {
        Value::Array(rows) => rows.iter().find(|row| row["id"] == id),
        Value::Object(map) => match map.get("tasks") {
            Some(tasks) => find_listed(tasks, id),
            None => map.get(id),
        },
        _ => None,
    }
}

/// Reads the parent PID of `pid` (field 4 of `/proc/PID/stat`).
pub fn parent_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// The length of each line `tw-test-helper print-lines` writes, newline included.
pub const LINE_BYTES: u64 = 64;

/// Builds line `index` of `tw-test-helper print-lines`, newline included: the index in
/// ten digits, a space, then `x` up to [`LINE_BYTES`]. The helper writes the same bytes.
pub fn numbered_line(index: u64) -> String {
    format!("{index:010} {}\n", "x".repeat(LINE_BYTES as usize - 12))
}

/// Builds the whole output of `tw-test-helper print-lines --bytes BYTES`.
pub fn numbered_output(bytes: u64) -> Vec<u8> {
    use std::io::Write;

    let padding = "x".repeat(LINE_BYTES as usize - 12);
    let mut output = Vec::with_capacity(bytes as usize + LINE_BYTES as usize);
    for index in 0..bytes.div_ceil(LINE_BYTES) {
        // Writing to a Vec cannot fail.
        let _ = writeln!(output, "{index:010} {padding}");
    }
    output
}

/// Reads the PID of task `id`'s monitor from its record (`monitor.pid`).
#[track_caller]
pub fn monitor_pid(task: &Value) -> i32 {
    task["monitor"]["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("the record has no monitor.pid: {task:#}")) as i32
}

/// Reads the environment of `pid` as `KEY=VALUE` entries; empty when it cannot be read.
pub fn environment_of(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/environ"))
        .map(|environ| {
            environ
                .split(|byte| *byte == 0)
                .filter(|entry| !entry.is_empty())
                .map(|entry| String::from_utf8_lossy(entry).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads every whole line of `.claude/watchdog_events.jsonl` as JSON. Panics on a
/// line that does not parse, because lines from different writers must never
/// interleave. A last line without its newline may still be being written and is
/// skipped.
#[track_caller]
pub fn events(sandbox: &Sandbox) -> Vec<Value> {
    let path = sandbox.claude_dir().join("watchdog_events.jsonl");
    fs::read_to_string(&path)
        .unwrap_or_default()
        .split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'))
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap_or_else(|error| {
                panic!(
                    "{} has a line that is not JSON ({error}): {line:?}",
                    path.display()
                )
            })
        })
        .collect()
}

/// Reads the events of task `id` from the event log.
#[track_caller]
pub fn events_of(sandbox: &Sandbox, id: &str) -> Vec<Value> {
    let mut all = events(sandbox);
    all.retain(|event| event["task"] == id);
    all
}

/// Reads the events whose `event` field is `kind` from the event log.
#[track_caller]
pub fn events_of_kind(sandbox: &Sandbox, kind: &str) -> Vec<Value> {
    let mut all = events(sandbox);
    all.retain(|event| event["event"] == kind);
    all
}

impl Sandbox {
    /// Starts the daemon like [`Sandbox::spawn_daemon`], letting `configure` change the
    /// command first, for example to lower a resource limit.
    pub fn spawn_daemon_with(
        &mut self,
        args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> i32 {
        let stderr_path = self.daemon_stderr_path(self.daemons_started);
        self.daemons_started += 1;
        let stderr = fs::File::create(&stderr_path).expect("create the daemon's stderr file");
        let mut command = self.command(WATCHDOG);
        command
            .arg("run")
            .args(args)
            .stderr(stderr)
            .stdout(Stdio::null());
        configure(&mut command);
        let child = command.spawn().expect("spawn the daemon");
        let pid = child.id() as i32;
        self.children.push(child);
        pid
    }
}
