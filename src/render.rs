//! Shared pieces of human-readable output: durations, sizes, exit summaries and the
//! last lines of a task's log.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use crate::process::ProcessState;
use crate::registry::{Status, Task};

/// Formats a duration as `2h 5m`, `3m 12s` or `4.2s`.
pub fn duration(span: Duration) -> String {
    let seconds = span.as_secs();
    if seconds >= 86_400 {
        format!("{}d {}h", seconds / 86_400, seconds % 86_400 / 3600)
    } else if seconds >= 3600 {
        format!("{}h {}m", seconds / 3600, seconds % 3600 / 60)
    } else if seconds >= 60 {
        format!("{}m {}s", seconds / 60, seconds % 60)
    } else {
        format!("{:.1}s", span.as_secs_f64())
    }
}

/// Formats a byte count as `512 B`, `4.1 KiB`, `12.0 MiB` or `1.5 GiB`.
pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = count as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{count} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// How long the task ran, or has run so far.
pub fn runtime(task: &Task) -> Option<Duration> {
    let started = task.started()?;
    let ended = task.completed().unwrap_or_else(Utc::now);
    (ended - started).to_std().ok()
}

/// How the task ended, such as `exit 0`, `SIGKILL (core dumped)` or `exit unknown`.
pub fn exit_summary(task: &Task) -> String {
    let core = if task.core_dumped == Some(true) {
        " (core dumped)"
    } else {
        ""
    };
    let oom = if task.oom_killed { ", out of memory" } else { "" };
    match (&task.exit_code, &task.signal) {
        (Some(code), _) => format!("exit {code}{oom}"),
        (None, Some(signal)) => format!("{signal}{core}{oom}"),
        (None, None) if task.status == Status::Running => "running".to_string(),
        (None, None) => format!("exit unknown{oom}"),
    }
}

/// A short word for the main process's state.
pub fn process_state(state: ProcessState) -> &'static str {
    match state {
        ProcessState::Alive => "alive",
        ProcessState::Exited => "exited",
        ProcessState::Reused => "gone (PID reused by another process)",
        ProcessState::None => "no process",
        ProcessState::Unknown => "unknown (no identity recorded)",
    }
}

/// The last `count` lines of the file at `path`, reading at most its last 64 KiB.
/// A missing file has no lines.
pub fn tail_lines(path: &Path, count: usize) -> Vec<String> {
    const WINDOW: u64 = 64 * 1024;

    if count == 0 {
        return Vec::new();
    }
    let Ok(mut file) = File::open(path) else {
        return Vec::new();
    };
    let length = file.metadata().map(|meta| meta.len()).unwrap_or(0);
    let start = length.saturating_sub(WINDOW);
    if file.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut buffer = Vec::new();
    if file.read_to_end(&mut buffer).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&buffer);
    let mut lines: Vec<&str> = text.lines().collect();
    // The first line of a window that starts mid-file is likely cut.
    if start > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(count);
    lines[skip..].iter().map(|line| (*line).to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_and_sizes() {
        assert_eq!(duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(duration(Duration::from_secs(192)), "3m 12s");
        assert_eq!(duration(Duration::from_secs(7500)), "2h 5m");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(4198), "4.1 KiB");
    }
}
