//! Shared pieces of the benchmarks: a scratch registry, the daemon, attached sleeper
//! processes, percentiles, and a wait for the registry to show a task's end.
//!
//! Benchmarks assert no figure. Only a deadline of tens of seconds, which means
//! something is broken rather than slow, stops one.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

pub const BINARY: &str = env!("CARGO_BIN_EXE_task-watchdog");

/// True when `BENCH_QUICK=1`: fewer samples, so the run takes a few minutes at most.
pub fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|value| value == "1")
}

/// A registry in its own temporary directory, removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
    pub registry: PathBuf,
    children: Vec<Child>,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tw-bench-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join(".claude")).expect("create scratch directory");
        let registry = dir.join(".claude/process_registry.json");
        Scratch {
            dir,
            registry,
            children: Vec::new(),
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(BINARY);
        command
            .current_dir(&self.dir)
            .env("TASK_WATCHDOG_REGISTRY", &self.registry)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Runs the binary with `args` and panics unless it exits 0.
    pub fn run(&self, args: &[&str]) {
        let status = self
            .command()
            .args(args)
            .status()
            .expect("run task-watchdog");
        assert!(
            status.success(),
            "task-watchdog {args:?} exited with {status}"
        );
    }

    /// Starts the daemon with extra `args` and waits until it has taken its lock.
    pub fn start_daemon(&mut self, args: &[&str]) -> u32 {
        let child = self
            .command()
            .arg("run")
            .args(args)
            .spawn()
            .expect("start the daemon");
        let pid = child.id();
        self.children.push(child);
        let lock = self.dir.join(".claude/watchdog.lock");
        wait_for(Duration::from_secs(10), "the daemon's lock file", || {
            fs::read_to_string(&lock).is_ok_and(|text| text.trim() == pid.to_string())
        });
        // The daemon reads the registry and subscribes to changes right after locking.
        std::thread::sleep(Duration::from_millis(200));
        pid
    }

    /// Starts `sleep 3600` as a child of the benchmark and returns it.
    pub fn sleeper(&mut self) -> u32 {
        let child = Command::new("sleep")
            .arg("3600")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Starts `sleep 3600` and registers it as task `id` with `register --pid`.
    pub fn attached_sleeper(&mut self, id: &str) -> u32 {
        let pid = self.sleeper();
        self.run(&[
            "register",
            id,
            "--command",
            "sleep 3600",
            "--pid",
            &pid.to_string(),
        ]);
        pid
    }

    /// Reaps children that have exited, so they do not stay zombies.
    pub fn reap(&mut self) {
        for child in &mut self.children {
            let _ = child.try_wait();
        }
    }

    pub fn read_registry(&self) -> serde_json::Value {
        let text = fs::read_to_string(&self.registry).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Polls `condition` every millisecond until it holds, or panics after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Watches the registry's directory; `wait_until_ended` blocks on its events.
pub struct RegistryWatch {
    _watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<()>,
    registry: PathBuf,
}

impl RegistryWatch {
    pub fn new(registry: &Path) -> Self {
        let (sender, events) = mpsc::channel();
        let mut watcher =
            notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
                let _ = sender.send(());
            })
            .expect("create a file watcher");
        watcher
            .watch(
                registry.parent().expect("registry directory"),
                RecursiveMode::NonRecursive,
            )
            .expect("watch the registry directory");
        RegistryWatch {
            _watcher: watcher,
            events,
            registry: registry.to_path_buf(),
        }
    }

    /// Blocks until every id in `ids` is recorded with a status other than
    /// `running`, and returns the moment the last one was seen.
    pub fn wait_until_ended(&self, ids: &[String], limit: Duration) -> Instant {
        let deadline = Instant::now() + limit;
        loop {
            if ended(&self.registry, ids) {
                return Instant::now();
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            assert!(
                !remaining.is_zero(),
                "timed out after {limit:?} waiting for {} tasks to end",
                ids.len()
            );
            // A bounded wait guards against an event that arrived before this call.
            let _ = self
                .events
                .recv_timeout(remaining.min(Duration::from_millis(50)));
            while self.events.try_recv().is_ok() {}
        }
    }
}

fn ended(registry: &Path, ids: &[String]) -> bool {
    let Ok(text) = fs::read_to_string(registry) else {
        return false;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    ids.iter().all(|id| {
        value["tasks"][id]["status"]
            .as_str()
            .is_some_and(|status| status != "running")
    })
}

/// Sends SIGKILL to `pid`.
pub fn sigkill(pid: u32) {
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -KILL {pid} failed");
}

/// Percentiles of samples in microseconds, as one result line.
pub fn summary_line(method: &str, samples: &mut [u128]) -> String {
    samples.sort_unstable();
    let at = |fraction: f64| {
        let index = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
        samples[index]
    };
    format!(
        "{method} n={} p50={}us p95={}us p99={}us max={}us",
        samples.len(),
        at(0.50),
        at(0.95),
        at(0.99),
        samples[samples.len() - 1]
    )
}

/// A small deterministic generator for random pauses, so runs are repeatable.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// Returns a value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

/// Context switches (voluntary and not) of each thread of `pid`, by thread id.
pub fn context_switches(pid: u32) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return counts;
    };
    for thread in threads.flatten() {
        let text = fs::read_to_string(thread.path().join("status")).unwrap_or_default();
        let total: u64 = text
            .lines()
            .filter(|line| {
                line.starts_with("voluntary_ctxt_switches:")
                    || line.starts_with("nonvoluntary_ctxt_switches:")
            })
            .filter_map(|line| line.split_whitespace().nth(1))
            .filter_map(|number| number.parse::<u64>().ok())
            .sum();
        counts.insert(thread.file_name().to_string_lossy().into_owned(), total);
    }
    counts
}

/// Context switches between two samples of [`context_switches`]: the growth of
/// threads present in both, plus everything of threads that started in between.
/// Threads that ended in between are not counted.
pub fn switches_between(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(thread, count)| count.saturating_sub(before.get(thread).copied().unwrap_or(0)))
        .sum()
}

/// Returns the process's resident set size in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU time of the process in clock ticks (fields 14 and 15 of
/// `/proc/PID/stat`).
pub fn cpu_ticks(pid: u32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = text.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // `fields[0]` is field 3 (state), so fields 14 and 15 are at 11 and 12.
    field(11) + field(12)
}
