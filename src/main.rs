use std::process::ExitCode;

use clap::Parser;

use task_watchdog::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    task_watchdog::logging::init(cli.verbose, matches!(cli.command, Command::Run(_)));
    match task_watchdog::commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("task-watchdog: {error}");
            ExitCode::FAILURE
        }
    }
}
