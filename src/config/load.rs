//! Loading a config: TOML text (a file, or the embedded default plus conventional key
//! variables) -> `env:` substitution -> typed deserialisation with key paths -> validation.

use super::env::{self, EnvValue};
use super::{validate, ConfigError, ConfigFile, Settings};
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
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses config text; `origin` names it in syntax errors (a path, "inline", ...).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Settings, ConfigError> {
        from_text(text, origin, &env::process_env)
    }

    /// The config `sluice serve` runs with no `--config` and no `SLUICE_CONFIG`: the
    /// defaults, plus each built-in's `default` key from its conventional variable.
    pub fn embedded_default() -> Result<Settings, ConfigError> {
        embedded_default_with(&env::process_env)
    }
}

fn from_text(
    text: &str,
    origin: &str,
    lookup: &dyn Fn(&str) -> EnvValue,
) -> Result<Settings, ConfigError> {
    from_table(parse(text, origin)?, lookup)
}

fn embedded_default_with(lookup: &dyn Fn(&str) -> EnvValue) -> Result<Settings, ConfigError> {
    let mut table = parse(EMBEDDED_DEFAULT, "the embedded default config")?;
    add_conventional_keys(&mut table, lookup);
    from_table(table, lookup)
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
    lookup: &dyn Fn(&str) -> EnvValue,
) -> Result<Settings, ConfigError> {
    let inserted = env::substitute(&mut table, lookup)?;
    let file: ConfigFile = serde_path_to_error::deserialize(table).map_err(|err| {
        let path = err.path().to_string();
        ConfigError::Invalid {
            path,
            message: scrub(err.inner().message(), &inserted),
        }
    })?;
    validate::resolve(file)
}

/// Deserialisation messages quote the offending value (`invalid type: string "...",
/// expected u64`); that value may be a secret put in the wrong place, so drop it.
fn scrub(message: &str, env_values: &[String]) -> String {
    let mut out = message.trim_end().to_string();
    for value in env_values {
        out = out.replace(value.as_str(), "[redacted]");
    }
    while let Some(start) = out.find("string \"") {
        let quoted = &out[start + "string ".len()..];
        let end = quoted_len(quoted);
        out.replace_range(start..start + "string ".len() + end, "a string");
    }
    out
}

/// Length of the leading `"..."` (Debug-escaped) in `text`, quotes included.
fn quoted_len(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
mod tests;
