//! The daemon, `task-watchdog run`: one per registry, in the foreground.
//!
//! It waits on four event sources and one timer, each with its own handler:
//!
//! - exit events from the platform's exit source (pidfd or poll) for monitors and
//!   attached processes, handled by [`watcher::TaskWatcher`];
//! - registry-directory notifications, so a task registered while the daemon runs
//!   is watched within milliseconds;
//! - container events from the Docker engine, forwarded by a spawned link task that
//!   reconnects with backoff, handled by [`docker_events::DockerWatch`]; the daemon
//!   runs without an engine and watches native tasks all the same;
//! - SIGTERM and SIGINT, which end the daemon with status 0 and leave every task
//!   running;
//! - the sweep timer (`--interval`, default 300 s), its only periodic wake-up apart
//!   from the Docker link's reconnects and its ping of a silent events stream.
//!
//! Its own registry writes come back as notifications; they only trigger a reload
//! and a comparison of watches, which changes nothing, so they never loop.

mod docker_events;
mod registry_events;
mod sweep;
mod timeouts;
mod watcher;

use docker_events::DockerWatch;
pub use registry_events::RegistryEvents;
pub use watcher::{REASON_ATTACHED_EXIT, REASON_MONITOR_LOST, TaskWatcher};

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use task_watchdog_platform::exit_source::{Backend, ExitSource};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::MissedTickBehavior;

use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::registry::Store;

pub fn run(store: &Store, args: &RunArgs) -> Result<u8> {
    if args.interval == 0 {
        return Err(Error::invalid(
            "invalid --interval 0: give the sweep period in seconds, such as 300",
        ));
    }
    if args.poll_interval == 0 {
        return Err(Error::invalid(
            "invalid --poll-interval 0: give milliseconds, such as 1000",
        ));
    }
    let backend = parse_backend(&args.backend)?;
    let _lock = acquire_daemon_lock(store)?;
    match task_watchdog_platform::limits::raise_open_files() {
        Ok(limit) => tracing::debug!(?limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::io("cannot start the async runtime", error))?;
    runtime.block_on(serve(store, args, backend))?;
    Ok(0)
}

fn parse_backend(text: &str) -> Result<Option<Backend>> {
    if text == "auto" {
        return Ok(None);
    }
    let backend: Backend = text.parse().map_err(Error::Invalid)?;
    if !Backend::available().contains(&backend) {
        let names: Vec<&str> = Backend::available().iter().map(|b| b.name()).collect();
        return Err(Error::invalid(format!(
            "backend {backend} is not available on this machine; use auto or one of: {}",
            names.join(", ")
        )));
    }
    Ok(Some(backend))
}

/// True when a daemon holds the lock of `store`'s registry.
pub fn is_running(store: &Store) -> bool {
    let path = store.directory().join("watchdog.lock");
    let Ok(file) = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    else {
        return false;
    };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

/// Takes the single-instance lock on `watchdog.lock` and writes our PID into it.
/// The lock lasts as long as the returned file is open.
fn acquire_daemon_lock(store: &Store) -> Result<File> {
    store.ensure_directory()?;
    let path = store.directory().join("watchdog.lock");
    let file_error = |source| Error::File {
        action: "cannot open the daemon lock",
        path: path.clone(),
        source,
        hint: "check that the registry directory is writable",
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(file_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() { "unknown" } else { holder };
            return Err(Error::invalid(format!(
                "another daemon (PID {holder}) already watches {}; stop it first or pass another --registry",
                store.path().display()
            )));
        }
        Err(TryLockError::Error(error)) => return Err(file_error(error)),
    }
    let pid = format!("{}\n", std::process::id());
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(pid.as_bytes()))
        .map_err(file_error)?;
    Ok(file)
}

async fn serve(store: &Store, args: &RunArgs, backend: Option<Backend>) -> Result<()> {
    let poll_interval = Duration::from_millis(args.poll_interval);
    let source = match backend {
        Some(backend) => ExitSource::new(backend, poll_interval),
        None => ExitSource::best(poll_interval),
    }
    .map_err(|error| Error::io("cannot create the exit-event source", error))?;
    let mut watcher = TaskWatcher::new(source);
    let mut registry_events = RegistryEvents::watch(store.path())?;
    let mut terminate = signal(SignalKind::terminate())
        .map_err(|error| Error::io("cannot handle SIGTERM", error))?;
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|error| Error::io("cannot handle SIGINT", error))?;

    let (docker_sender, mut docker_messages) = tokio::sync::mpsc::unbounded_channel();
    let docker_link = crate::docker::events::spawn_link(docker_sender);
    let mut docker = DockerWatch::default();

    let registry = store.load()?;
    watcher.sync(store, &registry, None);
    tracing::info!(
        registry = %store.path().display(),
        backend = watcher.backend().name(),
        interval_secs = args.interval,
        watching = watcher.watched(),
        "daemon started"
    );

    let period = Duration::from_secs(args.interval);
    let mut sweep_timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    sweep_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // One sweep at start finds what happened while no daemon ran.
    run_sweep(store).await;
    let mut deadline = resync(store, &mut watcher, &mut docker).await;

    loop {
        // Without a deadline this branch is disabled; the far-off time is never used.
        let timeout_at = tokio::time::Instant::now()
            + deadline
                .as_ref()
                .map_or(Duration::from_secs(86_400), |(left, _)| *left);
        tokio::select! {
            Some(ids) = watcher.next_exits(store) => {
                tracing::trace!(tasks = ?ids, "handled exit events");
            }
            Some(()) = registry_events.changed() => {
                deadline = resync(store, &mut watcher, &mut docker).await;
            }
            Some(message) = docker_messages.recv() => docker.handle(store, message).await,
            _ = sweep_timer.tick() => {
                run_sweep(store).await;
                docker.reconcile(store).await;
                deadline = resync(store, &mut watcher, &mut docker).await;
            }
            _ = tokio::time::sleep_until(timeout_at), if deadline.is_some() => {
                if let Some((_, id)) = deadline.take() {
                    enforce_timeout(store, id).await;
                }
                deadline = resync(store, &mut watcher, &mut docker).await;
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    docker_link.abort();
    tracing::info!(
        docker_connected = docker.is_connected(),
        "daemon stopping; tasks are left running"
    );
    Ok(())
}

/// Reloads the registry once, brings the process watches and the container tasks
/// in line with it, and returns the next timeout the daemon must enforce.
async fn resync(
    store: &Store,
    watcher: &mut TaskWatcher,
    docker: &mut DockerWatch,
) -> Option<(Duration, String)> {
    match store.load() {
        Ok(registry) => {
            watcher.sync(store, &registry, None);
            docker.on_registry_change(store, &registry).await;
            timeouts::next_deadline(&registry)
        }
        Err(error) => {
            tracing::error!(%error, "cannot reload the registry");
            None
        }
    }
}

async fn enforce_timeout(store: &Store, id: String) {
    let store = store.clone();
    let task = id.clone();
    match tokio::task::spawn_blocking(move || timeouts::enforce(&store, &id)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%task, %error, "cannot enforce the timeout"),
        Err(error) => tracing::error!(%task, %error, "timeout enforcement panicked"),
    }
}

async fn run_sweep(store: &Store) {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || sweep::sweep(&store)).await {
        Ok(Ok(report)) => tracing::debug!(?report, "sweep done"),
        Ok(Err(error)) => tracing::error!(%error, "sweep failed"),
        Err(error) => tracing::error!(%error, "sweep panicked"),
    }
}
