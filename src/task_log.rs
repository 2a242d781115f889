//! A task's output file, capped in size with one rotated file.
//!
//! The task's stdout and stderr go into one pipe that the monitor drains into
//! `logs/<ID>.log`. When the next write would take the file past the limit, the
//! file is renamed to `<ID>.log.1`, replacing an older one, and a new one starts.
//! So at most twice the limit is kept on disk, and the newest output is always in
//! `<ID>.log`. Rotation happens after the last complete line that fits, so lines
//! are split only when one line alone is longer than the limit.
//!
//! Because the monitor owns the pipe's read end, a task whose monitor is killed
//! gets EPIPE (or SIGPIPE) on its next write, as under Podman's conmon.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The default size limit of one log file.
pub const DEFAULT_LIMIT: u64 = 8 * 1024 * 1024;

/// A log file that rotates at a size limit.
pub struct RotatingLog {
    path: PathBuf,
    file: File,
    size: u64,
    limit: u64,
}

impl RotatingLog {
    /// Opens `path` for appending, keeping what it already holds.
    pub fn open(path: &Path, limit: u64) -> io::Result<Self> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingLog {
            path: path.to_path_buf(),
            file,
            size,
            limit: limit.max(1),
        })
    }

    /// Appends `bytes`, rotating first when they would not fit.
    pub fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = self.limit.saturating_sub(self.size) as usize;
            if bytes.len() <= room {
                return self.append(bytes);
            }
            // Fill up to the last line end that fits; with none, rotate first,
            // and cut a line only when it alone exceeds the limit.
            let fitting = &bytes[..room];
            let cut = match fitting.iter().rposition(|&byte| byte == b'\n') {
                Some(newline) => newline + 1,
                None if self.size == 0 => room,
                None => 0,
            };
            self.append(&bytes[..cut])?;
            bytes = &bytes[cut..];
            self.rotate()?;
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let mut rotated = self.path.clone().into_os_string();
        rotated.push(".1");
        fs::rename(&self.path, rotated)?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Copies `source` into `log` until end of file, which comes once every process
/// holding the pipe's write end has exited or closed it.
pub fn drain(mut source: impl Read, log: &mut RotatingLog) -> io::Result<()> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let count = match source.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        log.write(&buffer[..count])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tw-task-log-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("T.log")
    }

    #[test]
    fn rotates_at_line_boundary() {
        let path = scratch("lines");
        let mut log = RotatingLog::open(&path, 10).unwrap();
        log.write(b"aaaa\nbbbb\ncccc\n").unwrap();

        let rotated = fs::read(path.with_extension("log.1")).unwrap();
        let current = fs::read(&path).unwrap();
        assert_eq!(rotated, b"aaaa\nbbbb\n");
        assert_eq!(current, b"cccc\n");
    }

    #[test]
    fn keeps_newest_within_twice_limit() {
        let path = scratch("bounded");
        let mut log = RotatingLog::open(&path, 1000).unwrap();
        for line in 0..10_000 {
            log.write(format!("line {line:05}\n").as_bytes()).unwrap();
        }

        let current = fs::read_to_string(&path).unwrap();
        let rotated = fs::read_to_string(path.with_extension("log.1")).unwrap();
        assert!(current.len() <= 1000, "{}", current.len());
        assert!(rotated.len() <= 1000, "{}", rotated.len());
        assert!(current.ends_with("line 09999\n"), "{current}");
        assert!(rotated.ends_with('\n'), "rotation cuts after a line");
        assert!(current.starts_with("line "), "{current}");
    }

    #[test]
    fn splits_only_overlong_lines() {
        let path = scratch("long");
        let mut log = RotatingLog::open(&path, 4).unwrap();
        log.write(b"abcdefghij").unwrap();

        assert_eq!(fs::read(&path).unwrap(), b"ij");
        assert_eq!(fs::read(path.with_extension("log.1")).unwrap(), b"efgh");
    }
}
