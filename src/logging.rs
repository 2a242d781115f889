//! `tracing` to stderr. The level comes from `RUST_LOG`, else from `-v` flags. The
//! daemon logs task lifecycle at info by default; one-shot commands show only
//! warnings, so their output stays what the user asked for.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8, daemon: bool) {
    let default = match verbose {
        0 if daemon => "info",
        0 => "warn",
        // bollard logs every request and response body at debug.
        1 => "debug,bollard=info",
        _ => "trace,bollard=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}
