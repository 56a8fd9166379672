//! The command line as a user meets it: help at every level and the version on stdout
//! with exit 0, and mistakes answered on stderr with exit 2 and the usage.

use std::process::{Command, Output};

fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env_remove("SLUICE_CONFIG")
        .output()
        .expect("run sluice")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help_at_every_level_prints_usage_and_exits_0() {
    let whole = [&["--help"][..], &["-h"], &["help"]];
    for args in whole {
        let out = sluice(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = stdout(&out);
        assert!(
            text.contains("sluice serve") && text.contains("sluice check"),
            "{args:?}: {text}"
        );
        assert!(out.stderr.is_empty(), "{args:?}");
    }
    let serve = [
        &["serve", "--help"][..],
        &["serve", "-h"],
        &["help", "serve"],
    ];
    for args in serve {
        let out = sluice(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = stdout(&out);
        assert!(
            text.starts_with("usage: sluice serve") && text.contains("--workers N"),
            "{args:?}: {text}"
        );
    }
    let check = [
        &["check", "--help"][..],
        &["check", "-h"],
        &["help", "check"],
    ];
    for args in check {
        let out = sluice(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(stdout(&out).starts_with("usage: sluice check"), "{args:?}");
    }
    // Help wins over the rest of the line, as in most tools.
    let out = sluice(&["serve", "--workers", "2", "--help"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn version_prints_name_and_version() {
    for flag in ["--version", "-V"] {
        let out = sluice(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            stdout(&out),
            format!("sluice {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn mistakes_exit_2_with_the_usage_on_stderr() {
    for args in [
        &["--bogus"][..],
        &["nosuch"],
        &["help", "nosuch"],
        &["serve", "--nosuch"],
        &[],
    ] {
        let out = sluice(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage:"), "{args:?}: {err}");
    }
}
