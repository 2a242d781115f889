//! One file per subcommand. Each `run` returns the process exit status.

pub(crate) mod check;
mod cleanup;
mod complete;
mod kill;
mod list;
mod logs;
mod register;
mod rehydrate;
mod report;
pub(crate) mod start;
mod stats;
mod validate;
mod wait;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};
use crate::registry::{Registry, Store, Task};
use crate::task_id;

/// Runs the parsed command line and returns the exit status.
pub fn dispatch(cli: Cli) -> Result<u8> {
    let path = match &cli.registry {
        Some(path) => path.clone(),
        None => Store::discover()?,
    };
    let store = Store::open(&path)?;
    match cli.command {
        Command::Run(args) => crate::daemon::run(&store, &args),
        Command::Start(args) => start::run(&store, &args),
        Command::Register(args) => register::run(&store, &args),
        Command::Check(args) => check::run(&store, &args),
        Command::List(args) => list::run(&store, &args),
        Command::Wait(args) => wait::run(&store, &args),
        Command::Logs(args) => logs::run(&store, &args),
        Command::Kill(args) => kill::run(&store, &args),
        Command::Complete(args) => complete::run(&store, &args),
        Command::Rehydrate(args) => rehydrate::run(&store, &args),
        Command::Report(args) => report::run(&store, &args),
        Command::Stats(args) => stats::run(&store, &args),
        Command::Cleanup(args) => cleanup::run(&store, &args),
        Command::Validate(args) => validate::run(&store, &args),
        Command::Monitor(args) => crate::monitor::run(&store, &args),
    }
}

/// Looks up task `id`, distinguishing a missing task from an invalid record.
pub fn find_task<'a>(store: &Store, registry: &'a Registry, id: &str) -> Result<&'a Task> {
    task_id::validate(id)?;
    match registry.tasks.get(id) {
        Some(crate::registry::TaskEntry::Valid(task)) => Ok(task),
        Some(crate::registry::TaskEntry::Invalid { reason, .. }) => Err(Error::InvalidRecord {
            id: id.to_string(),
            registry: store.path().to_path_buf(),
            reason: reason.clone(),
        }),
        None => Err(Error::TaskNotFound {
            id: id.to_string(),
            registry: store.path().to_path_buf(),
        }),
    }
}

/// Warns that the invalid record of `id` is being replaced, and returns the event
/// that keeps the old record in the event log, so nothing recorded is lost.
pub fn replacing_invalid(
    store: &Store,
    id: &str,
    raw: &serde_json::Value,
    reason: &str,
) -> crate::registry::Event {
    eprintln!(
        "task-watchdog: warning: replacing the invalid record of {id:?} ({reason}); the old record is kept in {}",
        store.events().path().display()
    );
    crate::registry::Event::new(id, "invalid_record_replaced")
        .with("record", raw.clone())
        .with("reason", reason)
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|error| Error::io("cannot serialize output", error.into()))?;
    text.push('\n');
    write_stdout(&text)
}

/// Writes `text` to stdout. A closed pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;

    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Error::io("cannot write to stdout", error)),
    }
}
