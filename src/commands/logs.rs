//! `logs ID [--tail N] [--follow]`: print a task's output file.
//!
//! `--follow` learns of new output and of the task's end from file-change
//! notifications (inotify on Linux, through the `notify` crate) on the log's directory
//! and the registry's directory, not from a timer. A slow re-check every
//! [`SAFETY_RECHECK`] covers notifications that never come, such as the end of an
//! attached process when no daemon is running to record it.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::cli::LogsArgs;
use crate::error::{Error, Result};
use crate::process::{self, ProcessState};
use crate::registry::{Status, Store};

use super::check;
use super::stats;

/// How often `--follow` checks the file and the registry when no notification came.
const SAFETY_RECHECK: Duration = Duration::from_secs(5);

/// How often `--follow` checks when file notifications cannot be set up.
const FALLBACK_RECHECK: Duration = Duration::from_secs(1);

/// The size of each read, forwards when copying and backwards when finding the tail.
const BLOCK: usize = 64 * 1024;

pub fn run(store: &Store, args: &LogsArgs) -> Result<u8> {
    let registry = store.load()?;
    let task = super::find_task(store, &registry, &args.id)?;
    if crate::docker::is_docker(task) {
        return container_logs(&args.id, task, args);
    }
    let path = check::log_path(store, &args.id, task);
    let running = task.status == Status::Running;

    if args.follow && running {
        return follow(store, &args.id, &path, args.tail);
    }

    let mut reader = LogReader::new(path.clone(), args.tail);
    let mut stdout = io::stdout().lock();
    reader
        .pump(&mut stdout)
        .map_err(|error| read_error(&path, error))?;
    if !reader.opened() {
        eprintln!(
            "task-watchdog: task {:?} has no output yet ({} does not exist)",
            args.id,
            path.display()
        );
    }
    Ok(0)
}

/// Prints a container task's output from the engine, which keeps it while the
/// container exists.
fn container_logs(id: &str, task: &crate::registry::Task, args: &LogsArgs) -> Result<u8> {
    let Some(container) = crate::docker::record::container_ref(task) else {
        return Err(Error::invalid(format!(
            "task {id:?} is a Docker task with no container recorded, so it has no output to show"
        )));
    };
    let follow = args.follow && task.status == Status::Running;
    crate::docker::logs::print(container, args.tail, follow)?;
    Ok(0)
}

/// Prints output as it is appended until the task is no longer running and every
/// byte written before that is printed.
fn follow(store: &Store, id: &str, path: &Path, tail: Option<usize>) -> Result<u8> {
    let (sender, receiver) = mpsc::channel();
    // The watcher is set up before the first read, so output written in between
    // still produces a notification.
    let mut watch = Watch::new(sender, store.directory(), path);
    let mut reader = LogReader::new(path.to_path_buf(), tail);
    let mut stdout = io::stdout().lock();

    let mut check_registry = true;
    let mut last_check = Instant::now();
    loop {
        let finished = if check_registry || last_check.elapsed() >= SAFETY_RECHECK {
            last_check = Instant::now();
            following_ends(store, id)?
        } else {
            false
        };

        // Output written before the task ended is in the file by now, so reading
        // after the registry check prints all of it.
        match reader
            .pump(&mut stdout)
            .map_err(|error| read_error(path, error))?
        {
            Flow::Open => {}
            Flow::Closed => return Ok(0),
        }
        if finished {
            if !reader.opened() {
                eprintln!(
                    "task-watchdog: task {id:?} has no output yet ({} does not exist)",
                    path.display()
                );
            }
            return Ok(0);
        }

        watch.retry_log_dir();
        check_registry = watch.wait(&receiver, store.path());
    }
}

/// Decides whether following ends: the task is no longer recorded running, or its
/// process is verifiably gone while nothing is left to record its end.
fn following_ends(store: &Store, id: &str) -> Result<bool> {
    let registry = store.load()?;
    let Some(task) = registry.task(id) else {
        // Removed by `cleanup` or replaced by an invalid record: nothing more to follow.
        return Ok(true);
    };
    if task.status != Status::Running {
        return Ok(true);
    }
    if !stats::is_native(task) {
        return Ok(false);
    }

    // An unverifiable process (`Unknown`) is followed on, because it may still run.
    let process_exited = matches!(
        process::main_state(task),
        ProcessState::Exited | ProcessState::Reused
    ) && !process::monitor_alive(task);
    if process_exited {
        eprintln!(
            "task-watchdog: task {id:?} is still recorded running, but its process has exited and no monitor is left to record the end; record it with `task-watchdog complete {id}`, or start the daemon with `task-watchdog run`"
        );
    }
    Ok(process_exited)
}

fn read_error(path: &Path, source: io::Error) -> Error {
    Error::File {
        action: "cannot read the log",
        path: path.to_path_buf(),
        source,
        hint: "check its permissions",
    }
}

/// The state of stdout after a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Open,
    /// The reader went away (`| head`), which ends the command without an error.
    Closed,
}

/// Reads a log file incrementally, surviving truncation and replacement.
struct LogReader {
    path: PathBuf,
    file: Option<File>,
    /// Device and inode of `file`, to notice when `path` names another file.
    identity: (u64, u64),
    position: u64,
    /// Lines to start with on the first open; later files are read from the start.
    tail: Option<usize>,
    ever_opened: bool,
}

impl LogReader {
    fn new(path: PathBuf, tail: Option<usize>) -> Self {
        LogReader {
            path,
            file: None,
            identity: (0, 0),
            position: 0,
            tail,
            ever_opened: false,
        }
    }

    fn opened(&self) -> bool {
        self.ever_opened
    }

    /// Copies everything new to `out`. When the path names a new file (rotation to
    /// `<ID>.log.1` and a fresh `<ID>.log`), the rest of the old file is copied first.
    /// NOTE: output a writer still appends to the old file after the switch is not
    /// shown, because only the file at `path` is followed from then on.
    fn pump(&mut self, out: &mut impl Write) -> io::Result<Flow> {
        let current = match fs::metadata(&self.path) {
            Ok(meta) => Some((meta.dev(), meta.ino())),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(error),
        };

        if self.file.is_some() {
            if self.copy_new(out)? == Flow::Closed {
                return Ok(Flow::Closed);
            }
            if current.is_some_and(|identity| identity != self.identity) {
                self.file = None;
            }
        }

        if self.file.is_none() && current.is_some() && self.open()? {
            return self.copy_new(out);
        }
        Ok(Flow::Open)
    }

    /// Opens the file at `path`, starting at the requested tail on the first open.
    /// Returns false when it vanished since it was seen.
    fn open(&mut self) -> io::Result<bool> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(error),
        };
        let meta = file.metadata()?;
        self.identity = (meta.dev(), meta.ino());
        self.position = match self.tail.take() {
            Some(count) if !self.ever_opened => tail_start(&mut file, meta.len(), count)?,
            _ => 0,
        };
        self.file = Some(file);
        self.ever_opened = true;
        Ok(true)
    }

    fn copy_new(&mut self, out: &mut impl Write) -> io::Result<Flow> {
        let Some(file) = self.file.as_mut() else {
            return Ok(Flow::Open);
        };
        // A file shorter than what was already read was truncated: print it again
        // from the start. NOTE: a truncated file that grew past the old position
        // before this check is read from the old position, so its start is missed.
        if file.metadata()?.len() < self.position {
            self.position = 0;
        }
        file.seek(SeekFrom::Start(self.position))?;

        let mut buffer = vec![0; BLOCK];
        loop {
            let count = match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(count) => count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if write_out(out, &buffer[..count])? == Flow::Closed {
                return Ok(Flow::Closed);
            }
            self.position += count as u64;
        }
        match out.flush() {
            Ok(()) => Ok(Flow::Open),
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(Flow::Closed),
            Err(error) => Err(error),
        }
    }
}

fn write_out(out: &mut impl Write, bytes: &[u8]) -> io::Result<Flow> {
    match out.write_all(bytes) {
        Ok(()) => Ok(Flow::Open),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(Flow::Closed),
        Err(error) => Err(error),
    }
}

/// Finds the offset where the last `count` lines of the first `length` bytes of
/// `file` start, reading backwards one block at a time, so memory stays at one block
/// whatever `count` is. A final line without a newline counts as a line.
fn tail_start(file: &mut (impl Read + Seek), length: u64, count: usize) -> io::Result<u64> {
    if count == 0 {
        return Ok(length);
    }
    let mut buffer = vec![0; BLOCK];
    let mut end = length;
    let mut newlines = 0;
    while end > 0 {
        let start = end.saturating_sub(BLOCK as u64);
        let size = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buffer[..size])?;
        for index in (0..size).rev() {
            let offset = start + index as u64;
            // A newline that ends the file closes the last line and starts no new one.
            if buffer[index] != b'\n' || offset + 1 == length {
                continue;
            }
            newlines += 1;
            if newlines == count {
                return Ok(offset + 1);
            }
        }
        end = start;
    }
    Ok(0)
}

/// File-change notifications on the registry's directory and the log's directory.
struct Watch {
    watcher: Option<RecommendedWatcher>,
    log_dir: Option<PathBuf>,
    log_dir_watched: bool,
}

impl Watch {
    fn new(
        sender: mpsc::Sender<notify::Result<notify::Event>>,
        registry_dir: &Path,
        log: &Path,
    ) -> Self {
        let log_dir = log
            .parent()
            .map(Path::to_path_buf)
            .filter(|dir| dir != registry_dir);
        let watcher = notify::recommended_watcher(sender).and_then(|mut watcher| {
            watcher.watch(registry_dir, RecursiveMode::NonRecursive)?;
            Ok(watcher)
        });
        let watcher = match watcher {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::debug!(%error, interval = ?FALLBACK_RECHECK, "file notifications unavailable, checking on an interval");
                None
            }
        };
        let mut watch = Watch {
            watcher,
            log_dir,
            log_dir_watched: false,
        };
        watch.retry_log_dir();
        watch
    }

    /// Watches the log's directory once it exists. Until then the registry
    /// directory's notifications and the safety re-check wake the loop to retry.
    fn retry_log_dir(&mut self) {
        let (Some(watcher), Some(dir)) = (self.watcher.as_mut(), self.log_dir.as_ref()) else {
            return;
        };
        if self.log_dir_watched || !dir.is_dir() {
            return;
        }
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => self.log_dir_watched = true,
            Err(error) => {
                tracing::debug!(dir = %dir.display(), %error, "cannot watch the log directory")
            }
        }
    }

    /// Waits for a notification that can change the output or the task's status.
    /// Returns true when the registry may have changed.
    fn wait(&self, receiver: &Receiver<notify::Result<notify::Event>>, registry: &Path) -> bool {
        if self.watcher.is_none() {
            std::thread::sleep(FALLBACK_RECHECK);
            return true;
        }
        let deadline = Instant::now() + SAFETY_RECHECK;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let first = match receiver.recv_timeout(remaining) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return true,
            };
            // Coalesce a burst of writes into one read.
            let mut registry_changed = false;
            let mut relevant = false;
            for event in std::iter::once(first).chain(receiver.try_iter()) {
                let (touches_registry, matters) = classify(&event, registry);
                registry_changed |= touches_registry;
                relevant |= matters;
            }
            if relevant {
                return registry_changed;
            }
        }
    }
}

/// Returns whether `event` may concern the registry file, and whether it may change
/// anything at all. Opening and reading files (this command's own reads included)
/// change nothing, so they are ignored instead of waking a loop.
fn classify(event: &notify::Result<notify::Event>, registry: &Path) -> (bool, bool) {
    let event = match event {
        Ok(event) => event,
        Err(_) => return (true, true),
    };
    if event.need_rescan() {
        return (true, true);
    }
    if matches!(event.kind, EventKind::Access(_)) {
        return (false, false);
    }
    let touches_registry =
        event.paths.is_empty() || event.paths.iter().any(|path| path == registry);
    (touches_registry, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Cursor;

    fn tail(text: &str, count: usize) -> String {
        let mut cursor = Cursor::new(text.as_bytes());
        let start = tail_start(&mut cursor, text.len() as u64, count).unwrap();
        text[start as usize..].to_string()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tw-logs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn tail_counts_lines_from_end() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a\nb\nc\n", 3), "a\nb\nc\n");
        assert_eq!(tail("a\nb\nc\n", 10), "a\nb\nc\n");
        assert_eq!(tail("a\nb\nc\n", 0), "");
    }

    #[test]
    fn tail_counts_unterminated_last_line() {
        assert_eq!(tail("a\nb\nc", 1), "c");
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }

    #[test]
    fn tail_keeps_empty_lines() {
        assert_eq!(tail("a\n\n\n", 2), "\n\n");
        assert_eq!(tail("\n", 1), "\n");
        assert_eq!(tail("", 3), "");
    }

    #[test]
    fn tail_spans_many_blocks() {
        // Lines longer than a block, and more lines than fit in one block.
        let long = "x".repeat(BLOCK * 2 + 17);
        let text = format!("first\n{long}\nsecond\n{long}\nlast\n");
        assert_eq!(tail(&text, 3), format!("second\n{long}\nlast\n"));
        assert_eq!(tail(&text, 5), text);

        let many: String = (0..50_000).map(|line| format!("line {line}\n")).collect();
        let expected: String = (30_000..50_000)
            .map(|line| format!("line {line}\n"))
            .collect();
        assert_eq!(tail(&many, 20_000), expected);
    }

    #[test]
    fn reader_follows_appends() {
        let dir = scratch("append");
        let path = dir.join("T1.log");
        let mut reader = LogReader::new(path.clone(), Some(1));
        let mut out = Vec::new();

        assert_eq!(reader.pump(&mut out).unwrap(), Flow::Open);
        assert!(!reader.opened());

        fs::write(&path, "old 1\nold 2\n").unwrap();
        reader.pump(&mut out).unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "old 2\n");

        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"new\n")
            .unwrap();
        reader.pump(&mut out).unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "old 2\nnew\n");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn reader_restarts_after_truncation() {
        let dir = scratch("truncate");
        let path = dir.join("T1.log");
        fs::write(&path, "a long first line\n").unwrap();
        let mut reader = LogReader::new(path.clone(), None);
        let mut out = Vec::new();
        reader.pump(&mut out).unwrap();

        fs::write(&path, "short\n").unwrap();
        reader.pump(&mut out).unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "a long first line\nshort\n");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn reader_finishes_rotated_file_first() {
        let dir = scratch("rotate");
        let path = dir.join("T1.log");
        fs::write(&path, "one\n").unwrap();
        let mut reader = LogReader::new(path.clone(), None);
        let mut out = Vec::new();
        reader.pump(&mut out).unwrap();

        // A writer appends to the old file, which is then rotated away.
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"two\n")
            .unwrap();
        fs::rename(&path, dir.join("T1.log.1")).unwrap();
        fs::write(&path, "three\n").unwrap();
        reader.pump(&mut out).unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "one\ntwo\nthree\n");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn access_events_are_ignored() {
        let registry = Path::new("/r/process_registry.json");
        let open = notify::Event::new(EventKind::Access(notify::event::AccessKind::Any))
            .add_path(registry.into());
        assert_eq!(classify(&Ok(open), registry), (false, false));

        let replaced = notify::Event::new(EventKind::Create(notify::event::CreateKind::File))
            .add_path(registry.into());
        assert_eq!(classify(&Ok(replaced), registry), (true, true));

        let log = notify::Event::new(EventKind::Modify(notify::event::ModifyKind::Any))
            .add_path("/r/logs/T1.log".into());
        assert_eq!(classify(&Ok(log), registry), (false, true));
    }
}
