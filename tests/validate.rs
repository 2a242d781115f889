//! `validate`: checking a task's changed files against its constitution rules, in a
//! real temporary git repository, and the exit status that blocks a checkpoint.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::{Output, Sandbox};

/// The exit status when violations block the checkpoint.
const BLOCKED: i32 = 3;

const ALL_RULES: &str =
    "TYPE_HINTS_REQUIRED,DOCSTRINGS_REQUIRED,NO_HARDCODED_SECRETS,TEST_COVERAGE_REQUIRED";

/// A module that every rule accepts.
const COMPLIANT_MODULE: &str = r#""""Greeting helpers."""

import os


class Greeter:
    """Builds greetings."""

    def __init__(self, name: str):
        """Remember whom to greet."""
        self.name = name
        self.token = os.environ.get("GREETER_TOKEN", "")

    def greet(self, *extra: str, **options: bool) -> str:
        """Return the greeting."""
        return f"hello {self.name}"


async def fetch(url: str) -> bytes:
    """Fetch the page."""
    key = lambda item: item
    return b""
"#;

const COMPLIANT_TEST: &str = r#""""Tests for greeter."""

from greeter import Greeter


def test_greet() -> None:
    """Greets by name."""
    assert Greeter("ada").greet() == "hello ada"
"#;

/// Runs `git ARGS` in the sandbox with a fixed identity and no user or system
/// configuration, so commits work on a clean machine.
#[track_caller]
fn git(sandbox: &Sandbox, args: &[&str]) {
    let output = Command::new("git")
        .current_dir(sandbox.root())
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git; these tests need git installed");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes the sandbox a git repository with one commit holding `files`.
fn init_repository(sandbox: &Sandbox, files: &[(&str, &str)]) {
    git(sandbox, &["init", "--quiet"]);
    write(sandbox, "README.md", "# project\n");
    for (path, text) in files {
        write(sandbox, path, text);
    }
    git(sandbox, &["add", "--all"]);
    git(sandbox, &["commit", "--quiet", "--message", "baseline"]);
}

fn write(sandbox: &Sandbox, path: &str, text: &str) {
    let path = sandbox.root().join(path);
    fs::create_dir_all(path.parent().expect("a parent directory")).expect("create directories");
    fs::write(&path, text).expect("write a test file");
}

/// Registers task `id` with `rules` in the sandbox, which records the current commit.
#[track_caller]
fn register(sandbox: &Sandbox, id: &str, command: &str, rules: &str) {
    sandbox
        .cmd(&["register", id, "--command", command, "--rules", rules])
        .success();
}

/// Runs `task-watchdog ARGS` in the sandbox with git kept from looking above it, so a
/// sandbox is outside any work tree even when the temporary directory is inside one.
fn cmd_outside_git(sandbox: &Sandbox, args: &[&str]) -> Output {
    let parent = sandbox.root().parent().expect("the sandbox has a parent");
    let mut command = sandbox.command(common::WATCHDOG);
    command.args(args).env("GIT_CEILING_DIRECTORIES", parent);
    common::run_to_end(command, common::COMMAND_DEADLINE)
}

/// Returns stdout's violation lines, those that start with a path and a line number.
fn violation_lines(output: &Output) -> Vec<&str> {
    output
        .stdout
        .lines()
        .filter(|line| {
            line.split(':')
                .nth(1)
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .collect()
}

#[track_caller]
fn assert_violation(output: &Output, prefix: &str) {
    assert!(
        violation_lines(output)
            .iter()
            .any(|line| line.starts_with(prefix)),
        "no violation line starts with {prefix:?}: {output:#?}"
    );
}

fn head_commit(sandbox: &Sandbox) -> String {
    let output = Command::new("git")
        .current_dir(sandbox.root())
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("run git");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn canonical(path: &Path) -> String {
    path.canonicalize()
        .expect("canonicalize")
        .display()
        .to_string()
}

#[test]
fn compliant_module_passes() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python greeter.py", ALL_RULES);
    write(&sandbox, "greeter.py", COMPLIANT_MODULE);
    write(&sandbox, "tests/test_greeter.py", COMPLIANT_TEST);

    let output = sandbox.cmd(&["validate", &id]).success();

    assert_eq!(violation_lines(&output), Vec::<&str>::new(), "{output:#?}");
    assert!(output.stdout.contains("passed"), "{output:#?}");
    assert!(
        output.stdout.contains("2 checked, changed since commit"),
        "the summary names the file set: {output:#?}"
    );
    let validation = &sandbox.task(&id)["validation"];
    assert_eq!(validation["passed"], true, "{validation:#}");
    assert_eq!(validation["violations"], 0, "{validation:#}");
    assert_eq!(
        validation["rules_checked"].as_array().map(Vec::len),
        Some(4)
    );
}

#[test]
fn register_records_git_base() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);

    register(&sandbox, &id, "python app.py", "TYPE_HINTS_REQUIRED");

    let base = &sandbox.task(&id)["git_base"];
    assert_eq!(base["repo"], canonical(sandbox.root()), "{base:#}");
    assert_eq!(base["commit"], head_commit(&sandbox), "{base:#}");
}

#[test]
fn start_records_git_base_of_cwd() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[("src/keep.txt", "x\n")]);
    let subdirectory = sandbox.root().join("src");

    sandbox
        .cmd(&[
            "start",
            &id,
            "--cwd",
            subdirectory.to_str().expect("a UTF-8 path"),
            "--command",
            "exit 0",
        ])
        .success();

    let base = &sandbox.task(&id)["git_base"];
    assert_eq!(base["repo"], canonical(sandbox.root()), "{base:#}");
    assert_eq!(base["commit"], head_commit(&sandbox), "{base:#}");
}

#[test]
fn register_outside_git_records_no_base() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");

    cmd_outside_git(
        &sandbox,
        &[
            "register",
            &id,
            "--command",
            "python app.py",
            "--rules",
            "TYPE_HINTS_REQUIRED",
        ],
    )
    .success();

    let task = sandbox.task(&id);
    assert!(task.get("git_base").is_none(), "{task:#}");
}

#[test]
fn type_hints_violation_names_line() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python app.py", "type hints required");
    write(
        &sandbox,
        "app.py",
        "import os\n\n\ndef load(path, mode: str = 'r') -> str:\n    return path\n\n\nasync def save(data: bytes):\n    pass\n",
    );

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(
        &output,
        "app.py:4: TYPE_HINTS_REQUIRED: function \"load\" has no type annotation for parameter \"path\"",
    );
    assert_violation(&output, "app.py:8: TYPE_HINTS_REQUIRED: function \"save\"");
    assert_eq!(violation_lines(&output).len(), 2, "{output:#?}");
    let validation = &sandbox.task(&id)["validation"];
    assert_eq!(validation["passed"], false, "{validation:#}");
    assert_eq!(validation["violations"], 2, "{validation:#}");
}

#[test]
fn docstring_violation_names_line() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python app.py", "docstrings-required");
    write(
        &sandbox,
        "app.py",
        "\"\"\"Module.\"\"\"\n\n\nclass Store:\n    \"\"\"Keeps things.\"\"\"\n\n    def get(self):\n        def inner():\n            \"\"\"Helps.\"\"\"\n        return 1\n",
    );

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(
        &output,
        "app.py:7: DOCSTRINGS_REQUIRED: method \"Store.get\" has no docstring",
    );
    assert_eq!(violation_lines(&output).len(), 1, "{output:#?}");
}

#[test]
fn nested_function_needs_docstring() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python app.py", "DOCSTRINGS_REQUIRED");
    write(
        &sandbox,
        "app.py",
        "def outer():\n    \"\"\"Outer.\"\"\"\n    def inner():\n        return 1\n    return inner\n",
    );

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(
        &output,
        "app.py:3: DOCSTRINGS_REQUIRED: function \"outer.<locals>.inner\"",
    );
}

#[test]
fn secret_violation_is_redacted() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python app.py", "NO_HARDCODED_SECRETS");
    // Built at run time so this source contains no credential-shaped string.
    let access_key = format!("AKIA{}", "Q7W3E5R7T9Y1U3I5");
    let password = "Tr0ub4dor-and-3";
    write(
        &sandbox,
        "app.py",
        &format!(
            "import os\n\nDB_PASSWORD = \"{password}\"\nclient = connect(aws_key=\"{access_key}\")\n"
        ),
    );
    write(
        &sandbox,
        "deploy/settings.yaml",
        &format!("service:\n  name: api\n  api_key: {password}\n"),
    );

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(&output, "app.py:3: NO_HARDCODED_SECRETS: \"DB_PASSWORD\"");
    assert_violation(
        &output,
        "app.py:4: NO_HARDCODED_SECRETS: AWS access key ID AKIA…I5 (20 chars)",
    );
    assert_violation(
        &output,
        "deploy/settings.yaml:3: NO_HARDCODED_SECRETS: \"api_key\"",
    );
    let json = sandbox.cmd(&["validate", &id, "--json"]).code(BLOCKED);
    for text in [&output.stdout, &json.stdout] {
        assert!(!text.contains(&access_key), "the key is printed: {text}");
        assert!(!text.contains(password), "the password is printed: {text}");
    }
    let registry = String::from_utf8_lossy(&sandbox.registry_bytes()).into_owned();
    assert!(
        !registry.contains(password),
        "the registry holds the password"
    );
}

#[test]
fn missing_test_is_reported_until_added() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python -m app", "TEST_COVERAGE_REQUIRED");
    write(&sandbox, "app/parser.py", "x = 1\n");
    write(&sandbox, "app/__init__.py", "");

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);
    assert_violation(
        &output,
        "app/parser.py:1: TEST_COVERAGE_REQUIRED: module has no test; add test_parser.py",
    );
    assert_eq!(violation_lines(&output).len(), 1, "{output:#?}");

    write(
        &sandbox,
        "tests/unit/test_parser.py",
        "def test_parse():\n    pass\n",
    );
    sandbox.cmd(&["validate", &id]).success();
}

#[test]
fn rust_module_with_cfg_test_passes() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "cargo test", "TEST_COVERAGE_REQUIRED");
    write(
        &sandbox,
        "src/tested.rs",
        "pub fn one() -> u8 {\n    1\n}\n\n#[cfg(test)]\nmod tests {}\n",
    );
    write(
        &sandbox,
        "src/untested.rs",
        "pub fn two() -> u8 {\n    2\n}\n",
    );

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(&output, "src/untested.rs:1: TEST_COVERAGE_REQUIRED:");
    assert_eq!(violation_lines(&output).len(), 1, "{output:#?}");
}

#[test]
fn conventions_give_no_false_positives() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(
        &sandbox,
        &id,
        "python service.py",
        "TYPE_HINTS_REQUIRED,DOCSTRINGS_REQUIRED,NO_HARDCODED_SECRETS",
    );
    write(
        &sandbox,
        "service.py",
        r#""""Service settings."""

import os

PASSWORD = "changeme"
API_KEY = ""
TOKEN = "<your-token>"
SECRET = "xxxxxxxx"
DB_PASSWORD = os.environ["DB_PASSWORD"]
GITHUB_TOKEN = os.getenv("GITHUB_TOKEN")
TOKEN_URL = "https://auth.example.com/token"
square = lambda x: x * x


class Client:
    """Talks to the service."""

    def __init__(self, host: str, port: int = 443):
        """Remember where the service is."""
        self.host = host
        self.password = os.environ.get("SERVICE_PASSWORD", "")

    def url(self) -> str:
        """Return the service URL."""
        return f"https://{self.host}"

    @classmethod
    def local(cls) -> "Client":
        """Return a client for this machine."""
        return cls("localhost")

    @staticmethod
    def version() -> str:
        """Return the protocol version."""
        return "1"
"#,
    );

    let output = sandbox.cmd(&["validate", &id]).success();

    assert_eq!(violation_lines(&output), Vec::<&str>::new(), "{output:#?}");
}

#[test]
fn syntax_error_is_reported() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(
        &sandbox,
        &id,
        "python app.py",
        "TYPE_HINTS_REQUIRED,DOCSTRINGS_REQUIRED",
    );
    write(
        &sandbox,
        "app.py",
        "\"\"\"Module.\"\"\"\n\n\ndef broken(:\n    pass\n",
    );

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(&output, "app.py:4: TYPE_HINTS_REQUIRED: syntax error: ");
    assert_eq!(
        violation_lines(&output).len(),
        1,
        "one violation per file that does not parse: {output:#?}"
    );
}

#[test]
fn unknown_rules_never_block() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(
        &sandbox,
        &id,
        "python app.py",
        "no_destructive_ops,DOCSTRINGS_REQUIRED",
    );
    write(
        &sandbox,
        "app.py",
        "def f(x):\n    \"\"\"Return x.\"\"\"\n    return x\n",
    );

    let output = sandbox.cmd(&["validate", &id]).success();

    assert!(
        output
            .stdout
            .contains("Rules not checked: no_destructive_ops"),
        "{output:#?}"
    );
    let json = sandbox.cmd(&["validate", &id, "--json"]).success().json();
    assert_eq!(
        json["rules_not_checked"],
        serde_json::json!(["no_destructive_ops"])
    );
    assert_eq!(
        json["rules_checked"],
        serde_json::json!(["DOCSTRINGS_REQUIRED"])
    );
}

#[test]
fn only_unknown_rules_pass_without_files() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    register(&sandbox, &id, "make all", "no_destructive_ops");

    let output = sandbox.cmd(&["validate", &id]).success();

    assert!(output.stdout.contains("no_destructive_ops"), "{output:#?}");
    assert_eq!(sandbox.task(&id)["validation"]["passed"], true);
}

#[test]
fn only_changes_since_base_are_checked() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(
        &sandbox,
        &[
            ("old.py", "def untyped(x):\n    return x\n"),
            ("edited.py", "VALUE = 1\n"),
            ("removed.py", "VALUE = 2\n"),
            (".gitignore", "build/\n"),
        ],
    );
    register(&sandbox, &id, "python edited.py", "TYPE_HINTS_REQUIRED");
    write(&sandbox, "edited.py", "def changed(x):\n    return x\n");
    write(&sandbox, "staged.py", "def staged(y):\n    return y\n");
    git(&sandbox, &["add", "staged.py"]);
    write(
        &sandbox,
        "build/generated.py",
        "def ignored(z):\n    return z\n",
    );
    fs::remove_file(sandbox.root().join("removed.py")).expect("remove a file");

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(&output, "edited.py:1: TYPE_HINTS_REQUIRED:");
    assert_violation(&output, "staged.py:1: TYPE_HINTS_REQUIRED:");
    assert_eq!(violation_lines(&output).len(), 2, "{output:#?}");
    let json = sandbox
        .cmd(&["validate", &id, "--json"])
        .code(BLOCKED)
        .json();
    assert_eq!(json["file_set"]["kind"], "git");
    assert_eq!(
        json["file_set"]["files"],
        serde_json::json!(["edited.py", "staged.py"])
    );
}

#[test]
fn committed_changes_still_count() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python app.py", "DOCSTRINGS_REQUIRED");
    write(&sandbox, "app.py", "def f() -> None:\n    pass\n");
    git(&sandbox, &["add", "app.py"]);
    git(&sandbox, &["commit", "--quiet", "--message", "task work"]);

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(&output, "app.py:1: DOCSTRINGS_REQUIRED:");
}

#[test]
fn repository_without_commit_checks_every_file() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    git(&sandbox, &["init", "--quiet"]);
    register(&sandbox, &id, "python app.py", "DOCSTRINGS_REQUIRED");
    write(&sandbox, "app.py", "def f():\n    pass\n");

    let output = sandbox.cmd(&["validate", &id]).code(BLOCKED);

    assert_violation(&output, "app.py:1: DOCSTRINGS_REQUIRED:");
    assert_eq!(sandbox.task(&id)["git_base"]["commit"], Value::Null);
}

#[test]
fn files_option_overrides_changed_set() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[("committed.py", "def old(x):\n    return x\n")]);
    register(&sandbox, &id, "python app.py", "TYPE_HINTS_REQUIRED");
    write(&sandbox, "changed.py", "def new(x):\n    return x\n");
    write(
        &sandbox,
        "clean.py",
        "def ok(x: int) -> int:\n    return x\n",
    );

    let clean = sandbox
        .cmd(&["validate", &id, "--files", "clean.py"])
        .success();
    assert!(clean.stdout.contains("given with --files"), "{clean:#?}");

    let output = sandbox
        .cmd(&["validate", &id, "--files", "committed.py", "clean.py"])
        .code(BLOCKED);
    assert_violation(&output, "committed.py:1: TYPE_HINTS_REQUIRED:");
    assert_eq!(violation_lines(&output).len(), 1, "{output:#?}");
}

#[test]
fn missing_file_given_is_an_error() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    register(&sandbox, &id, "python app.py", "TYPE_HINTS_REQUIRED");

    let output = sandbox.cmd(&["validate", &id, "--files", "nowhere.py"]);

    common::assert_rejected(&output, "nowhere.py");
}

#[test]
fn outside_git_uses_command_files() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    write(
        &sandbox,
        "process_data.py",
        "def run(rows):\n    return rows\n",
    );
    write(&sandbox, "other.py", "def skipped(x):\n    return x\n");
    cmd_outside_git(
        &sandbox,
        &[
            "register",
            &id,
            "--command",
            "python process_data.py --limit 10",
            "--rules",
            "TYPE_HINTS_REQUIRED",
        ],
    )
    .success();

    let output = cmd_outside_git(&sandbox, &["validate", &id]).code(BLOCKED);

    assert_violation(&output, "process_data.py:1: TYPE_HINTS_REQUIRED:");
    assert_eq!(violation_lines(&output).len(), 1, "{output:#?}");
    assert!(
        output.stdout.contains("named in the task's command"),
        "the summary names the file set: {output:#?}"
    );
    let json = cmd_outside_git(&sandbox, &["validate", &id, "--json"])
        .code(BLOCKED)
        .json();
    assert_eq!(json["file_set"]["kind"], "command");
    assert_eq!(
        json["file_set"]["files"],
        serde_json::json!(["process_data.py"])
    );
}

#[test]
fn outside_git_without_files_is_an_error() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    cmd_outside_git(
        &sandbox,
        &[
            "register",
            &id,
            "--command",
            "make all",
            "--rules",
            "TYPE_HINTS_REQUIRED",
        ],
    )
    .success();

    let output = cmd_outside_git(&sandbox, &["validate", &id]);

    common::assert_rejected(&output, "make all");
    assert!(output.stderr.contains("--files"), "{output:#?}");
}

#[test]
fn unknown_task_is_an_error() {
    let sandbox = Sandbox::new();

    let output = sandbox.cmd(&["validate", "absent"]);

    common::assert_rejected(&output, "absent");
}

#[test]
fn json_lists_violations() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(
        &sandbox,
        &id,
        "python app.py",
        "DOCSTRINGS_REQUIRED,other_rule",
    );
    write(&sandbox, "app.py", "class A:\n    pass\n");

    let output = sandbox.cmd(&["validate", &id, "--json"]).code(BLOCKED);
    let json: Value = output.json();

    assert_eq!(json["passed"], false);
    assert_eq!(json["files_checked"], 1);
    assert_eq!(json["rules_not_checked"], serde_json::json!(["other_rule"]));
    let violations = json["violations"].as_array().expect("a violations array");
    assert_eq!(violations.len(), 1, "{json:#}");
    assert_eq!(violations[0]["path"], "app.py");
    assert_eq!(violations[0]["line"], 1);
    assert_eq!(violations[0]["rule"], "DOCSTRINGS_REQUIRED");
    assert_eq!(violations[0]["message"], "class \"A\" has no docstring");
}

#[test]
fn result_is_recorded_and_shown() {
    let sandbox = Sandbox::new();
    let id = sandbox.id("T1");
    init_repository(&sandbox, &[]);
    register(&sandbox, &id, "python app.py", "DOCSTRINGS_REQUIRED");
    write(&sandbox, "app.py", "def f():\n    pass\n");
    sandbox.cmd(&["validate", &id]).code(BLOCKED);

    let check = sandbox.cmd(&["check", &id]).success();
    assert!(
        check.stdout.contains("Validated: failed at") && check.stdout.contains("1 violation"),
        "{check:#?}"
    );
    let record = sandbox.cmd(&["check", &id, "--json"]).success().json();
    assert_eq!(record["validation"]["violations"], 1, "{record:#}");
    let rehydrate = sandbox.cmd(&["rehydrate"]).success();
    assert!(
        rehydrate.stdout.contains("validation failed (1 violation)"),
        "{rehydrate:#?}"
    );

    let events = fs::read_to_string(sandbox.claude_dir().join("watchdog_events.jsonl"))
        .expect("read the event log");
    let validated: Vec<Value> = events
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["event"] == "validated" && event["task"] == id.as_str())
        .collect();
    assert_eq!(validated.len(), 1, "{events}");
    assert_eq!(validated[0]["passed"], false);
    assert_eq!(validated[0]["violations"], 1);

    write(
        &sandbox,
        "app.py",
        "def f():\n    \"\"\"Do nothing.\"\"\"\n",
    );
    sandbox.cmd(&["validate", &id]).success();
    let rehydrate = sandbox.cmd(&["rehydrate"]).success();
    assert!(
        rehydrate.stdout.contains("validation passed"),
        "{rehydrate:#?}"
    );
}
