//! Loading tests: defaults, key paths in errors, `env:` values, every validation rule,
//! lookups, the embedded default and the redacted rendering.

use super::*;
use crate::providers::{Api, AuthStyle};
use std::io::Write;

/// A fake environment, so tests never race on the process one.
fn fake_env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> EnvValue {
    move |name| match vars.iter().find(|(n, _)| *n == name) {
        Some((_, v)) => EnvValue::Set(v.to_string()),
        None => EnvValue::Unset,
    }
}

fn load(text: &str) -> Result<Settings, ConfigError> {
    from_text(text, "test", &fake_env(&[]))
}

fn err(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("config loaded but should not:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_err_at(text: &str, path: &str) {
    let message = err(text);
    assert!(
        message.contains(&format!("`{path}`")),
        "expected path `{path}` in: {message}"
    );
}

#[test]
fn empty_config_gives_spec_defaults() {
    let s = load("").unwrap();
    assert_eq!(s.listen, ["127.0.0.1:8787".parse().unwrap()]);
    assert_eq!(s.admin_listen, Some("127.0.0.1:8788".parse().unwrap()));
    assert_eq!(s.server.account_id, "*");
    assert_eq!(s.server.max_body_bytes, 26_214_400);
    assert_eq!(s.upstream.connect_timeout_ms, 5000);
    assert_eq!(s.gateways.len(), 1);
    let g = s.gateway("default").unwrap();
    assert!(g.auth_tokens.is_empty());
    assert_eq!(g.default_provider, None);
    assert_eq!(g.config.retry.max_attempts, 1);
    assert_eq!(s.providers.len(), 13);
    assert!(s.prices.is_empty());
}

#[test]
fn unknown_keys_name_their_full_path() {
    assert_err_at("[server]\nlistne = []", "server.listne");
    assert_err_at("serverr = 1", "serverr");
    assert_err_at("[upstream]\nca_fil = \"x\"", "upstream.ca_fil");
    assert_err_at(
        "[[gateway]]\nid = \"a\"\n[[gateway]]\nid = \"b\"\nrate_limit = { limt = 3 }",
        "gateway[1].rate_limit.limt",
    );
    assert_err_at("[provider.openai]\nkeyz = {}", "provider.openai.keyz");
    assert_err_at(
        "[server.tls]\ncert = \"c\"\nkey = \"k\"\nca = \"x\"",
        "server.tls.ca",
    );
}

#[test]
fn wrong_types_name_the_path_but_not_the_value() {
    let message = err("[server]\nworkers = \"sk-LITERAL-IN-WRONG-PLACE\"");
    assert!(message.contains("`server.workers`"), "{message}");
    assert!(!message.contains("sk-LITERAL"), "{message}");
    assert_err_at(
        "[[gateway]]\nretry = { backoff = \"wobbly\" }",
        "gateway[0].retry.backoff",
    );
    assert_err_at(
        "[upstream]\nconnect_timeout_ms = -1",
        "upstream.connect_timeout_ms",
    );
}

#[test]
fn env_value_in_wrong_place_is_not_echoed() {
    let env = fake_env(&[("WORKERS_OOPS", "sk-ENV-IN-WRONG-PLACE")]);
    let message = from_text("[server]\nworkers = \"env:WORKERS_OOPS\"", "t", &env)
        .unwrap_err()
        .to_string();
    assert!(message.contains("server.workers"), "{message}");
    assert!(!message.contains("sk-ENV"), "{message}");
}

#[test]
fn syntax_errors_give_line_and_column_without_quoting_the_source() {
    let message = err("[server]\nadmin_token = \"sk-SYNTAX-SECRET\nworkers = 1\n");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("test"), "{message}");
    assert!(!message.contains("sk-SYNTAX"), "{message}");
}

#[test]
fn env_values_fill_keys_tokens_and_paths() {
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::env::set_var("SLUICE_T_FILL_KEY", "sk-fill");
    std::env::set_var("SLUICE_T_FILL_TOKEN", "tok-fill");
    std::env::set_var("SLUICE_T_FILL_CA", ca.path());
    std::env::set_var("SLUICE_T_FILL_LISTEN", "127.0.0.1:0");
    let s = Settings::from_toml_str(
        r#"
        [server]
        listen = ["env:SLUICE_T_FILL_LISTEN"]
        [upstream]
        ca_file = "env:SLUICE_T_FILL_CA"
        [[gateway]]
        id = "team"
        auth_tokens = ["env:SLUICE_T_FILL_TOKEN"]
        [provider.openai]
        keys = { default = "env:SLUICE_T_FILL_KEY" }
        "#,
        "test",
    )
    .unwrap();
    assert_eq!(s.providers["openai"].keys["default"].expose(), "sk-fill");
    assert_eq!(
        s.gateway("team").unwrap().auth_tokens[0].expose(),
        "tok-fill"
    );
    assert_eq!(s.upstream.ca_file.as_deref(), Some(ca.path()));
    assert_eq!(s.listen, ["127.0.0.1:0".parse().unwrap()]);
}

#[test]
fn missing_env_names_key_and_variable() {
    let e = Settings::from_toml_str(
        "[provider.groq]\nkeys = { prod = \"env:SLUICE_T_MISSING_SURELY_UNSET\" }",
        "test",
    )
    .unwrap_err();
    match e {
        ConfigError::MissingEnv { path, var } => {
            assert_eq!(path, "provider.groq.keys.prod");
            assert_eq!(var, "SLUICE_T_MISSING_SURELY_UNSET");
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn gateway_ids() {
    assert_err_at("[[gateway]]\nid = \"has space\"", "gateway[0].id");
    assert_err_at("[[gateway]]\nid = \"\"", "gateway[0].id");
    assert_err_at(
        &format!("[[gateway]]\nid = \"{}\"", "a".repeat(65)),
        "gateway[0].id",
    );
    assert!(load(&format!("[[gateway]]\nid = \"{}\"", "a".repeat(64))).is_ok());
    assert_err_at(
        "[[gateway]]\nid = \"x\"\n[[gateway]]\nid = \"x\"",
        "gateway[1].id",
    );
    assert_err_at("[[gateway]]\n[[gateway]]", "gateway[1].id");
}

#[test]
fn default_gateway_is_added_or_kept() {
    let s = load("[[gateway]]\nid = \"Team_1-a\"").unwrap();
    assert_eq!(s.gateways.len(), 2);
    assert!(s.gateway("default").is_some() && s.gateway("Team_1-a").is_some());
    assert!(s.gateway("team_1-a").is_none());

    let s = load("[[gateway]]\nid = \"default\"\ncollect_logs = false").unwrap();
    assert_eq!(s.gateways.len(), 1);
    assert!(!s.gateway("default").unwrap().config.collect_logs);
}

#[test]
fn empty_gateway_token_is_an_error() {
    assert_err_at(
        "[[gateway]]\nauth_tokens = [\"t\", \"\"]",
        "gateway[0].auth_tokens[1]",
    );
}

#[test]
fn listen_addresses() {
    let s = load("[server]\nlisten = [\"[::]:8787\", \"0.0.0.0:1\"]\nadmin_listen = \"\"").unwrap();
    assert_eq!(s.listen.len(), 2);
    assert!(s.listen[0].is_ipv6());
    assert_eq!(s.admin_listen, None);
    assert_err_at(
        "[server]\nlisten = [\"[::]:1\", \"localhost:80\"]",
        "server.listen[1]",
    );
    assert_err_at("[server]\nlisten = []", "server.listen");
    assert_err_at("[server]\nadmin_listen = \"8788\"", "server.admin_listen");
}

#[test]
fn server_limits_and_account() {
    assert_err_at("[server]\nmax_header_bytes = 0", "server.max_header_bytes");
    assert_err_at("[server]\nmax_body_bytes = 0", "server.max_body_bytes");
    assert_err_at("[server]\naccount_id = \"a/b\"", "server.account_id");
    assert_err_at("[server]\naccount_id = \"\"", "server.account_id");
    assert_eq!(
        load("[server]\naccount_id = \"abc123\"")
            .unwrap()
            .server
            .account_id,
        "abc123"
    );
    assert_err_at(
        "[upstream]\nconnect_timeout_ms = 0",
        "upstream.connect_timeout_ms",
    );
}

#[test]
fn retry_and_rate_limit_bounds() {
    for bad in [0, 6] {
        let text = format!("[[gateway]]\nretry = {{ max_attempts = {bad} }}");
        assert_err_at(&text, "gateway[0].retry.max_attempts");
    }
    assert!(load("[[gateway]]\nretry = { max_attempts = 5, delay_ms = 60000 }").is_ok());
    assert_err_at(
        "[[gateway]]\nretry = { delay_ms = 60001 }",
        "gateway[0].retry.delay_ms",
    );
    assert_err_at(
        "[[gateway]]\nrate_limit = { limit = 10, interval_s = 0 }",
        "gateway[0].rate_limit.interval_s",
    );
    assert!(load("[[gateway]]\nrate_limit = { limit = 0, interval_s = 0 }").is_ok());
}

#[test]
fn default_provider_resolves_to_a_slug() {
    let text = |name: &str| {
        format!(
            "[provider.local]\nbase_url = \"http://127.0.0.1:9/v1\"\n\
             [[gateway]]\ndefault_provider = \"{name}\""
        )
    };
    for (name, slug) in [
        ("openai", "openai"),
        ("perplexity", "perplexity-ai"),
        ("perplexity-ai", "perplexity-ai"),
        ("local", "local"),
        ("custom-local", "local"),
    ] {
        let s = load(&text(name)).unwrap();
        let g = s.gateway("default").unwrap();
        assert_eq!(g.default_provider.as_deref(), Some(slug), "{name}");
    }
    assert_err_at(&text("nope"), "gateway[0].default_provider");
    assert_err_at(&text("custom-openai"), "gateway[0].default_provider");
}

#[test]
fn provider_overrides_and_custom_providers() {
    let s = load(
        r#"
        [provider.openai]
        base_url = "http://127.0.0.1:9000/v1/"
        keys = { default = "k1", team = "k2" }
        models = ["gpt-4o-mini"]
        [provider.local]
        base_url = "http://localhost:8000"
        [provider.claude-proxy]
        base_url = "https://proxy.example.com/anthropic"
        api = "anthropic"
        "#,
    )
    .unwrap();
    let openai = s.provider_by_slug("openai").unwrap();
    assert_eq!(openai.base.authority(), "127.0.0.1:9000");
    assert_eq!(openai.base.path, "/v1");
    assert_eq!(openai.keys.len(), 2);
    assert_eq!(openai.models, ["gpt-4o-mini"]);
    let local = s.provider_by_slug("local").unwrap();
    assert_eq!((local.api, local.auth), (Api::Openai, AuthStyle::Bearer));
    let claude = s.provider_by_slug("claude-proxy").unwrap();
    assert_eq!(
        (claude.api, claude.auth),
        (Api::Anthropic, AuthStyle::XApiKey)
    );
    assert_eq!(s.providers.len(), 15);

    assert_err_at(
        "[provider.unknown]\nkeys = { default = \"k\" }",
        "provider.unknown",
    );
    assert_err_at(
        "[provider.x]\nbase_url = \"localhost:8000\"",
        "provider.x.base_url",
    );
    assert_err_at("[provider.Bad]\nbase_url = \"http://h\"", "provider.Bad");
    assert_err_at("[provider.openai]\napi = \"soap\"", "provider.openai.api");
}

#[test]
fn lookups_by_slug_and_model_prefix() {
    let s = load("[provider.local]\nbase_url = \"http://127.0.0.1:9\"").unwrap();
    let slug = |name| s.provider_by_slug(name).map(|p| p.slug.as_str());
    let prefix = |name| s.provider_by_model_prefix(name).map(|p| p.slug.as_str());
    assert_eq!(slug("perplexity-ai"), Some("perplexity-ai"));
    assert_eq!(slug("perplexity"), None);
    assert_eq!(slug("local"), Some("local"));
    assert_eq!(slug("custom-local"), Some("local"));
    assert_eq!(
        slug("custom-openai"),
        None,
        "custom- is no alias of a built-in"
    );
    assert_eq!(slug("custom-"), None);
    assert_eq!(prefix("perplexity"), Some("perplexity-ai"));
    assert_eq!(prefix("perplexity-ai"), None);
    assert_eq!(prefix("workers-ai"), Some("workers-ai"));
    assert_eq!(prefix("local"), Some("local"));
    assert_eq!(prefix("custom-local"), Some("local"));
    assert_eq!(prefix("custom-openai"), None);
    assert_eq!(prefix("nope"), None);
}

#[test]
fn ca_files_must_exist_at_load() {
    assert_err_at(
        "[upstream]\nca_file = \"/nonexistent/sluice-ca.pem\"",
        "upstream.ca_file",
    );
    assert_err_at(
        "[provider.openai]\nca_file = \"/nonexistent/sluice-ca.pem\"",
        "provider.openai.ca_file",
    );
    assert_err_at(
        "[server.tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"",
        "server.tls.cert",
    );
    let ca = tempfile::NamedTempFile::new().unwrap();
    let text = format!(
        "[provider.openai]\nca_file = {:?}",
        ca.path().to_str().unwrap()
    );
    let s = load(&text).unwrap();
    assert_eq!(s.providers["openai"].ca_file.as_deref(), Some(ca.path()));
}

#[test]
fn prices_are_kept() {
    let s = load("[price.openai]\n\"gpt-4o-mini\" = { in = 1.5e-7, out = 6e-7 }").unwrap();
    assert!(s.prices["openai"].contains_key("gpt-4o-mini"));
}

#[test]
fn embedded_default_without_key_variables() {
    let s = embedded_default_with(&fake_env(&[])).unwrap();
    assert!(s.gateway("default").is_some());
    assert_eq!(s.gateways.len(), 1);
    assert_eq!(s.providers.len(), 13);
    assert!(s.providers.values().all(|p| p.keys.is_empty()));
    assert_eq!(s.listen, load("").unwrap().listen);
}

#[test]
fn embedded_default_takes_keys_from_conventional_variables() {
    let env = fake_env(&[
        ("OPENAI_API_KEY", "sk-openai"),
        ("ANTHROPIC_API_KEY", ""),
        ("XAI_API_KEY", "xai-key"),
        ("GOOGLE_API_KEY", "google-key"),
        ("CLOUDFLARE_API_TOKEN", "cf-token"),
    ]);
    let s = embedded_default_with(&env).unwrap();
    let key = |slug: &str| {
        s.providers[slug]
            .keys
            .get("default")
            .map(|k| k.expose().to_string())
    };
    assert_eq!(key("openai").as_deref(), Some("sk-openai"));
    assert_eq!(key("anthropic"), None, "empty variable is skipped");
    assert_eq!(key("grok").as_deref(), Some("xai-key"));
    assert_eq!(key("google-ai-studio").as_deref(), Some("google-key"));
    assert_eq!(key("workers-ai").as_deref(), Some("cf-token"));
    assert_eq!(key("groq"), None);

    let both = fake_env(&[("GEMINI_API_KEY", "gemini"), ("GOOGLE_API_KEY", "google")]);
    let s = embedded_default_with(&both).unwrap();
    assert_eq!(
        s.providers["google-ai-studio"].keys["default"].expose(),
        "gemini"
    );
}

#[test]
fn load_none_and_embedded_default_use_the_process_env() {
    let s = Settings::load(None).unwrap();
    assert!(s.gateway("default").is_some());
    assert_eq!(s.providers.len(), 13);
    assert!(Settings::embedded_default().is_ok());
}

#[test]
fn load_reads_a_file_or_names_it() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "[[gateway]]\nid = \"from-file\"").unwrap();
    let s = Settings::load(Some(file.path())).unwrap();
    assert!(s.gateway("from-file").is_some());

    let missing = Path::new("/nonexistent/sluice.toml");
    let e = Settings::load(Some(missing)).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(e.to_string().contains("/nonexistent/sluice.toml"));
}

const SECRET_CONFIG: &str = r#"
    [server]
    admin_token = "env:SLUICE_T_RENDER_ADMIN"
    [[gateway]]
    id = "team"
    auth_tokens = ["env:SLUICE_T_RENDER_TOKEN", "literal-gw-token-Q7"]
    default_provider = "perplexity"
    [provider.openai]
    keys = { default = "env:SLUICE_T_RENDER_KEY", b = "literal-key-Z9" }
    [provider.local]
    base_url = "http://[::1]:9000/v1"
    keys = { default = "env:SLUICE_T_RENDER_KEY2" }
    models = ["m1"]
"#;

#[test]
fn render_redacts_every_secret() {
    let values = [
        ("SLUICE_T_RENDER_ADMIN", "admin-3f9c1e7a"),
        ("SLUICE_T_RENDER_TOKEN", "gwtok-8b2d4f60"),
        ("SLUICE_T_RENDER_KEY", "sk-render-51ac9e"),
        ("SLUICE_T_RENDER_KEY2", "sk-custom-07e4bd"),
    ];
    for (var, value) in values {
        std::env::set_var(var, value);
    }
    let s = Settings::from_toml_str(SECRET_CONFIG, "test").unwrap();
    assert_eq!(s.server.admin_token.expose(), "admin-3f9c1e7a");
    let out = s.render_redacted();
    for (_, value) in values {
        assert!(!out.contains(value), "{value} leaked:\n{out}");
    }
    for literal in ["literal-gw-token-Q7", "literal-key-Z9"] {
        assert!(!out.contains(literal), "{literal} leaked:\n{out}");
    }
    assert_eq!(out.matches("[redacted]").count(), 6, "{out}");
    assert!(out.contains("[[gateway]]"), "{out}");
    assert!(out.contains("perplexity-ai"), "{out}");
}

#[test]
fn rendered_config_loads_again_to_the_same_rendering() {
    let s = load(
        r#"
        [server]
        listen = ["[::]:8787"]
        admin_token = "a"
        [[gateway]]
        id = "g1"
        auth_tokens = ["t"]
        rate_limit = { limit = 5, interval_s = 10, technique = "fixed" }
        retry = { max_attempts = 3, delay_ms = 100, backoff = "exponential" }
        [provider.local]
        base_url = "http://localhost:8000/v1"
        api = "google"
        models = ["a", "b"]
        [price.openai]
        "gpt-4o-mini" = { in = 1.5e-7, out = 6e-7 }
        "#,
    )
    .unwrap();
    let first = s.render_redacted();
    let again = load(&first).unwrap();
    assert_eq!(again.render_redacted(), first);
    let g = again.gateway("g1").unwrap();
    assert_eq!(
        g.config.rate_limit.technique,
        crate::config::RateTechnique::Fixed
    );
    assert_eq!(g.config.retry.backoff, crate::config::Backoff::Exponential);
    assert_eq!(again.providers["local"].api, Api::Google);
    assert!(again.listen[0].is_ipv6());
}

#[test]
fn scrub_removes_quoted_strings_and_env_values() {
    let out = scrub(
        "invalid type: string \"a\\\"b secret\", expected u64 (SECRET-ENV)",
        &["SECRET-ENV".to_string()],
    );
    assert_eq!(out, "invalid type: a string, expected u64 ([redacted])");
    assert_eq!(scrub("string \"unterminated", &[]), "a string");
}
