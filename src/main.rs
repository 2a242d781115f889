use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use task_watchdog::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    task_watchdog::logging::init(cli.verbose, matches!(cli.command, Command::Run(_)));
    match task_watchdog::commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("task-watchdog: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints help and version as clap does; any other parse error becomes one line on
/// stderr. A malformed value (`--days abc`) is bad input and exits 1, like every
/// value the commands check themselves; a malformed command line exits 2.
fn usage_error(error: clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    // clap's message runs until the first blank line; the usage and tip follow.
    let rendered = error.to_string();
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(|line| line.trim().trim_start_matches("error: "))
        .collect();
    eprintln!(
        "task-watchdog: {}; see `task-watchdog --help`",
        message.join(" ")
    );
    match error.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => ExitCode::FAILURE,
        _ => ExitCode::from(2),
    }
}
