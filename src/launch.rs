//! The launch specification that `start` hands to its monitor, and the one-line
//! message the monitor sends back once the task is running or has failed to start.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything the monitor needs to start and supervise one task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaunchSpec {
    pub id: String,
    /// Matches the record's `launch_id`, so the monitor writes only into its own task.
    pub launch_id: String,
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub log_file: PathBuf,
    pub timeout_secs: Option<f64>,
    /// Seconds between SIGTERM and SIGKILL when ending leftovers or a timed-out tree.
    pub grace_secs: f64,
    /// Bytes at which the log file is rotated.
    pub log_limit: u64,
    /// Seconds after which the task is flagged long-running.
    pub warn_after_secs: f64,
}

/// The monitor's report to `start`, written as one JSON line on its stdout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handshake {
    Started { pid: i32 },
    Failed { message: String },
}

/// Makes an id unique to one launch: the caller's PID and the time in nanoseconds.
pub fn new_launch_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}
