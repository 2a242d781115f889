//! The idle daemon's cost: CPU time, context switches per second and RSS while it
//! watches 0 and then 1,000 idle attached processes and nothing happens.
//!
//! The measurement window starts after registration has settled and ends before
//! any sweep (the sweep interval is set far beyond the window). `BENCH_QUICK=1`
//! shortens the window from 30 s to 5 s and uses 200 processes.

mod support;

use std::time::Duration;

use support::{Scratch, context_switches, cpu_ticks, quick, rss_kib, switches_between};

fn main() {
    let window = if quick() {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(30)
    };
    let watched = if quick() { 200 } else { 1000 };
    for count in [0, watched] {
        measure(count, window);
    }
}

fn measure(count: usize, window: Duration) {
    let mut scratch = Scratch::new(&format!("idle-{count}"));
    let daemon = scratch.start_daemon(&["--backend", "pidfd", "--interval", "3600"]);
    for index in 0..count {
        scratch.attached_sleeper(&format!("I{index}"));
    }
    // Let the daemon finish reacting to the registrations, and tokio's blocking
    // thread from the start-up sweep go idle.
    std::thread::sleep(Duration::from_secs(2));

    let ticks_before = cpu_ticks(daemon);
    let switches_before = context_switches(daemon);
    std::thread::sleep(window);
    let ticks_after = cpu_ticks(daemon);
    let switches_after = context_switches(daemon);

    // Linux reports CPU time in USER_HZ, 100 ticks per second on every architecture.
    let cpu_seconds = (ticks_after - ticks_before) as f64 / 100.0;
    let core_percent = 100.0 * cpu_seconds / window.as_secs_f64();
    let switches_per_second =
        switches_between(&switches_before, &switches_after) as f64 / window.as_secs_f64();
    println!(
        "idle watched={count} window={}s cpu={cpu_seconds:.2}s core={core_percent:.4}% ctx_switches_per_s={switches_per_second:.2} rss={}KiB",
        window.as_secs(),
        rss_kib(daemon)
    );
}
