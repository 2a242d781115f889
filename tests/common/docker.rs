//! Support for tests against the real Docker engine: an engine check that skips or
//! fails, a throwaway image built without a registry, and removal of every container
//! and image a test created, by id.
//!
//! The image is a root file system holding a static busybox (Debian's
//! `busybox-static` package) and links to the applets the tests run, loaded with
//! `docker import`. Each test imports its own copy under a unique tag, which takes
//! about 0.1 s, so no test removes an image another test still uses.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{Output, Sandbox, run_to_end};

/// Set to 1 to make a missing engine or busybox a failure instead of a skip. CI
/// sets it whenever `docker info` succeeds.
pub const REQUIRE_VARIABLE: &str = "TASK_WATCHDOG_REQUIRE_DOCKER";

/// A socket path that does not exist, for the tests of an unreachable engine.
pub const MISSING_SOCKET: &str = "unix:///nonexistent.sock";

/// The busybox applets linked into the test image.
const APPLETS: [&str; 10] = [
    "sh", "sleep", "echo", "true", "false", "cat", "head", "tail", "env", "ls",
];

/// Places the static busybox may be installed.
const BUSYBOX_PATHS: [&str; 2] = ["/bin/busybox", "/usr/bin/busybox"];

/// A test's image, plus the containers it created outside the program.
pub struct DockerFixture {
    pub image: String,
    image_id: String,
    registry: std::path::PathBuf,
    containers: std::cell::RefCell<Vec<String>>,
}

/// Returns the fixture, or `None` after printing why the test is skipped. Panics
/// instead of skipping when [`REQUIRE_VARIABLE`] is 1.
pub fn fixture_or_skip(sandbox: &Sandbox, test: &str) -> Option<DockerFixture> {
    let required = std::env::var(REQUIRE_VARIABLE).is_ok_and(|value| value == "1");
    let skip = |reason: String| {
        assert!(
            !required,
            "{test}: {reason}, and {REQUIRE_VARIABLE}=1 requires Docker"
        );
        eprintln!("SKIPPED {test}: {reason}");
        None
    };

    let info = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .output();
    match info {
        Err(error) => return skip(format!("the docker CLI cannot run ({error})")),
        Ok(info) if !info.status.success() => {
            let stderr = String::from_utf8_lossy(&info.stderr);
            return skip(format!(
                "no Docker engine answers (`docker info`: {})",
                stderr.trim()
            ));
        }
        Ok(_) => {}
    }
    let Some(busybox) = BUSYBOX_PATHS
        .iter()
        .map(Path::new)
        .find(|path| path.exists())
    else {
        return skip("no busybox to build the test image from; install busybox-static".to_string());
    };

    let suffix = sandbox.id("x").to_ascii_lowercase();
    let image = format!("task-watchdog-test:{}", suffix.trim_start_matches("x-"));
    let image_id = import_image(sandbox, busybox, &image);
    Some(DockerFixture {
        image,
        image_id,
        registry: sandbox.registry_path(),
        containers: Default::default(),
    })
}

fn import_image(sandbox: &Sandbox, busybox: &Path, image: &str) -> String {
    let root = sandbox.root().join("image-root");
    std::fs::create_dir_all(root.join("bin")).expect("create the image's /bin");
    std::fs::create_dir_all(root.join("workspace")).expect("create the image's /workspace");
    std::fs::copy(busybox, root.join("bin/busybox")).expect("copy busybox");
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
            .expect("link a busybox applet");
    }

    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tar");
    let mut import = Command::new("docker");
    import
        .args(["import", "-", image])
        .stdin(tar.stdout.take().expect("tar's stdout"));
    let output = run_to_end(import, super::COMMAND_DEADLINE);
    let tar_status = tar.wait().expect("wait for tar");
    assert!(tar_status.success(), "tar failed: {tar_status}");
    assert_eq!(output.code, Some(0), "docker import failed: {output:#?}");
    output.stdout.trim().to_string()
}

impl DockerFixture {
    /// Tracks a container the test created with the docker CLI, for removal.
    pub fn track(&self, container: &str) {
        self.containers.borrow_mut().push(container.to_string());
    }

    /// Reads one field of `docker inspect` of `container`, by Go template.
    #[track_caller]
    pub fn inspect(&self, container: &str, template: &str) -> String {
        let output = docker(&["inspect", "--format", template, container]);
        assert_eq!(output.code, Some(0), "docker inspect failed: {output:#?}");
        output.stdout.trim().to_string()
    }

    /// Lists the containers the program recorded in the test's registry.
    fn recorded_containers(&self) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(&self.registry) else {
            return Vec::new();
        };
        let Ok(registry) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Vec::new();
        };
        registry["tasks"]
            .as_object()
            .into_iter()
            .flat_map(|tasks| tasks.values())
            .filter_map(|task| task["docker"]["container_id"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for DockerFixture {
    /// Removes the containers this test created, by id, then its image.
    fn drop(&mut self) {
        let mut containers = self.recorded_containers();
        containers.extend(self.containers.borrow().iter().cloned());
        containers.sort();
        containers.dedup();
        for container in &containers {
            let _ = docker(&["rm", "--force", container]);
        }
        let _ = docker(&["image", "rm", "--force", &self.image_id]);
    }
}

/// Runs the docker CLI and returns how it ended.
pub fn docker(args: &[&str]) -> Output {
    let mut command = Command::new("docker");
    command.args(args).stdin(Stdio::null());
    run_to_end(command, super::COMMAND_DEADLINE)
}
