//! The command line as a user meets it: help and version (exit 0), mistakes (exit 2 and
//! the usage), and `check` refusing what `serve` would, with the key path and a suggestion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

fn with_config(command: &str, toml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    let server = format!(
        "[server]\nadmin_listen = \"\"\nlisten = [\"127.0.0.1:0\"]\ndata_dir = \"{}\"\n",
        dir.path().display()
    );
    std::fs::write(&path, server + toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([command, "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_and_serve_refuse_a_broken_price_table_naming_the_key() {
    let cases = [
        (
            "[price.openai]\n\"m\" = { in = \"cheap\", out = 1 }\n",
            "`price.openai.\"m\"`: \"in\" must be a number",
        ),
        (
            "[price.openai]\n\"m\" = { inn = 1, out = 1 }\n",
            "unknown key \"inn\"",
        ),
        (
            "[price.openai]\n\"m\" = { in = -1, out = 1 }\n",
            "\"in\" must be a finite number >= 0",
        ),
        (
            "[price.nosuchprovider]\n\"m\" = { in = 1, out = 1 }\n",
            "`price.nosuchprovider`: no provider",
        ),
        (
            "[price.opnai]\n\"m\" = { in = 1, out = 1 }\n",
            "did you mean `openai`?",
        ),
    ];
    for (toml, expected) in cases {
        for command in ["check", "serve"] {
            let (code, err) = with_config(command, toml);
            assert_eq!(code, Some(1), "{command} {toml}: {err}");
            assert!(err.contains(expected), "{command} {toml}: {err}");
        }
    }
    let (code, _) = with_config("check", "[price.openai]\n\"m\" = { in = 1e-6, out = 0 }\n");
    assert_eq!(code, Some(0));
}

#[test]
fn a_misspelt_provider_gets_the_nearest_name() {
    let (code, err) = with_config(
        "check",
        "[provider.anthropicc]\nkeys = { default = \"k\" }\n",
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("`provider.anthropicc`") && err.contains("did you mean `anthropic`?"),
        "{err}"
    );
}

#[test]
fn type_errors_and_unknown_keys_are_in_plain_words() {
    let (code, err) = with_config("check", "[upstream]\npool_max_idle_per_host = \"many\"\n");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("`upstream.pool_max_idle_per_host`: expected a whole number, found a string"),
        "{err}"
    );
    let (_, err) = with_config("check", "[[gateway]]\nauth_tokens = \"t\"\n");
    assert!(err.contains("expected a list, found a string"), "{err}");
    let (_, err) = with_config("check", "[provider]\nopenai = 3\n");
    assert!(
        err.contains("expected a table, found a whole number"),
        "{err}"
    );
    let (_, err) = with_config("check", "[upstream]\nconect_timeout_ms = 1\n");
    assert!(
        err.contains("unknown key `conect_timeout_ms`; did you mean `connect_timeout_ms`?"),
        "{err}"
    );
    for rust in ["usize", "u64", "a map", "a sequence", "invalid type"] {
        assert!(!err.contains(rust), "{err}");
    }
}
