//! `register ID --command CMD --container ID_OR_NAME`: track a container that this
//! program did not start. It carries none of our labels, so the daemon matches its
//! events by the recorded id, and reconciliation always inspects it.

use super::client;
use super::record;
use crate::error::{Error, Result};

/// Reads the container's full id, name and image, checking that it exists.
pub fn inspect(container: &str) -> Result<serde_json::Value> {
    let container = container.trim();
    if container.is_empty() {
        return Err(Error::invalid(
            "--container is empty; give a container id or name, as `docker ps` shows them",
        ));
    }
    client::block_on(async {
        let engine = client::connect().await?;
        let response = match engine.docker.inspect_container(container, None).await {
            Ok(response) => response,
            Err(error) if client::is_not_found(&error) => {
                return Err(Error::invalid(format!(
                    "no container {container:?} on the Docker engine at {}; check the id or name with `docker ps -a`",
                    engine.endpoint
                )));
            }
            Err(error) => {
                return Err(client::request_failed(
                    format!("cannot inspect container {container}"),
                    &error,
                ));
            }
        };
        let id = response.id.unwrap_or_else(|| container.to_string());
        let name = response
            .name
            .map(|name| name.trim_start_matches('/').to_string())
            .unwrap_or_default();
        let image = response
            .config
            .and_then(|config| config.image)
            .unwrap_or_default();
        let mut object = record::docker_object(&id, &name, &image, None, None);
        object["attached"] = serde_json::Value::Bool(true);
        Ok(object)
    })
}
