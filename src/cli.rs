//! Command-line arguments. Values that need checking beyond their type (durations,
//! PIDs, ids) arrive as strings and are checked by the command, so a bad value gets
//! a one-line error and exit status 1 rather than a usage message.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "task-watchdog",
    version,
    about = "Keeps a truthful record of background tasks and learns of their end from kernel events"
)]
pub struct Cli {
    /// Registry file [default: the nearest .claude/process_registry.json in this
    /// directory or a parent, else .claude/process_registry.json here].
    #[arg(
        long,
        global = true,
        env = "TASK_WATCHDOG_REGISTRY",
        value_name = "PATH"
    )]
    pub registry: Option<PathBuf>,

    /// Log more to stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground: watch tasks, record exits, sweep for leftovers.
    Run(RunArgs),
    /// Launch a task: natively under a monitor that records how it ends, or in a
    /// Docker container with --docker.
    Start(Box<StartArgs>),
    /// Record a task, optionally attaching an existing process or container.
    Register(RegisterArgs),
    /// Show one task: status, verified liveness, resources, exit, last output.
    Check(CheckArgs),
    /// List every task, one row each.
    List(JsonArgs),
    /// Block until the tasks end; exit with the task's code, or 128 + signal.
    Wait(WaitArgs),
    /// Print a task's output.
    Logs(LogsArgs),
    /// End a task's whole process tree (SIGTERM, grace, SIGKILL) and record it cancelled.
    Kill(KillArgs),
    /// Record a task completed and end any processes it left.
    Complete(IdArgs),
    /// Summarize what is running and what ended, for an agent that lost its context.
    Rehydrate(RehydrateArgs),
    /// CPU and memory per running task, summed over its process tree.
    Report(JsonArgs),
    /// Task counts by status.
    Stats(JsonArgs),
    /// Remove ended tasks older than N days, with their logs.
    Cleanup(CleanupArgs),
    /// Check a task's changed files against its rules; exit 3 when violations block the
    /// checkpoint.
    Validate(ValidateArgs),
    /// Internal: the per-task monitor process started by `start`.
    #[command(name = "__monitor", hide = true)]
    Monitor(MonitorArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Seconds between sweeps for leftovers and missed exits.
    #[arg(long, default_value_t = 300)]
    pub interval: u64,
    /// Exit-event mechanism: auto, pidfd, kqueue or poll.
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Milliseconds between checks when the backend is poll.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub poll_interval: u64,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    pub id: String,
    /// Rule names, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub rules: Vec<String>,
    /// End the task's tree and record it failed after this long, such as 10m.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Working directory of the task (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Extra environment variable for the task; repeat for more.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Grace period between SIGTERM and SIGKILL for leftovers and timeouts.
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub grace: String,
    /// Size at which the output file is rotated to <ID>.log.1, such as 8M or 512k.
    #[arg(long, default_value = "8MiB", value_name = "SIZE")]
    pub log_limit: String,
    /// Flag the task as long-running, without ending it, after this long.
    #[arg(long, default_value = "15m", value_name = "DURATION")]
    pub warn_after: String,
    /// Run this string with `sh -c` instead of PROGRAM ARGS.
    #[arg(long, conflicts_with = "program")]
    pub command: Option<String>,
    /// Run the task in a Docker container named dev-task-<ID> instead of natively.
    #[arg(long, requires = "image")]
    pub docker: bool,
    /// The container's image, which must already be present on the engine.
    #[arg(long, requires = "docker", value_name = "IMAGE")]
    pub image: Option<String>,
    /// The container's memory limit, such as 512m or 2g (also its swap limit).
    #[arg(long, requires = "docker", value_name = "SIZE")]
    pub memory: Option<String>,
    /// The container's CPU limit in cores, such as 1.0 or 0.5.
    #[arg(long, requires = "docker", value_name = "CORES")]
    pub cpus: Option<String>,
    /// Directory bind-mounted at /workspace in the container (default: the current
    /// directory).
    #[arg(long, requires = "docker", conflicts_with = "cwd", value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// The program and its arguments, after `--`.
    #[arg(last = true, value_name = "PROGRAM")]
    pub program: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    pub id: String,
    /// The task's command, as text to show.
    #[arg(short, long)]
    pub command: String,
    /// Rule names, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub rules: Vec<String>,
    /// Attach this running process; its exit is recorded by the daemon.
    #[arg(long, value_name = "PID", allow_hyphen_values = true)]
    pub pid: Option<String>,
    /// Attach this existing container, by id or name; its exit is recorded by the
    /// daemon from the engine's events.
    #[arg(long, value_name = "ID_OR_NAME", conflicts_with = "pid")]
    pub container: Option<String>,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    pub id: String,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print only JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    pub id: String,
    /// Print only JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// How many of the last output lines to show.
    #[arg(long, default_value_t = 5)]
    pub lines: usize,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Give up after this long and exit 124.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub id: String,
    /// Print only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// Keep printing new output until the task ends.
    #[arg(short, long)]
    pub follow: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    pub id: String,
    /// The first signal, by name or number.
    #[arg(long, default_value = "TERM")]
    pub signal: String,
    /// How long to wait after the first signal before SIGKILL.
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub grace: String,
}

#[derive(Debug, Args)]
pub struct RehydrateArgs {
    /// Print only JSON on stdout.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Show tasks that ended within this long.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub since: String,
    /// How many of the last output lines to show per task.
    #[arg(long, default_value_t = 3)]
    pub lines: usize,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Remove ended tasks that ended more than this many days ago.
    #[arg(long, default_value_t = 7)]
    pub days: u64,
    /// Print only JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    pub id: String,
    /// Check these files instead of those changed since the task started.
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print only JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The launch specification, as JSON.
    pub spec: String,
}
