//! Registry paths that cannot work: a directory, a file the user cannot read, a
//! directory the user cannot write, a symbolic link, a system directory. Each is
//! exit 1 with one line on stderr that names the path and the fix, and a registry
//! that exists is left byte for byte as it was. Files the program writes beside the
//! registry are never followed through a symbolic link either.
//!
//! The tests run as root, which may read and write anything, so the permission
//! tests run the command under test as `nobody` through `setpriv` (util-linux).

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{COMMAND_DEADLINE, Output, Sandbox, WATCHDOG, assert_rejected, run_to_end};

/// The user and group the permission tests run as.
const NOBODY: u32 = 65534;

/// Asserts a rejection as [`assert_rejected`] does, and that the line goes on to
/// say what to do. The program's messages put the fix after a semicolon.
#[track_caller]
fn assert_rejected_with_fix(output: &Output, value: &str) {
    assert_rejected(output, value);
    let line = output.stderr.trim();
    assert!(
        line.split_once("; ")
            .is_some_and(|(_, fix)| !fix.trim().is_empty()),
        "the message says what to do: {output:#?}"
    );
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|error| panic!("chmod {mode:o} {}: {error}", path.display()));
}

fn display(path: &Path) -> String {
    path.to_str().expect("UTF-8 path").to_string()
}

/// Runs commands as `nobody`: through `setpriv` when the tests run as root, or
/// directly when they already run unprivileged.
struct Unprivileged {
    /// A copy of the binary that `nobody` may execute, inside the sandbox.
    binary: PathBuf,
    through_setpriv: bool,
}

impl Unprivileged {
    /// Prepares the sandbox for an unprivileged user, or returns `None`, after
    /// printing why, when this machine cannot drop privileges.
    fn prepare(sandbox: &Sandbox) -> Option<Self> {
        // SAFETY: geteuid has no preconditions and touches no memory.
        let through_setpriv = unsafe { libc::geteuid() } == 0;
        if through_setpriv {
            let probe = Command::new("setpriv")
                .args(drop_privileges_args())
                .arg("true")
                .output();
            match probe {
                Ok(output) if output.status.success() => {}
                Ok(output) => {
                    println!(
                        "skipped: setpriv cannot switch to uid {NOBODY}: {}",
                        String::from_utf8_lossy(&output.stderr).trim()
                    );
                    return None;
                }
                Err(error) => {
                    println!("skipped: setpriv (util-linux) cannot run: {error}");
                    return None;
                }
            }
        }

        set_mode(sandbox.root(), 0o755);
        let binary_dir = sandbox.root().join("bin");
        fs::create_dir_all(&binary_dir).expect("create bin");
        let binary = binary_dir.join("task-watchdog");
        fs::copy(WATCHDOG, &binary).expect("copy the binary");
        set_mode(&binary, 0o755);
        Some(Unprivileged {
            binary,
            through_setpriv,
        })
    }

    /// Runs `task-watchdog ARGS` as `nobody` in the sandbox.
    fn cmd(&self, sandbox: &Sandbox, args: &[&str]) -> Output {
        let mut command = if self.through_setpriv {
            let mut command = sandbox.command("setpriv");
            command
                .args(drop_privileges_args())
                .arg("--")
                .arg(&self.binary);
            command
        } else {
            sandbox.command(&self.binary)
        };
        command.args(args);
        run_to_end(command, COMMAND_DEADLINE)
    }
}

fn drop_privileges_args() -> [String; 3] {
    [
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".to_string(),
    ]
}

/// Creates a sandbox whose registry contains the logical task `L1`, written by root.
fn sandbox_with_registry() -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    let id = sandbox.id("L1");
    sandbox
        .cmd(&["register", &id, "--command", "review"])
        .success();
    (sandbox, id)
}

#[test]
fn directory_as_registry_rejected() {
    let sandbox = Sandbox::new();
    let directory = sandbox.root().join("state");
    fs::create_dir_all(&directory).expect("create the directory");
    let path = display(&directory);
    let id = sandbox.id("T1");

    for args in [
        vec!["register", id.as_str(), "--command", "x"],
        vec!["list"],
        vec!["check", id.as_str()],
        vec!["start", id.as_str(), "--", "true"],
        vec!["run"],
    ] {
        let mut full = vec!["--registry", path.as_str()];
        full.extend_from_slice(&args);

        let output = sandbox.cmd(&full);

        assert_rejected_with_fix(&output, &path);
        let entries = fs::read_dir(&directory)
            .expect("read the directory")
            .count();
        assert_eq!(entries, 0, "`{}` wrote into the directory", args.join(" "));
    }
}

#[test]
fn unreadable_registry_rejected() {
    let (sandbox, id) = sandbox_with_registry();
    let Some(nobody) = Unprivileged::prepare(&sandbox) else {
        return;
    };
    // Anyone may create files in the directory, so only the registry itself is out
    // of reach. It stays owned by root with mode 0600, as the program writes it.
    set_mode(&sandbox.claude_dir(), 0o777);
    fs::remove_file(sandbox.claude_dir().join("process_registry.lock")).expect("remove the lock");
    set_mode(&sandbox.registry_path(), 0o600);
    let before = sandbox.registry_bytes();
    let path = display(&sandbox.registry_path());
    let other = sandbox.id("T2");

    for args in [
        vec!["list"],
        vec!["check", id.as_str()],
        vec!["register", other.as_str(), "--command", "x"],
        vec!["complete", id.as_str()],
    ] {
        let output = nobody.cmd(&sandbox, &args);

        assert_rejected_with_fix(&output, &path);
        assert_eq!(
            sandbox.registry_bytes(),
            before,
            "`{}` changed the registry",
            args.join(" ")
        );
    }
}

#[test]
fn read_only_directory_rejects_writes() {
    let (sandbox, id) = sandbox_with_registry();
    let Some(nobody) = Unprivileged::prepare(&sandbox) else {
        return;
    };
    fs::remove_file(sandbox.claude_dir().join("process_registry.lock")).expect("remove the lock");
    set_mode(&sandbox.registry_path(), 0o644);
    set_mode(&sandbox.claude_dir(), 0o555);
    let before = sandbox.registry_bytes();
    let directory = display(&sandbox.claude_dir());
    let other = sandbox.id("T2");

    for args in [
        vec!["register", other.as_str(), "--command", "x"],
        vec!["complete", id.as_str()],
        vec!["start", other.as_str(), "--", "true"],
    ] {
        let output = nobody.cmd(&sandbox, &args);

        assert_rejected_with_fix(&output, &directory);
        assert_eq!(
            sandbox.registry_bytes(),
            before,
            "`{}` changed the registry",
            args.join(" ")
        );
    }
    set_mode(&sandbox.claude_dir(), 0o755);
}

/// Reading needs no write access, so read commands work on a directory the user
/// cannot write.
#[test]
fn read_only_directory_still_readable() {
    let (sandbox, id) = sandbox_with_registry();
    let Some(nobody) = Unprivileged::prepare(&sandbox) else {
        return;
    };
    set_mode(&sandbox.registry_path(), 0o644);
    set_mode(&sandbox.claude_dir(), 0o555);
    let before = sandbox.registry_bytes();

    let list = nobody.cmd(&sandbox, &["list"]);
    let check = nobody.cmd(&sandbox, &["check", &id, "--json"]);

    set_mode(&sandbox.claude_dir(), 0o755);
    assert!(list.success().stdout.contains(&id));
    assert_eq!(check.success().json()["status"], "running");
    assert_eq!(sandbox.registry_bytes(), before);
}

#[test]
fn symlinked_registry_rejected() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let real = sandbox.root().join("real_registry.json");
    let original = format!(
        "{{\"tasks\": {{\"{id}\": {{\"mode\": \"native\", \"command\": \"x\", \"status\": \"running\", \"started_at\": \"2026-01-10T12:00:00Z\"}}}}}}\n"
    );
    fs::write(&real, &original).expect("write the real registry");
    fs::create_dir_all(sandbox.claude_dir()).expect("create .claude");
    symlink(&real, sandbox.registry_path()).expect("create the link");
    let path = display(&sandbox.registry_path());
    let other = sandbox.id("T2");

    for args in [
        vec!["register", other.as_str(), "--command", "y"],
        vec!["complete", id.as_str()],
        vec!["start", other.as_str(), "--", "true"],
    ] {
        let output = sandbox.cmd(&args);

        assert_rejected_with_fix(&output, &path);
        assert_eq!(
            fs::read_to_string(&real).expect("read the real registry"),
            original,
            "`{}` wrote through the link",
            args.join(" ")
        );
        assert_eq!(
            fs::read_link(sandbox.registry_path()).expect("the link is still a link"),
            real
        );
    }
}

#[test]
fn dangling_registry_link_rejected() {
    let sandbox = Sandbox::new();
    let target = sandbox.root().join("elsewhere.json");
    fs::create_dir_all(sandbox.claude_dir()).expect("create .claude");
    symlink(&target, sandbox.registry_path()).expect("create the link");
    let path = display(&sandbox.registry_path());

    let output = sandbox.cmd(&["register", &sandbox.id("T1"), "--command", "x"]);

    assert_rejected_with_fix(&output, &path);
    assert!(!target.exists(), "the link's target was created");
}

/// Creates `name` in `.claude` as a link to a file outside with known contents, and
/// returns that file and its contents.
fn link_beside_registry(sandbox: &Sandbox, name: &str) -> (PathBuf, String) {
    let outside = sandbox
        .root()
        .join(format!("outside-{}", name.replace('/', "-")));
    let contents = format!("not {name}\n");
    fs::write(&outside, &contents).expect("write the outside file");
    let link = sandbox.claude_dir().join(name);
    fs::create_dir_all(link.parent().expect("a parent")).expect("create the directory");
    symlink(&outside, &link).expect("create the link");
    (outside, contents)
}

#[test]
fn event_log_link_not_followed() {
    let sandbox = Sandbox::new();
    let (outside, contents) = link_beside_registry(&sandbox, "watchdog_events.jsonl");

    let output = sandbox.cmd(&["register", &sandbox.id("T1"), "--command", "x"]);

    assert_eq!(
        fs::read_to_string(&outside).expect("read the outside file"),
        contents,
        "the event was written through the link: {output:#?}"
    );
}

#[test]
fn lock_file_link_not_followed() {
    let sandbox = Sandbox::new();
    let (outside, contents) = link_beside_registry(&sandbox, "process_registry.lock");

    let output = sandbox.cmd(&["register", &sandbox.id("T1"), "--command", "x"]);

    assert_eq!(
        fs::read_to_string(&outside).expect("read the outside file"),
        contents,
        "the lock file was opened through the link: {output:#?}"
    );
    if output.code != Some(0) {
        assert_rejected(&output, &display(&sandbox.claude_dir()));
    }
}

#[test]
fn task_log_link_not_followed() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    let (outside, contents) = link_beside_registry(&sandbox, &format!("logs/{id}.log"));

    let output = sandbox.cmd(&["start", &id, "--command", "echo written"]);
    if output.code == Some(0) {
        sandbox.wait_for_end(&id);
    }

    assert_eq!(
        fs::read_to_string(&outside).expect("read the outside file"),
        contents,
        "the task's output went through the link: {output:#?}"
    );
}

/// A path under a system directory is rejected before anything is created there.
/// Each path names a directory that does not exist, so the test removes it if a
/// broken build did create it.
#[test]
fn system_directories_rejected() {
    let sandbox = Sandbox::new();
    let unique = sandbox.id("task-watchdog-test");

    for system in ["/etc", "/proc", "/sys", "/dev", "/boot"] {
        let directory = PathBuf::from(system).join(&unique);
        let path = display(&directory.join("process_registry.json"));
        assert!(
            !directory.exists(),
            "{} exists already",
            directory.display()
        );

        let output = sandbox.cmd(&["--registry", &path, "register", "T1", "--command", "x"]);

        let created = directory.exists();
        if created {
            let _ = fs::remove_dir_all(&directory);
        }
        assert!(!created, "{} was created: {output:#?}", directory.display());
        assert_rejected_with_fix(&output, &path);
    }
}

/// `..` components that lead into a system directory are resolved first.
#[test]
fn relative_path_into_etc_rejected() {
    let sandbox = Sandbox::new();
    let unique = sandbox.id("task-watchdog-test");
    let depth = sandbox.root().components().count();
    let relative = format!("{}etc/{unique}/process_registry.json", "../".repeat(depth));
    let directory = PathBuf::from("/etc").join(&unique);

    let output = sandbox.cmd(&["--registry", &relative, "register", "T1", "--command", "x"]);

    let created = directory.exists();
    if created {
        let _ = fs::remove_dir_all(&directory);
    }
    assert!(!created, "{} was created: {output:#?}", directory.display());
    assert_eq!(output.code, Some(1), "{output:#?}");
    assert!(
        output.stderr.contains("/etc"),
        "the message names the system directory: {output:#?}"
    );
}

/// A link inside the project that leads into `/proc` puts the registry under a
/// system directory as surely as the plain path does. `/proc` cannot hold new files,
/// so nothing is written whatever the outcome.
#[test]
fn system_directory_behind_link_rejected() {
    let sandbox = Sandbox::new();
    let link = sandbox.root().join("state");
    symlink("/proc", &link).expect("create the link");
    let path = display(&link.join("process_registry.json"));

    let output = sandbox.cmd(&["--registry", &path, "register", "T1", "--command", "x"]);

    assert_eq!(output.code, Some(1), "{output:#?}");
    assert_eq!(output.stderr.trim().lines().count(), 1, "{output:#?}");
    assert!(
        output.stderr.contains("/proc") && output.stderr.contains("system"),
        "the message says the path leads into the system directory /proc: {output:#?}"
    );
}
