//! The registry's JSON schema.
//!
//! It stays compatible with the earlier Rust version (`{"tasks": {ID: {...}}}` with
//! `mode`, `command`, `status`, `started_at`, `completed_at`, `native`, `docker`,
//! `constitution_rules`). New fields are additive and optional, and every field this
//! program does not know is kept as it was, at the top level and in each task,
//! because dev-kid's Python scripts read and write the same file.
//!
//! A task whose record does not fit the schema (a wrong type, an unknown status) is
//! kept untouched as [`TaskEntry::Invalid`], so one bad record never costs the
//! others.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// The whole registry file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    pub tasks: BTreeMap<String, TaskEntry>,
    /// Top-level fields other than `tasks`, kept as they were.
    pub extra: Map<String, Value>,
}

/// One task's record, or the raw JSON of a record that does not fit the schema.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEntry {
    Valid(Box<Task>),
    Invalid { raw: Value, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn is_ended(self) -> bool {
        self != Status::Running
    }
}

/// One task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `native` or `docker`.
    #[serde(default = "native_mode")]
    pub mode: String,
    pub command: String,
    pub status: Status,
    /// RFC 3339; older writers may have left other ISO 8601 forms, which are kept.
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The main process's exit code; null while running, when a signal ended it, or
    /// when it is unknown.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// The name of the signal that ended the main process, such as `SIGKILL`.
    #[serde(default)]
    pub signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_dumped: Option<bool>,
    #[serde(default)]
    pub oom_killed: bool,
    /// Why the task ended, in a few words: `exited`, `signal`, `timeout`,
    /// `cancelled`, `completed`, `monitor lost`, `spawn error: ...`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<Native>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<Value>,
    #[serde(default)]
    pub constitution_rules: Vec<String>,
    /// The monitor process that launched the task and is its parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<ProcessRef>,
    /// Unique per launch, so a monitor never writes into a later task that reused
    /// its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The deadline given with `start --timeout`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
    /// How long the task may run before it is flagged long-running, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_after_secs: Option<f64>,
    /// Set by `kill` before it signals, so the monitor records `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_requested_at: Option<String>,
    /// How many leftover processes were ended after the main process exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leftovers_ended: Option<u32>,
    /// The git commit the task started from, which `validate` diffs against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_base: Option<GitBase>,
    /// The result of the latest `validate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A git work tree and the commit checked out in it when a task started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitBase {
    /// The work tree's top-level directory, absolute.
    pub repo: String,
    /// The full hash of `HEAD`, or null when the repository had no commit yet.
    pub commit: Option<String>,
}

/// The outcome of checking a task's changed files against its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// RFC 3339.
    pub time: String,
    pub passed: bool,
    /// The number of violations found.
    pub violations: usize,
    /// Canonical names of the rules that were checked.
    pub rules_checked: Vec<String>,
}

/// The process behind a native task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Native {
    pub pid: i32,
    pub pgid: i32,
    /// When the process started, RFC 3339 (the earlier version's field).
    #[serde(default)]
    pub start_time: String,
    /// `TASK_WATCHDOG_ID=<ID>` for launched tasks; their descendants carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Start time in clock ticks since boot; with `boot_id`, the process identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ticks: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A process named by PID and identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRef {
    pub pid: i32,
    pub boot_id: String,
    pub start_ticks: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The warn-after time of tasks that do not set one: 15 minutes, the guideline of
/// the Python watchdog this program replaces.
pub const DEFAULT_WARN_AFTER_SECS: f64 = 900.0;

fn native_mode() -> String {
    "native".to_string()
}

impl Task {
    /// Creates a running task with no process, as `register` without `--pid` does.
    pub fn new(command: String, rules: Vec<String>) -> Self {
        Task {
            mode: native_mode(),
            command,
            status: Status::Running,
            started_at: now_rfc3339(),
            completed_at: None,
            exit_code: None,
            signal: None,
            core_dumped: None,
            oom_killed: false,
            reason: None,
            native: None,
            docker: None,
            constitution_rules: rules,
            monitor: None,
            launch_id: None,
            log_file: None,
            cwd: None,
            timeout_secs: None,
            warn_after_secs: None,
            cancel_requested_at: None,
            leftovers_ended: None,
            git_base: None,
            validation: None,
            extra: Map::new(),
        }
    }

    /// True for a task registered with no process: it stays running until
    /// `complete` or `kill`, and no sweep touches it.
    pub fn is_logical(&self) -> bool {
        self.native.is_none()
            && self.monitor.is_none()
            && self.docker.is_none()
            && self.launch_id.is_none()
    }

    /// Marks the task ended now with `status` and `reason`.
    pub fn end(&mut self, status: Status, reason: impl Into<String>) {
        self.status = status;
        self.reason = Some(reason.into());
        self.completed_at = Some(now_rfc3339());
    }

    /// Returns how long a running task with a process has run past its warn-after time
    /// (15 minutes unless `start --warn-after` set another), as (runtime, limit).
    /// `None` for ended and logical tasks, and for tasks within their time.
    pub fn overdue(
        &self,
        now: DateTime<Utc>,
    ) -> Option<(std::time::Duration, std::time::Duration)> {
        if self.status != Status::Running || self.is_logical() {
            return None;
        }
        let limit = std::time::Duration::from_secs_f64(
            self.warn_after_secs
                .unwrap_or(DEFAULT_WARN_AFTER_SECS)
                .max(0.0),
        );
        let runtime = (now - self.started()?).to_std().ok()?;
        (runtime > limit).then_some((runtime, limit))
    }

    pub fn started(&self) -> Option<DateTime<Utc>> {
        parse_time(&self.started_at)
    }

    pub fn completed(&self) -> Option<DateTime<Utc>> {
        self.completed_at.as_deref().and_then(parse_time)
    }
}

/// Returns the current time as RFC 3339 in UTC with microseconds.
pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses RFC 3339, or an ISO 8601 time without offset taken as UTC (Python's
/// `datetime.isoformat()` of a naive time).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

impl Serialize for Registry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        let mut map = serializer.serialize_map(Some(1 + self.extra.len()))?;
        map.serialize_entry("tasks", &TasksRef(&self.tasks))?;
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

struct TasksRef<'a>(&'a BTreeMap<String, TaskEntry>);

impl Serialize for TasksRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (id, entry) in self.0 {
            match entry {
                TaskEntry::Valid(task) => map.serialize_entry(id, task)?,
                TaskEntry::Invalid { raw, .. } => map.serialize_entry(id, raw)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Registry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut top = Map::<String, Value>::deserialize(deserializer)?;
        let tasks = match top.remove("tasks") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(tasks)) => tasks,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "\"tasks\" must be an object, found {}",
                    json_type(&other)
                )));
            }
        };
        let tasks = tasks
            .into_iter()
            .map(|(id, raw)| {
                let entry = match Task::deserialize(&raw) {
                    Ok(task) => TaskEntry::Valid(Box::new(task)),
                    Err(error) => TaskEntry::Invalid {
                        raw,
                        reason: error.to_string(),
                    },
                };
                (id, entry)
            })
            .collect();
        Ok(Registry { tasks, extra: top })
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Registry {
    /// Returns the valid task with `id`, if any.
    pub fn task(&self, id: &str) -> Option<&Task> {
        match self.tasks.get(id) {
            Some(TaskEntry::Valid(task)) => Some(task),
            _ => None,
        }
    }

    pub fn task_mut(&mut self, id: &str) -> Option<&mut Task> {
        match self.tasks.get_mut(id) {
            Some(TaskEntry::Valid(task)) => Some(task),
            _ => None,
        }
    }

    /// Returns every valid task, in id order.
    pub fn valid_tasks(&self) -> impl Iterator<Item = (&String, &Task)> {
        self.tasks.iter().filter_map(|(id, entry)| match entry {
            TaskEntry::Valid(task) => Some((id, task.as_ref())),
            TaskEntry::Invalid { .. } => None,
        })
    }

    pub fn insert(&mut self, id: String, task: Task) {
        self.tasks.insert(id, TaskEntry::Valid(Box::new(task)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EARLIER_VERSION: &str = r#"{
      "tasks": {
        "T001": {
          "mode": "native",
          "command": "python train.py",
          "status": "running",
          "started_at": "2026-01-10T12:00:00.123456789Z",
          "native": {"pid": 4242, "pgid": 4242, "start_time": "2026-01-10T12:00:00Z", "env_tag": "TASK_WATCHDOG_ID=T001"},
          "constitution_rules": ["TYPE_HINTS_REQUIRED"],
          "wave": 3
        },
        "T002": {"mode": "native", "command": "x", "status": 7, "started_at": "now"}
      },
      "dev_kid_version": "2.0"
    }"#;

    #[test]
    fn earlier_schema_round_trips_with_unknown_fields() {
        let registry: Registry = serde_json::from_str(EARLIER_VERSION).unwrap();
        let task = registry.task("T001").unwrap();
        assert_eq!(task.status, Status::Running);
        assert_eq!(task.native.as_ref().unwrap().pid, 4242);
        assert_eq!(task.extra["wave"], 3);
        assert!(matches!(registry.tasks["T002"], TaskEntry::Invalid { .. }));

        let written = serde_json::to_value(&registry).unwrap();
        let original: Value = serde_json::from_str(EARLIER_VERSION).unwrap();
        assert_eq!(written["dev_kid_version"], original["dev_kid_version"]);
        assert_eq!(written["tasks"]["T002"], original["tasks"]["T002"]);
        assert_eq!(written["tasks"]["T001"]["wave"], 3);
        assert_eq!(
            written["tasks"]["T001"]["native"],
            original["tasks"]["T001"]["native"]
        );
    }

    #[test]
    fn parses_naive_and_offset_times() {
        assert!(parse_time("2026-01-10T12:00:00.5").is_some());
        assert!(parse_time("2026-01-10T12:00:00+02:00").is_some());
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn rejects_non_object_tasks() {
        assert!(serde_json::from_str::<Registry>(r#"{"tasks": []}"#).is_err());
    }
}
