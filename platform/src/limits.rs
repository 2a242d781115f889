//! Resource limits of the calling process.

use std::io;

use rustix::process::{Resource, getrlimit, setrlimit};

/// Raises the soft limit on open files to the hard limit and returns the new soft
/// limit (`None` for unlimited).
///
/// Each watched process costs the daemon one descriptor on Linux (its pidfd), so the
/// soft limit, often 1024, caps how many tasks it can watch. The hard limit is
/// usually far higher, and raising the soft limit to it needs no privilege.
pub fn raise_open_files() -> io::Result<Option<u64>> {
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        setrlimit(Resource::Nofile, limit)?;
    }
    Ok(limit.current)
}
