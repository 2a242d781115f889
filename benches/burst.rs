//! A burst of exits: 1,000 attached processes, watched by the daemon on pidfd,
//! killed evenly spread over one second. Reports whether every exit was recorded
//! and the time from the first kill to the moment the registry showed the last.
//! `BENCH_QUICK=1` uses 200 processes.

mod support;

use std::time::{Duration, Instant};

use support::{RegistryWatch, Scratch, quick, sigkill};

fn main() {
    let count = if quick() { 200 } else { 1000 };
    let mut scratch = Scratch::new("burst");
    scratch.start_daemon(&["--backend", "pidfd"]);

    let mut pids = Vec::with_capacity(count);
    let mut ids = Vec::with_capacity(count);
    for index in 0..count {
        let id = format!("B{index}");
        let pid = scratch.attached_sleeper(&id);
        pids.push(pid);
        ids.push(id);
    }
    // Give the daemon time to open a pidfd for the last registrations.
    std::thread::sleep(Duration::from_millis(500));

    let watch = RegistryWatch::new(&scratch.registry);
    let spacing = Duration::from_secs(1) / count as u32;
    let first_kill = Instant::now();
    for (index, pid) in pids.iter().enumerate() {
        let due = first_kill + spacing * index as u32;
        if let Some(pause) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(pause);
        }
        sigkill(*pid);
    }
    let killing = first_kill.elapsed();
    let last_seen = watch.wait_until_ended(&ids, Duration::from_secs(120));
    scratch.reap();

    let registry = scratch.read_registry();
    let recorded = ids
        .iter()
        .filter(|id| registry["tasks"][id.as_str()]["status"] == "failed")
        .count();
    println!(
        "burst n={count} recorded={recorded} kill_span={}ms first_kill_to_last_record={}ms",
        killing.as_millis(),
        (last_seen - first_kill).as_millis()
    );
}
