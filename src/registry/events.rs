//! `watchdog_events.jsonl`: one JSON object per state change, appended under the
//! registry lock so lines from different writers never interleave.
//!
//! The log is bounded: when it passes [`MAX_BYTES`] it is renamed to
//! `watchdog_events.jsonl.1` (replacing the previous one) and a new file starts, so at
//! most twice that is kept.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::schema::now_rfc3339;

/// The size at which the event log is rotated.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// One state change.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub time: String,
    pub task: String,
    /// `registered`, `started`, `exited`, `cancelled`, `completed`, `lost`,
    /// `adopted`, `leftovers_ended`, `removed`, ...
    pub event: String,
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl Event {
    pub fn new(task: &str, event: &str) -> Self {
        Event {
            time: now_rfc3339(),
            task: task.to_string(),
            event: event.to_string(),
            details: Map::new(),
        }
    }

    /// Adds a detail field; null values are left out.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if !value.is_null() {
            self.details.insert(key.to_string(), value);
        }
        self
    }
}

/// The event log next to a registry.
#[derive(Debug, Clone)]
pub struct EventLog {
    path: PathBuf,
}

impl EventLog {
    pub fn new(path: PathBuf) -> Self {
        EventLog { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `events`. Callers hold the registry lock.
    pub fn append(&self, events: &[Event]) -> io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        if fs::metadata(&self.path).is_ok_and(|meta| meta.len() > MAX_BYTES) {
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".1");
            fs::rename(&self.path, rotated)?;
        }
        let mut buffer = Vec::new();
        for event in events {
            serde_json::to_writer(&mut buffer, event)?;
            buffer.push(b'\n');
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.path)?;
        file.write_all(&buffer)
    }

    /// Reads every event still in the log (the rotated file first), skipping lines
    /// that do not parse.
    pub fn read_all(&self) -> Vec<Value> {
        let mut rotated = self.path.clone().into_os_string();
        rotated.push(".1");
        [PathBuf::from(rotated), self.path.clone()]
            .iter()
            .filter_map(|path| fs::read_to_string(path).ok())
            .flat_map(|text| {
                text.lines()
                    .filter_map(|line| serde_json::from_str(line).ok())
                    .collect::<Vec<Value>>()
            })
            .collect()
    }
}
