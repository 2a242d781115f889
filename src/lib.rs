//! task-watchdog: a truthful, persistent record of background tasks, kept current
//! from kernel exit events.
//!
//! `main.rs` parses arguments and calls [`commands::dispatch`]; each subcommand lives
//! in its own file under `commands/`. Everything that talks to one operating system
//! is in the `task-watchdog-platform` crate, so this crate has no `unsafe`.

#![deny(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod daemon;
pub mod docker;
pub mod error;
pub mod launch;
pub mod logging;
pub mod monitor;
pub mod process;
pub mod registry;
pub mod render;
pub mod rules;
pub mod task_id;
pub mod task_log;
pub mod units;
