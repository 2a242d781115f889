//! The registry file on disk.
//!
//! Readers parse the file without a lock: writers replace it atomically, so a reader
//! sees either the old or the new version, never a mix. Every change is a
//! read-modify-write under an exclusive `flock` on `process_registry.lock`: read,
//! apply, write a temporary file in the same directory, `fsync` it, `rename` it over
//! the registry, `fsync` the directory. The lock is held for milliseconds and never
//! across a wait for a process or the network.
//!
//! A registry that does not parse is renamed to `process_registry.json.corrupt-<UTC
//! time>` (never deleted) and a fresh one starts; the warning names that file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use chrono::Utc;

use super::events::{Event, EventLog};
use super::schema::Registry;
use crate::error::{Error, Result};

/// The registry path used when neither `--registry` nor `TASK_WATCHDOG_REGISTRY` is
/// given, relative to the current directory.
pub const DEFAULT_PATH: &str = ".claude/process_registry.json";

/// Directories a registry may never live under.
const SYSTEM_DIRECTORIES: &[&str] = &["/etc", "/proc", "/sys", "/dev", "/boot"];

/// A registry file and the files beside it.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    directory: PathBuf,
    lock_path: PathBuf,
    events: EventLog,
}

impl Store {
    /// Finds the registry used when none is named: the nearest
    /// `.claude/process_registry.json` in the current directory or a parent, as git
    /// finds `.git`, else [`DEFAULT_PATH`] under the current directory. So commands
    /// run from a subdirectory of a project see its tasks.
    pub fn discover() -> Result<PathBuf> {
        let current = std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?;
        let found = current
            .ancestors()
            .map(|directory| directory.join(DEFAULT_PATH))
            .find(|candidate| candidate.is_file());
        Ok(found.unwrap_or_else(|| current.join(DEFAULT_PATH)))
    }

    /// Resolves `path` against the current directory and checks that a registry can
    /// live there. Nothing is created until something is written.
    pub fn open(path: &Path) -> Result<Self> {
        let path = absolute(path)?;
        // A link in the path could lead into a system directory, so the path with
        // its existing part resolved is checked as well as the path as written.
        let resolved = resolve_existing_prefix(&path);
        for system in SYSTEM_DIRECTORIES {
            if path.starts_with(system) || resolved.starts_with(system) {
                return Err(Error::invalid(format!(
                    "registry path {} is under the system directory {system}; pass --registry with a path inside your project",
                    path.display()
                )));
            }
        }
        let Some(directory) = path.parent().map(Path::to_path_buf) else {
            return Err(Error::invalid(format!(
                "registry path {} has no parent directory; pass --registry with a file path such as .claude/process_registry.json",
                path.display()
            )));
        };
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::invalid(format!(
                    "registry path {} is a directory; pass --registry with a file path such as {}/process_registry.json",
                    path.display(),
                    path.display()
                )));
            }
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::invalid(format!(
                    "registry path {} is a symbolic link, which is never followed for writing; pass --registry with the real file",
                    path.display()
                )));
            }
            _ => {}
        }

        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name.strip_suffix(".json").unwrap_or(&name);
        let lock_path = directory.join(format!("{stem}.lock"));
        let events = EventLog::new(directory.join("watchdog_events.jsonl"));
        Ok(Store {
            path,
            directory,
            lock_path,
            events,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// Returns the directory of task output files.
    pub fn logs_dir(&self) -> PathBuf {
        self.directory.join("logs")
    }

    /// Returns the output file of task `id`, which must have passed
    /// `task_id::validate`.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.logs_dir().join(format!("{id}.log"))
    }

    /// Reads the registry without locking. A missing file is an empty registry; a
    /// file that does not parse is moved aside under the lock.
    pub fn load(&self) -> Result<Registry> {
        match self.read()? {
            Parsed::Ok(registry) => Ok(registry),
            Parsed::Missing => Ok(Registry::default()),
            Parsed::Corrupt(_) => self
                .update(|_, _| Ok(()))
                .and_then(|()| self.load_after_repair()),
        }
    }

    fn load_after_repair(&self) -> Result<Registry> {
        match self.read()? {
            Parsed::Ok(registry) => Ok(registry),
            _ => Ok(Registry::default()),
        }
    }

    /// Applies `change` under the registry lock and writes the result if it differs
    /// from what was read. Events pushed by `change` are appended to the event log
    /// after the registry is written, under the same lock.
    ///
    /// When `change` returns an error nothing is written.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Registry, &mut Vec<Event>) -> Result<T>,
    ) -> Result<T> {
        let lock = self.lock()?;

        let (mut registry, before) = match self.read()? {
            Parsed::Ok(registry) => {
                let before = serde_json::to_vec_pretty(&registry).ok();
                (registry, before)
            }
            Parsed::Missing => (Registry::default(), None),
            Parsed::Corrupt(reason) => {
                self.move_aside(&reason)?;
                (Registry::default(), None)
            }
        };

        let mut events = Vec::new();
        let result = change(&mut registry, &mut events)?;

        let after = serde_json::to_vec_pretty(&registry)
            .map_err(|error| Error::io("cannot serialize the registry", error.into()))?;
        if before.as_deref() != Some(after.as_slice()) {
            self.write_atomically(&after)?;
        }
        if let Err(error) = self.events.append(&events) {
            tracing::warn!(path = %self.events.path().display(), %error, "cannot append to the event log");
        }

        drop(lock);
        Ok(result)
    }

    /// Creates the registry's directory (such as `.claude`) if it is missing. Only
    /// that last directory is created: a missing parent is more likely a typo in the
    /// path than a wish for a new tree.
    pub fn ensure_directory(&self) -> Result<()> {
        if self.directory.is_dir() {
            return Ok(());
        }
        fs::create_dir(&self.directory).map_err(|source| {
            let hint = if source.kind() == io::ErrorKind::NotFound {
                "its parent directory does not exist; create it or pass another --registry"
            } else {
                "check its permissions or pass another --registry"
            };
            Error::File {
                action: "cannot create the registry directory",
                path: self.directory.clone(),
                source,
                hint,
            }
        })
    }

    fn lock(&self) -> Result<File> {
        self.ensure_directory()?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.lock_path)
            .map_err(|source| Error::File {
                action: "cannot open the lock file",
                path: self.lock_path.clone(),
                source,
                hint: "check that the registry directory is writable",
            })?;
        file.lock().map_err(|source| Error::File {
            action: "cannot lock",
            path: self.lock_path.clone(),
            source,
            hint: "check that the file system supports flock",
        })?;
        Ok(file)
    }

    fn read(&self) -> Result<Parsed> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Parsed::Missing),
            Err(source) => {
                return Err(Error::File {
                    action: "cannot read the registry",
                    path: self.path.clone(),
                    source,
                    hint: "check its permissions or pass another --registry",
                });
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Parsed::Missing);
        }
        match serde_json::from_slice(&bytes) {
            Ok(registry) => Ok(Parsed::Ok(registry)),
            Err(error) => Ok(Parsed::Corrupt(error.to_string())),
        }
    }

    fn move_aside(&self, reason: &str) -> Result<()> {
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
        let mut aside = self.path.clone().into_os_string();
        aside.push(format!(".corrupt-{stamp}"));
        let aside = PathBuf::from(aside);
        fs::rename(&self.path, &aside).map_err(|source| Error::File {
            action: "cannot move the unreadable registry aside",
            path: self.path.clone(),
            source,
            hint: "move or repair it by hand",
        })?;
        eprintln!(
            "task-watchdog: warning: registry {} did not parse ({reason}); moved it to {} and started a new one",
            self.path.display(),
            aside.display()
        );
        Ok(())
    }

    fn write_atomically(&self, bytes: &[u8]) -> Result<()> {
        let temporary = self
            .directory
            .join(format!(".process_registry.tmp-{}", std::process::id()));
        let write_error = |source| Error::File {
            action: "cannot write the registry",
            path: self.path.clone(),
            source,
            hint: "check free space and that the registry directory is writable",
        };

        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary)
            .map_err(write_error)?;
        file.write_all(bytes).map_err(write_error)?;
        file.write_all(b"\n").map_err(write_error)?;
        file.sync_all().map_err(write_error)?;
        drop(file);

        fs::rename(&temporary, &self.path).map_err(|error| {
            let _ = fs::remove_file(&temporary);
            write_error(error)
        })?;
        File::open(&self.directory)
            .and_then(|directory| directory.sync_all())
            .map_err(write_error)?;
        Ok(())
    }
}

enum Parsed {
    Ok(Registry),
    Missing,
    Corrupt(String),
}

/// Resolves every link in the longest existing prefix of `path` and appends the
/// rest unchanged.
fn resolve_existing_prefix(path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(real) = fs::canonicalize(ancestor) {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return real.join(rest);
        }
    }
    path.to_path_buf()
}

/// Makes `path` absolute against the current directory and removes `.` and `..`
/// components without touching the file system.
fn absolute(path: &Path) -> Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?
            .join(path)
    };
    let mut normal = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    Ok(normal)
}
