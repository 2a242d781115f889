//! Invalid usage exits 2; a malformed option value is bad input and exits 1.

mod common;

use common::Sandbox;

#[test]
fn malformed_numbers_exit_one() {
    let sandbox = Sandbox::new();

    for args in [
        &["run", "--interval", "soon"][..],
        &["cleanup", "--days", "abc"],
        &["logs", "T1", "--tail", "many"],
    ] {
        let output = sandbox.cmd(args);
        assert_eq!(
            output.code,
            Some(1),
            "`task-watchdog {}`: {output:#?}",
            args.join(" ")
        );
        assert_eq!(output.stderr.lines().count(), 1, "one line: {output:#?}");
        assert!(
            output.stderr.contains(args[2]),
            "names the value: {output:#?}"
        );
    }
}

#[test]
fn usage_errors_exit_two() {
    let sandbox = Sandbox::new();

    for args in [
        &["frobnicate"][..],
        &[],
        &["start"],
        &["register", "T1"],
        &["kill"],
        &["wait"],
        &["list", "--bogus"],
    ] {
        let output = sandbox.cmd(args);
        assert_eq!(
            output.code,
            Some(2),
            "`task-watchdog {}`: {output:#?}",
            args.join(" ")
        );
        assert!(
            !output.stderr.is_empty(),
            "`task-watchdog {}` explains the usage",
            args.join(" ")
        );
    }
    assert!(
        !sandbox.registry_path().exists(),
        "usage errors create no registry"
    );
}

#[test]
fn help_exits_zero() {
    let sandbox = Sandbox::new();

    let output = sandbox.cmd(&["--help"]).success();

    assert!(output.stdout.contains("start"), "{output:#?}");
}
