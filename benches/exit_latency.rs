//! Time from SIGKILL of a task's process to the moment the registry file shows
//! its end, for each way of learning of the exit.
//!
//! - `monitor`: tasks launched with `start`; the monitor, as parent, records.
//! - `pidfd`: processes attached with `register --pid`; the daemon on pidfd.
//! - `poll-100ms`, `poll-1s`: the same, with the daemon forced onto poll.
//!
//! Kills are sequential, each after a random pause shorter than the poll interval,
//! so a kill lands at a random phase of the poll cycle. `BENCH_QUICK=1` takes 30
//! samples per method instead of 200.

mod support;

use std::time::{Duration, Instant};

use support::{Lcg, RegistryWatch, Scratch, quick, sigkill, summary_line};

fn main() {
    let samples = if quick() { 30 } else { 200 };
    let methods: &[(&str, &[&str], u64)] = &[
        ("monitor", &[], 20),
        ("pidfd", &["--backend", "pidfd"], 20),
        (
            "poll-100ms",
            &["--backend", "poll", "--poll-interval", "100"],
            100,
        ),
        (
            "poll-500ms",
            &["--backend", "poll", "--poll-interval", "500"],
            500,
        ),
        (
            "poll-1s",
            &["--backend", "poll", "--poll-interval", "1000"],
            1000,
        ),
    ];
    for (method, daemon_args, pause_ms) in methods {
        let mut latencies = if *method == "monitor" {
            measure_monitor(samples, *pause_ms)
        } else {
            measure_attached(method, daemon_args, samples, *pause_ms)
        };
        println!("{}", summary_line(method, &mut latencies));
    }
}

fn measure_monitor(samples: usize, pause_ms: u64) -> Vec<u128> {
    let scratch = Scratch::new("latency-monitor");
    let watch = RegistryWatch::new(&scratch.registry);
    let mut random = Lcg::new(1);
    let mut latencies = Vec::with_capacity(samples);
    for index in 0..samples {
        let id = format!("M{index}");
        scratch.run(&["start", &id, "--", "sleep", "3600"]);
        let pid = scratch.read_registry()["tasks"][&id]["native"]["pid"]
            .as_u64()
            .expect("start recorded the PID") as u32;
        std::thread::sleep(Duration::from_millis(random.below(pause_ms)));

        let killed = Instant::now();
        sigkill(pid);
        let seen = watch.wait_until_ended(std::slice::from_ref(&id), Duration::from_secs(30));
        latencies.push((seen - killed).as_micros());
    }
    latencies
}

fn measure_attached(
    method: &str,
    daemon_args: &[&str],
    samples: usize,
    pause_ms: u64,
) -> Vec<u128> {
    let mut scratch = Scratch::new(&format!("latency-{method}"));
    scratch.start_daemon(daemon_args);
    let watch = RegistryWatch::new(&scratch.registry);
    let mut random = Lcg::new(2);
    let mut latencies = Vec::with_capacity(samples);
    for index in 0..samples {
        let id = format!("A{index}");
        let pid = scratch.attached_sleeper(&id);
        // Let the daemon pick up the new registration before the kill.
        std::thread::sleep(Duration::from_millis(20 + random.below(pause_ms)));

        let killed = Instant::now();
        sigkill(pid);
        let seen = watch.wait_until_ended(std::slice::from_ref(&id), Duration::from_secs(30));
        latencies.push((seen - killed).as_micros());
        scratch.reap();
    }
    latencies
}
