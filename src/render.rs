//! Shared pieces of human-readable output: durations, sizes, exit summaries and the
//! last lines of a task's log.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use crate::process::ProcessState;
use crate::registry::{Status, Task};

/// Formats `count` with its noun: `1 process`, `3 processes`.
pub fn count(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}

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

/// Returns how long the task ran, or has run so far.
pub fn runtime(task: &Task) -> Option<Duration> {
    let started = task.started()?;
    let ended = task.completed().unwrap_or_else(Utc::now);
    (ended - started).to_std().ok()
}

/// Describes how the task ended, such as `exit 0`, `SIGKILL (core dumped)` or
/// `exit status unknown`.
pub fn exit_summary(task: &Task) -> String {
    let core = if task.core_dumped == Some(true) {
        " (core dumped)"
    } else {
        ""
    };
    let oom = if task.oom_killed {
        ", out of memory"
    } else {
        ""
    };
    match (&task.exit_code, &task.signal) {
        (Some(code), _) => format!("exit {code}{oom}"),
        (None, Some(signal)) => format!("{signal}{core}{oom}"),
        (None, None) if task.status == Status::Running => "running".to_string(),
        (None, None)
            if task.completed_at.is_some() && task.reason.as_deref() == Some("completed") =>
        {
            format!("completed by hand{oom}")
        }
        (None, None) => format!("exit status unknown{oom}"),
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

/// Returns the last `count` lines of the file at `path`, reading at most its last 64 KiB.
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
    lines[skip..]
        .iter()
        .map(|line| (*line).to_string())
        .collect()
}

/// Shortens `text` to at most `width` characters, ending a shortened text with `…`.
/// Counts characters, not terminal cells, so wide characters can still overflow.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        short.push('…');
    }
    short
}

/// Quotes `word` for a POSIX shell when it contains anything but plain characters,
/// so a printed command can be pasted as it is.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Appends one table row: each cell padded to its column width, then `last`
/// unpadded, because the last column is the one cut to fit the line.
pub fn push_row(out: &mut String, cells: &[String], widths: &[usize], last: &str) {
    use std::fmt::Write as _;

    for (cell, width) in cells.iter().zip(widths) {
        let _ = write!(out, "{cell:<width$}  ");
    }
    let _ = writeln!(out, "{last}");
}

/// Makes one output line readable as text: keeps what follows the last carriage
/// return (progress bars redraw the line), drops ANSI escape sequences and other
/// control characters, and turns tabs into spaces.
pub fn clean_line(line: &str) -> String {
    let line = line.trim_end_matches('\r');
    let visible = line.rsplit('\r').next().unwrap_or(line);
    let mut out = String::with_capacity(visible.len());
    let mut chars = visible.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI sequences (`ESC [ ... final`) end with a byte from '@' to '~'.
                // Other escapes are two characters.
                if chars.next_if_eq(&'[').is_some() {
                    for next in chars.by_ref() {
                        if ('@'..='~').contains(&next) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
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

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("a longer command", 8), "a longe…");
        assert_eq!(truncate("äöüäöü", 4), "äöü…");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn quotes_words_for_the_shell() {
        assert_eq!(shell_quote("T001"), "T001");
        assert_eq!(shell_quote("my task"), "'my task'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn clean_line_strips_terminal_codes() {
        assert_eq!(
            clean_line("\u{1b}[31merror\u{1b}[0m: failed"),
            "error: failed"
        );
        assert_eq!(clean_line("10%\r50%\r100% done"), "100% done");
        assert_eq!(clean_line("90%\r100%\r"), "100%");
        assert_eq!(clean_line("a\tb\u{7}c"), "a bc");
        assert_eq!(clean_line("plain"), "plain");
    }
}
