//! Merging `[provider.NAME]` config sections into the built-in table: overrides of
//! built-ins, declarations of custom providers, and the checks on both.

use super::{check_readable, did_you_mean, ConfigError, ProviderConfig};
use crate::providers::{builtin_providers, is_builtin_slug, Api, BaseUrl, Provider};
use std::collections::BTreeMap;

/// The built-ins with config applied, by slug.
pub(crate) fn resolve_providers(
    configs: &BTreeMap<String, ProviderConfig>,
) -> Result<BTreeMap<String, Provider>, ConfigError> {
    let mut table: BTreeMap<String, Provider> = builtin_providers()
        .into_iter()
        .map(|p| (p.slug.clone(), p))
        .collect();
    for (name, config) in configs {
        let provider = resolve_one(name, config, table.remove(name))?;
        table.insert(name.clone(), provider);
    }
    check_unique_prefixes(&table)?;
    Ok(table)
}

fn resolve_one(
    name: &str,
    config: &ProviderConfig,
    builtin: Option<Provider>,
) -> Result<Provider, ConfigError> {
    let at = |field: &str| format!("provider.{name}.{field}");
    check_slug(name)?;
    let base = match &config.base_url {
        Some(url) => {
            Some(BaseUrl::parse(url).map_err(|e| ConfigError::invalid(at("base_url"), e))?)
        }
        None => None,
    };
    let mut provider = match (builtin, base) {
        (Some(mut builtin), base) => {
            if let Some(base) = base {
                builtin.base = base;
            }
            builtin
        }
        (None, Some(base)) => {
            let api = config.api.unwrap_or(Api::Openai);
            Provider {
                slug: name.to_string(),
                model_prefix: name.to_string(),
                base,
                api,
                auth: api.auth_style(),
                keys: BTreeMap::new(),
                ca_file: None,
                models: Vec::new(),
                responses_api: false,
            }
        }
        (None, None) => {
            let builtins = builtin_providers();
            let hint = did_you_mean(name, builtins.iter().map(|p| p.slug.as_str()));
            return Err(ConfigError::invalid(
                format!("provider.{name}"),
                format!("not a built-in provider; a custom provider needs a base_url{hint}"),
            ));
        }
    };
    if let Some(api) = config.api {
        provider.api = api;
        provider.auth = api.auth_style();
    }
    for (alias, key) in &config.keys {
        if alias.is_empty() {
            return Err(ConfigError::invalid(at("keys"), "a key alias is empty"));
        }
        if key.is_empty() {
            return Err(ConfigError::invalid(
                format!("provider.{name}.keys.{alias}"),
                "the key is empty",
            ));
        }
        provider.keys.insert(alias.clone(), key.clone());
    }
    if let Some(file) = &config.ca_file {
        check_readable(&at("ca_file"), file)?;
        provider.ca_file = Some(file.clone());
    }
    if let Some(i) = config.models.iter().position(|m| m.is_empty()) {
        return Err(ConfigError::invalid(
            format!("provider.{name}.models[{i}]"),
            "a model name is empty",
        ));
    }
    if !config.models.is_empty() {
        provider.models = config.models.clone();
    }
    if let Some(serves) = config.responses_api {
        if serves && provider.api != Api::Openai {
            return Err(ConfigError::invalid(
                at("responses_api"),
                "only a provider with api = \"openai\" can serve the Responses API",
            ));
        }
        provider.responses_api = serves;
    }
    Ok(provider)
}

/// Provider names are path segments and model prefixes: 1-64 of [a-z0-9_-].
fn check_slug(name: &str) -> Result<(), ConfigError> {
    let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    if name.is_empty() || name.len() > 64 || !name.bytes().all(valid) {
        return Err(ConfigError::invalid(
            format!("provider.{name}"),
            "a provider name must be 1-64 characters of [a-z0-9_-]",
        ));
    }
    Ok(())
}

/// A custom provider named like another's model prefix (`perplexity`) would make
/// `/compat` model names ambiguous.
fn check_unique_prefixes(table: &BTreeMap<String, Provider>) -> Result<(), ConfigError> {
    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    for provider in table.values() {
        if let Some(other) = owners.insert(&provider.model_prefix, &provider.slug) {
            let custom = if is_builtin_slug(other) {
                &provider.slug
            } else {
                other
            };
            return Err(ConfigError::invalid(
                format!("provider.{custom}"),
                format!(
                    "model prefix `{}` is used by providers {other} and {}",
                    provider.model_prefix, provider.slug
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::AuthStyle;
    use crate::redact::Secret;

    fn configs(entries: &[(&str, ProviderConfig)]) -> BTreeMap<String, ProviderConfig> {
        entries
            .iter()
            .map(|(n, c)| (n.to_string(), c.clone()))
            .collect()
    }

    fn with_base(url: &str) -> ProviderConfig {
        ProviderConfig {
            base_url: Some(url.into()),
            ..ProviderConfig::default()
        }
    }

    #[test]
    fn no_config_gives_the_builtins() {
        let table = resolve_providers(&BTreeMap::new()).unwrap();
        assert_eq!(table.len(), 13);
        assert!(table.contains_key("perplexity-ai"));
    }

    #[test]
    fn override_keeps_unset_fields() {
        let mut c = with_base("http://127.0.0.1:9/v1");
        c.keys.insert("default".into(), Secret::new("k1"));
        c.models = vec!["gpt-4o-mini".into()];
        let table = resolve_providers(&configs(&[("openai", c)])).unwrap();
        let p = &table["openai"];
        assert_eq!(p.base.authority(), "127.0.0.1:9");
        assert!(!p.base.tls);
        assert_eq!(p.api, Api::Openai);
        assert_eq!(p.auth, AuthStyle::Bearer);
        assert_eq!(p.keys["default"].expose(), "k1");
        assert_eq!(p.models, ["gpt-4o-mini"]);
        let a = &table["anthropic"];
        assert_eq!(a.base.host, "api.anthropic.com");
    }

    #[test]
    fn override_without_base_url_keeps_builtin_base() {
        let mut c = ProviderConfig::default();
        c.keys.insert("prod".into(), Secret::new("k"));
        let table = resolve_providers(&configs(&[("groq", c)])).unwrap();
        assert_eq!(
            table["groq"].base.to_string(),
            "https://api.groq.com/openai/v1"
        );
        assert!(table["groq"].keys.contains_key("prod"));
    }

    #[test]
    fn overriding_api_changes_auth_style() {
        let c = ProviderConfig {
            api: Some(Api::Anthropic),
            ..ProviderConfig::default()
        };
        let table = resolve_providers(&configs(&[("openai", c)])).unwrap();
        assert_eq!(table["openai"].api, Api::Anthropic);
        assert_eq!(table["openai"].auth, AuthStyle::XApiKey);
    }

    #[test]
    fn custom_provider_defaults_to_openai_bearer() {
        let table = resolve_providers(&configs(&[(
            "local",
            with_base("http://localhost:8000/v1"),
        )]))
        .unwrap();
        let p = &table["local"];
        assert_eq!(p.slug, "local");
        assert_eq!(p.model_prefix, "local");
        assert_eq!(p.api, Api::Openai);
        assert_eq!(p.auth, AuthStyle::Bearer);
        assert!(p.base.versioned);
    }

    #[test]
    fn custom_provider_auth_follows_its_api() {
        let cases = [
            (Api::Anthropic, AuthStyle::XApiKey),
            (Api::Google, AuthStyle::GoogApiKey),
            (Api::AzureOpenai, AuthStyle::ApiKey),
            (Api::WorkersAi, AuthStyle::Bearer),
        ];
        for (api, auth) in cases {
            let mut c = with_base("https://example.test");
            c.api = Some(api);
            let table = resolve_providers(&configs(&[("mine", c)])).unwrap();
            assert_eq!(table["mine"].auth, auth, "{api:?}");
        }
    }

    #[test]
    fn unknown_name_without_base_url_is_an_error() {
        let err = resolve_providers(&configs(&[("nope", ProviderConfig::default())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("provider.nope"), "{err}");
        assert!(err.contains("base_url"), "{err}");
    }

    #[test]
    fn bad_base_url_names_the_key() {
        let err = resolve_providers(&configs(&[("openai", with_base("ftp://x"))]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("provider.openai.base_url"), "{err}");
    }

    #[test]
    fn provider_names_must_be_slugs() {
        for bad in ["Upper", "with space", "dot.ted", "", &"a".repeat(65)] {
            let err = resolve_providers(&configs(&[(bad, with_base("https://x.test"))]));
            assert!(err.is_err(), "{bad:?}");
        }
        assert!(resolve_providers(&configs(&[("a_b-9", with_base("https://x.test"))])).is_ok());
    }

    #[test]
    fn custom_name_clashing_with_a_model_prefix_is_an_error() {
        let err = resolve_providers(&configs(&[("perplexity", with_base("https://x.test"))]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("provider.perplexity`"), "{err}");
        assert!(err.contains("perplexity-ai"), "{err}");
    }

    #[test]
    fn empty_keys_and_models_are_errors() {
        let mut c = ProviderConfig::default();
        c.keys.insert("default".into(), Secret::new(""));
        let err = resolve_providers(&configs(&[("openai", c)])).unwrap_err();
        assert!(
            err.to_string().contains("provider.openai.keys.default"),
            "{err}"
        );

        let c = ProviderConfig {
            models: vec!["a".into(), String::new()],
            ..ProviderConfig::default()
        };
        let err = resolve_providers(&configs(&[("openai", c)])).unwrap_err();
        assert!(
            err.to_string().contains("provider.openai.models[1]"),
            "{err}"
        );
    }

    #[test]
    fn missing_ca_file_is_an_error_at_load() {
        let c = ProviderConfig {
            ca_file: Some("/nonexistent/sluice-test-ca.pem".into()),
            ..ProviderConfig::default()
        };
        let err = resolve_providers(&configs(&[("openai", c)])).unwrap_err();
        assert!(err.to_string().contains("provider.openai.ca_file"), "{err}");
    }
}
