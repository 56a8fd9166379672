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

/// `sluice check` on `toml` written as `sluice.toml` in `dir` (beside any route files).
fn check_in(dir: &std::path::Path, toml: &str) -> (Option<i32>, String, String) {
    let path = dir.join("sluice.toml");
    let server = format!(
        "[server]\nadmin_listen = \"\"\nlisten = [\"127.0.0.1:0\"]\ndata_dir = \"{}\"\n",
        dir.display()
    );
    std::fs::write(&path, server + toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code(),
        stdout(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const ROUTE_TOML: &str = r#"
[[gateway]]
id = "team"
spend_limits = { rules = [{ id = "daily", limit = 25.0, limitType = "cost", window = 86400, metadata = { user = { mode = "partition" } } }] }

[[gateway.alias]]
name = "support-fast"
models = ["openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]

[[gateway.route]]
name = "support"

[[gateway.route.elements]]
id = "start"
type = "start"
outputs = { next = { elementId = "split" } }

[[gateway.route.elements]]
id = "split"
type = "percentage"
outputs = { "90%" = { elementId = "big" }, "10%" = { elementId = "end" } }

[[gateway.route.elements]]
id = "big"
type = "model"
properties = { provider = "openai", model = "gpt-4o", timeout = 30000, retries = 1 }
outputs = { success = { elementId = "end" } }

[[gateway.route.elements]]
id = "end"
type = "end"
"#;

#[test]
fn check_accepts_routes_aliases_and_spend_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = check_in(dir.path(), ROUTE_TOML);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn check_refuses_a_broken_inline_route_naming_route_element_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let broken = ROUTE_TOML.replace("\"10%\"", "\"20%\"");
    let (code, _, err) = check_in(dir.path(), &broken);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("`gateway[0].route[0].elements`: gateway `team`, route `support`: element `split`, field `outputs`: the percentages add up to 110"),
        "{err}"
    );
    let misspelt = ROUTE_TOML.replace("type = \"model\"", "type = \"modl\"");
    let (code, _, err) = check_in(dir.path(), &misspelt);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "element `big`, field `type`: unknown element type `modl`; did you mean `model`?"
        ),
        "{err}"
    );
}

#[test]
fn check_reads_a_route_file_beside_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("routes")).unwrap();
    let route = r#"{"name": "support", "id": "0a1b", "modified_at": "2025-01-01T00:00:00Z",
      "elements": [
        {"id": "s", "type": "start", "outputs": {"next": {"elementId": "c"}}},
        {"id": "c", "type": "conditional", "properties": {"condition": {"body.max_tokens": {"$gt": 1000}}},
         "outputs": {"true": {"elementId": "m"}, "false": {"elementId": "e"}}},
        {"id": "m", "type": "model", "properties": {"provider": "anthropic", "model": "claude-3-5-haiku"},
         "outputs": {"success": {"elementId": "e"}, "fallback": {"elementId": "e"}}},
        {"id": "e", "type": "end"}]}"#;
    std::fs::write(dir.path().join("routes/support.json"), route).unwrap();
    let toml = "[[gateway]]\nid = \"g\"\n[[gateway.route]]\nname = \"support\"\nfile = \"routes/support.json\"\n";
    let (code, _, err) = check_in(dir.path(), toml);
    assert_eq!(code, Some(0), "{err}");

    let broken = route.replace("\"$gt\"", "\"$greater\"");
    std::fs::write(dir.path().join("routes/support.json"), broken).unwrap();
    let (code, _, err) = check_in(dir.path(), toml);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("`gateway[0].route[0].file`: gateway `g`, route `support` ("),
        "{err}"
    );
    assert!(
        err.contains("element `c`, field `properties.condition.body.max_tokens`: unknown operator `$greater`"),
        "{err}"
    );
}
