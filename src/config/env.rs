//! `env:NAME` values: every string in the parsed TOML tree of that form is replaced by
//! the variable's value before the tree is deserialised, so any string key can use it.

use super::ConfigError;
use toml::{Table, Value};

/// What looking up one variable gave.
pub(crate) enum EnvValue {
    Set(String),
    Unset,
    NotUnicode,
}

/// The process environment.
pub(crate) fn process_env(name: &str) -> EnvValue {
    match std::env::var(name) {
        Ok(value) => EnvValue::Set(value),
        Err(std::env::VarError::NotPresent) => EnvValue::Unset,
        Err(std::env::VarError::NotUnicode(_)) => EnvValue::NotUnicode,
    }
}

/// Replaces every `env:NAME` string in `table`; returns the values put in, so that
/// error messages can be scrubbed of them.
pub(crate) fn substitute(
    table: &mut Table,
    lookup: &dyn Fn(&str) -> EnvValue,
) -> Result<Vec<String>, ConfigError> {
    let mut inserted = Vec::new();
    walk_table(table, "", lookup, &mut inserted)?;
    Ok(inserted)
}

fn walk_table(
    table: &mut Table,
    path: &str,
    lookup: &dyn Fn(&str) -> EnvValue,
    inserted: &mut Vec<String>,
) -> Result<(), ConfigError> {
    for (key, value) in table.iter_mut() {
        let path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        walk_value(value, &path, lookup, inserted)?;
    }
    Ok(())
}

fn walk_value(
    value: &mut Value,
    path: &str,
    lookup: &dyn Fn(&str) -> EnvValue,
    inserted: &mut Vec<String>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(text) => {
            if let Some(var) = text.strip_prefix("env:") {
                let resolved = resolve(var, path, lookup)?;
                if !resolved.is_empty() {
                    inserted.push(resolved.clone());
                }
                *text = resolved;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_value(item, &format!("{path}[{i}]"), lookup, inserted)?;
            }
        }
        Value::Table(table) => walk_table(table, path, lookup, inserted)?,
        Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::Datetime(_) => {}
    }
    Ok(())
}

fn resolve(
    var: &str,
    path: &str,
    lookup: &dyn Fn(&str) -> EnvValue,
) -> Result<String, ConfigError> {
    if var.is_empty() || var.contains(['=', '\0']) {
        return Err(ConfigError::invalid(
            path,
            "`env:` must be followed by an environment variable name",
        ));
    }
    match lookup(var) {
        EnvValue::Set(value) => Ok(value),
        EnvValue::Unset => Err(ConfigError::MissingEnv {
            path: path.to_string(),
            var: var.to_string(),
        }),
        EnvValue::NotUnicode => Err(ConfigError::invalid(
            path,
            format!("environment variable {var} is not valid UTF-8"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(name: &str) -> EnvValue {
        match name {
            "KEY" => EnvValue::Set("sk-secret".into()),
            "EMPTY" => EnvValue::Set(String::new()),
            "BINARY" => EnvValue::NotUnicode,
            _ => EnvValue::Unset,
        }
    }

    fn run(text: &str) -> Result<(Table, Vec<String>), ConfigError> {
        let mut table: Table = text.parse().unwrap();
        let inserted = substitute(&mut table, &fake)?;
        Ok((table, inserted))
    }

    #[test]
    fn replaces_strings_at_every_depth() {
        let (t, inserted) = run(r#"
            top = "env:KEY"
            plain = "envy"
            [a.b]
            c = "env:KEY"
            list = ["x", "env:KEY"]
            [[g]]
            tokens = ["env:KEY"]
            "#)
        .unwrap();
        assert_eq!(t["top"].as_str(), Some("sk-secret"));
        assert_eq!(t["plain"].as_str(), Some("envy"));
        assert_eq!(t["a"]["b"]["c"].as_str(), Some("sk-secret"));
        assert_eq!(t["a"]["b"]["list"][1].as_str(), Some("sk-secret"));
        assert_eq!(t["g"][0]["tokens"][0].as_str(), Some("sk-secret"));
        assert_eq!(inserted.len(), 4);
    }

    #[test]
    fn missing_variable_names_path_and_variable() {
        let err = run("[[gateway]]\n[[gateway]]\nauth_tokens = [\"a\", \"env:NOPE\"]").unwrap_err();
        match &err {
            ConfigError::MissingEnv { path, var } => {
                assert_eq!(path, "gateway[1].auth_tokens[1]");
                assert_eq!(var, "NOPE");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("NOPE"));
    }

    #[test]
    fn empty_value_is_substituted_but_not_recorded() {
        let (t, inserted) = run("x = \"env:EMPTY\"").unwrap();
        assert_eq!(t["x"].as_str(), Some(""));
        assert!(inserted.is_empty());
    }

    #[test]
    fn bad_names_and_non_unicode_values_are_errors() {
        for text in ["x = \"env:\"", "x = \"env:A=B\""] {
            let err = run(text).unwrap_err().to_string();
            assert!(err.contains("`x`"), "{err}");
        }
        let err = run("[s]\nx = \"env:BINARY\"").unwrap_err().to_string();
        assert!(err.contains("s.x") && err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn only_values_not_keys_are_substituted() {
        let (t, _) = run("\"env:KEY\" = 1").unwrap();
        assert_eq!(t["env:KEY"].as_integer(), Some(1));
    }

    #[test]
    fn process_env_reads_the_environment() {
        std::env::set_var("SLUICE_TEST_ENV_RS_PROCESS", "v1");
        assert!(matches!(process_env("SLUICE_TEST_ENV_RS_PROCESS"), EnvValue::Set(v) if v == "v1"));
        assert!(matches!(
            process_env("SLUICE_TEST_ENV_RS_SURELY_UNSET"),
            EnvValue::Unset
        ));
    }
}
