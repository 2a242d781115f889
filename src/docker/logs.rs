//! A container task's output, read from the engine: `logs --tail N` and
//! `--follow`, which the engine ends when the container stops.

use std::io::Write;

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt;

use super::client;
use crate::error::{Error, Result};

/// Copies the output of `container` to stdout, both streams interleaved as the
/// engine stored them. A closed stdout (`| head`) ends it without error.
pub fn print(container: &str, tail: Option<usize>, follow: bool) -> Result<()> {
    client::block_on(async {
        let engine = client::connect().await?;
        let tail = tail.map_or_else(|| "all".to_string(), |count| count.to_string());
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail)
            .build();
        let mut stream = engine.docker.logs(container, Some(options));
        let mut stdout = std::io::stdout().lock();
        while let Some(item) = stream.next().await {
            let chunk = item.map_err(|error| read_error(container, &error))?;
            let written = stdout
                .write_all(&chunk.into_bytes())
                .and_then(|()| stdout.flush());
            match written {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(error) => return Err(Error::io("cannot write to stdout", error)),
            }
        }
        Ok(())
    })
}

/// Reads the last `count` lines of the container's output, for `check`.
pub async fn tail_lines(
    engine: &client::Engine,
    container: &str,
    count: usize,
) -> Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&count.to_string())
        .build();
    let mut stream = engine.docker.logs(container, Some(options));
    let mut text = Vec::new();
    while let Some(item) = stream.next().await {
        let chunk = item.map_err(|error| read_error(container, &error))?;
        text.extend_from_slice(&chunk.into_bytes());
    }
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .map(str::to_string)
        .collect())
}

fn read_error(container: &str, error: &bollard::errors::Error) -> Error {
    if client::is_not_found(error) {
        return Error::invalid(format!(
            "container {container} no longer exists on the Docker engine, so its output is gone"
        ));
    }
    client::request_failed(
        format!("cannot read the output of container {container}"),
        error,
    )
}
