//! One-shot command start-up and registry size. It measures the wall time of
//! `check ID` and `list --json` on registries of about 100 KB, 1 MB and 10 MB, the
//! load and save time of the registry store at those sizes, and the size of the
//! release binary.
//! `BENCH_QUICK=1` takes fewer repetitions.

mod support;

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use support::{BINARY, Scratch, quick};
use task_watchdog::registry::Store;

fn main() {
    let repetitions = if quick() { 5 } else { 30 };
    for (label, bytes) in [("100KB", 100_000), ("1MB", 1_000_000), ("10MB", 10_000_000)] {
        let scratch = Scratch::new(&format!("startup-{label}"));
        let tasks = write_registry(&scratch.registry, bytes);
        let size = fs::metadata(&scratch.registry)
            .map(|meta| meta.len())
            .unwrap_or(0);

        let check = median(repetitions, || time_command(&scratch, &["check", "T0"]));
        let list = median(repetitions, || time_command(&scratch, &["list", "--json"]));
        let store = Store::open(&scratch.registry).expect("open the store");
        let load = median(repetitions, || {
            let started = Instant::now();
            store.load().expect("load the registry");
            started.elapsed()
        });
        let mut round = 0u64;
        let save = median(repetitions, || {
            round += 1;
            let started = Instant::now();
            store
                .update(|registry, _| {
                    registry
                        .extra
                        .insert("bench_round".to_string(), json!(round));
                    Ok(())
                })
                .expect("save the registry");
            started.elapsed()
        });
        println!(
            "registry size={label} bytes={size} tasks={tasks} check={}us list_json={}us load={}us load_and_save={}us",
            check.as_micros(),
            list.as_micros(),
            load.as_micros(),
            save.as_micros()
        );
    }
    let binary = fs::metadata(BINARY).map(|meta| meta.len()).unwrap_or(0);
    println!("binary path={BINARY} bytes={binary}");
}

/// Writes a registry of ended tasks shaped like real records, about `bytes` long.
fn write_registry(path: &Path, bytes: usize) -> usize {
    let mut tasks = Map::new();
    let mut written = 0;
    let mut index = 0;
    while written < bytes {
        let task = json!({
            "mode": "native",
            "command": format!("pytest tests/test_module_{index}.py -x --maxfail=1"),
            "status": if index % 3 == 0 { "failed" } else { "completed" },
            "started_at": "2026-12-01T10:00:00.000000Z",
            "completed_at": "2026-12-01T10:05:00.000000Z",
            "exit_code": if index % 3 == 0 { 1 } else { 0 },
            "signal": null,
            "core_dumped": false,
            "oom_killed": false,
            "reason": "exited",
            "native": {
                "pid": 100_000 + index,
                "pgid": 100_000 + index,
                "start_time": "2026-12-01T10:00:00.000000Z",
                "env_tag": format!("TASK_WATCHDOG_ID=T{index}"),
                "boot_id": "00000000-0000-0000-0000-000000000000",
                "start_ticks": 1_000_000 + index
            },
            "constitution_rules": ["TYPE_HINTS_REQUIRED", "DOCSTRINGS_REQUIRED"],
            "log_file": format!("/tmp/project/.claude/logs/T{index}.log"),
        });
        written += serde_json::to_string_pretty(&task)
            .map(|text| text.len())
            .unwrap_or(0);
        tasks.insert(format!("T{index}"), task);
        index += 1;
    }
    let registry = json!({ "tasks": Value::Object(tasks) });
    fs::write(
        path,
        serde_json::to_vec_pretty(&registry).expect("serialize"),
    )
    .expect("write the registry");
    index
}

fn time_command(scratch: &Scratch, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = scratch
        .command()
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("run task-watchdog");
    let elapsed = started.elapsed();
    assert!(
        status.success(),
        "task-watchdog {args:?} exited with {status}"
    );
    elapsed
}

fn median(repetitions: usize, mut measure: impl FnMut() -> Duration) -> Duration {
    let mut samples: Vec<Duration> = (0..repetitions).map(|_| measure()).collect();
    samples.sort_unstable();
    samples[samples.len() / 2]
}
