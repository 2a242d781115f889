//! Notifications of changes to the registry file, without polling.
//!
//! Writers replace the registry with `rename`, which swaps its inode, so a watch on
//! the file itself would go stale after the first write. The watch is on the
//! directory instead, and only events naming the registry's file name pass. The
//! `notify` crate uses inotify on Linux and kqueue on the BSDs, and blocks in its
//! own thread between events.

use std::ffi::OsString;
use std::path::Path;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// A live watch on one registry's directory. Dropping it stops the watch.
pub struct RegistryEvents {
    _watcher: notify::RecommendedWatcher,
    receiver: mpsc::UnboundedReceiver<()>,
}

impl RegistryEvents {
    /// Watches the directory of `registry` for changes to that file.
    pub fn watch(registry: &Path) -> Result<Self> {
        let directory = registry.parent().unwrap_or(Path::new("."));
        let name: OsString = registry.file_name().map(OsString::from).unwrap_or_default();
        let (sender, receiver) = mpsc::unbounded_channel();

        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let relevant = match event {
                    Ok(event) => {
                        !matches!(event.kind, EventKind::Access(_))
                            && event
                                .paths
                                .iter()
                                .any(|path| path.file_name() == Some(name.as_os_str()))
                    }
                    // An overflowed queue may have dropped our event: treat as a change.
                    Err(_) => true,
                };
                if relevant {
                    let _ = sender.send(());
                }
            })
            .map_err(|error| watch_error(directory, error))?;
        watcher
            .watch(directory, RecursiveMode::NonRecursive)
            .map_err(|error| watch_error(directory, error))?;

        Ok(RegistryEvents {
            _watcher: watcher,
            receiver,
        })
    }

    /// Waits for the next change, then swallows the ones already queued behind it,
    /// since one reload covers them all.
    pub async fn changed(&mut self) -> Option<()> {
        self.receiver.recv().await?;
        while self.receiver.try_recv().is_ok() {}
        Some(())
    }
}

fn watch_error(directory: &Path, error: notify::Error) -> Error {
    Error::io(
        format!(
            "cannot watch the registry directory {}",
            directory.display()
        ),
        std::io::Error::other(error.to_string()),
    )
}
