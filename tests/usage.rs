//! Invalid usage exits 2.

mod common;

use common::Sandbox;

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
        &["run", "--interval", "soon"],
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
