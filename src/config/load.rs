//! Loading a config: TOML text (a file, or the embedded default plus conventional key
//! variables) -> `env:` substitution -> typed deserialisation with key paths -> validation.

use super::env::{self, EnvValue};
use super::key_path::remove_key;
use super::{plain_errors, validate, ConfigError, ConfigFile, Settings};
use crate::providers::default_key_vars;
use std::path::Path;
use toml::{Table, Value};

/// SPEC section 2's defaults, with no extra gateway and no provider section.
const EMBEDDED_DEFAULT: &str = include_str!("default.toml");

impl Settings {
    /// Reads and validates the file at `path`; `None` gives the embedded default.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let Some(path) = path else {
            return Settings::embedded_default();
        };
        let (text, base) = read_file(path)?;
        from_text_in(&text, &path.display().to_string(), base, &env::process_env)
    }

    /// As `load`, but a file with errors answers with all of them (up to `MAX_REPORTED`),
    /// not only the first: after each error its key is taken out and the file checked again.
    /// `sluice check` and a reload report them all, so one edit can fix them all.
    pub fn load_reporting_all(path: Option<&Path>) -> Result<Settings, Vec<ConfigError>> {
        let Some(path) = path else {
            return Settings::embedded_default().map_err(|e| vec![e]);
        };
        let (text, base) = read_file(path).map_err(|e| vec![e])?;
        let mut table = parse(&text, &path.display().to_string()).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        loop {
            let error = match from_table(table.clone(), base, &env::process_env) {
                Ok(settings) if errors.is_empty() => return Ok(settings),
                Ok(_) => return Err(errors),
                Err(error) => error,
            };
            let removed = error
                .key_path()
                .is_some_and(|at| remove_key(&mut table, at));
            errors.push(error);
            if !removed || errors.len() >= MAX_REPORTED {
                return Err(errors);
            }
        }
    }

    /// Parses config text; `origin` names it in syntax errors (a path, "inline", ...).
    /// Route files are found relative to the current directory.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Settings, ConfigError> {
        from_text(text, origin, &env::process_env)
    }

    /// The config `sluice serve` runs with no `--config` and no `SLUICE_CONFIG`: the
    /// defaults, plus each built-in's `default` key from its conventional variable.
    pub fn embedded_default() -> Result<Settings, ConfigError> {
        embedded_default_with(&env::process_env)
    }
}

/// The file's text, and the directory its relative paths (route files) start from.
fn read_file(path: &Path) -> Result<(String, &Path), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Ok((text, base))
}

/// Errors one reload reports at most.
const MAX_REPORTED: usize = 64;

fn from_text(
    text: &str,
    origin: &str,
    lookup: &dyn Fn(&str) -> EnvValue,
) -> Result<Settings, ConfigError> {
    from_text_in(text, origin, Path::new("."), lookup)
}

/// As `from_text`, with route files found relative to `base` (the config file's directory).
fn from_text_in(
    text: &str,
    origin: &str,
    base: &Path,
    lookup: &dyn Fn(&str) -> EnvValue,
) -> Result<Settings, ConfigError> {
    from_table(parse(text, origin)?, base, lookup)
}

fn embedded_default_with(lookup: &dyn Fn(&str) -> EnvValue) -> Result<Settings, ConfigError> {
    let mut table = parse(EMBEDDED_DEFAULT, "the embedded default config")?;
    add_conventional_keys(&mut table, lookup);
    from_table(table, Path::new("."), lookup)
}

/// Adds `provider.SLUG.keys.default = "env:VAR"` for the first of the provider's
/// variables that is set and non-empty, so the one `env:` path reads the value.
fn add_conventional_keys(table: &mut Table, lookup: &dyn Fn(&str) -> EnvValue) {
    for (slug, vars) in default_key_vars() {
        let set = vars
            .iter()
            .find(|var| matches!(lookup(var), EnvValue::Set(value) if !value.is_empty()));
        let Some(var) = set else { continue };
        let keys = sub_table(table, "provider")
            .and_then(|t| sub_table(t, slug))
            .and_then(|t| sub_table(t, "keys"));
        if let Some(keys) = keys {
            keys.insert("default".into(), Value::String(format!("env:{var}")));
        }
    }
}

/// The table under `key`, created when absent; `None` when `key` holds a non-table.
fn sub_table<'a>(table: &'a mut Table, key: &str) -> Option<&'a mut Table> {
    table
        .entry(key)
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
}

fn parse(text: &str, origin: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|err| {
        let at = err.span().map_or(0, |span| span.start);
        let before = text.get(..at).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        ConfigError::Syntax {
            origin: origin.to_string(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            message: err.message().trim_end().to_string(),
        }
    })
}

fn from_table(
    mut table: Table,
    base: &Path,
    lookup: &dyn Fn(&str) -> EnvValue,
) -> Result<Settings, ConfigError> {
    let inserted = env::substitute(&mut table, lookup)?;
    let file: ConfigFile = serde_path_to_error::deserialize(table).map_err(|err| {
        let path = err.path().to_string();
        ConfigError::Invalid {
            path,
            message: plain_errors::plain_words(&scrub(err.inner().message(), &inserted)),
        }
    })?;
    validate::resolve(file, base)
}

/// Deserialisation messages quote the offending value (`invalid type: string "...",
/// expected u64`); that value may be a secret put in the wrong place, so drop it.
fn scrub(message: &str, env_values: &[String]) -> String {
    let mut out = crate::redact::scrub_quoted(message);
    for value in env_values {
        out = out.replace(value.as_str(), crate::redact::REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
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
    fn log_retention_defaults_and_is_set_per_gateway() {
        let g = load("").unwrap().gateway("default").unwrap().config.clone();
        assert_eq!((g.log_max_entries, g.log_max_bytes), (10_000_000, 1 << 30));
        let s = load("[[gateway]]\nid = \"a\"\nlog_max_bytes = 4096").unwrap();
        assert_eq!(s.gateway("a").unwrap().config.log_max_bytes, 4096);
        assert_err_at(
            "[[gateway]]\nlog_max_bytes = -1",
            "gateway[0].log_max_bytes",
        );
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

    #[test]
    fn scrub_removes_quoted_strings_and_env_values() {
        let out = scrub(
            "invalid type: string \"a\\\"b secret\", expected u64 (SECRET-ENV)",
            &["SECRET-ENV".to_string()],
        );
        assert_eq!(out, "invalid type: a string, expected u64 ([redacted])");
        assert_eq!(scrub("string \"unterminated", &[]), "a string");
    }
}
