//! Provider keys stored on one gateway (the management API's provider_configs): by provider
//! and alias, with at most one default per provider for requests that name no alias.

use crate::redact::Secret;
use std::collections::BTreeMap;

/// A gateway's stored keys; empty for gateways from the config file.
#[derive(Debug, Clone, Default)]
pub struct GatewayKeys {
    by_provider: BTreeMap<String, ProviderKeys>,
}

#[derive(Debug, Clone, Default)]
struct ProviderKeys {
    aliases: BTreeMap<String, Secret>,
    default_alias: Option<String>,
}

impl GatewayKeys {
    /// Adds the key `alias` of provider `slug`; `is_default` makes it the one used when a
    /// request names no alias.
    pub fn insert(&mut self, slug: &str, alias: &str, secret: Secret, is_default: bool) {
        let keys = self.by_provider.entry(slug.to_string()).or_default();
        keys.aliases.insert(alias.to_string(), secret);
        if is_default {
            keys.default_alias = Some(alias.to_string());
        }
    }

    /// The key for `slug`: by `alias` when the request names one (`cf-aig-byok-alias`), else
    /// the provider's default one, else the one aliased `default`.
    pub fn find(&self, slug: &str, alias: Option<&str>) -> Option<&Secret> {
        let keys = self.by_provider.get(slug)?;
        match alias {
            Some(alias) => keys.aliases.get(alias),
            None => keys
                .default_alias
                .as_ref()
                .and_then(|a| keys.aliases.get(a))
                .or_else(|| keys.aliases.get("default")),
        }
    }

    /// No key stored.
    pub fn is_empty(&self) -> bool {
        self.by_provider.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_finds_its_key_and_no_alias_the_default_one() {
        let mut keys = GatewayKeys::default();
        keys.insert("openai", "team", Secret::new("sk-team"), false);
        keys.insert("openai", "prod", Secret::new("sk-prod"), true);
        keys.insert("groq", "default", Secret::new("gsk-1"), false);
        let found = |slug, alias| keys.find(slug, alias).map(Secret::expose);
        assert_eq!(found("openai", Some("team")), Some("sk-team"));
        assert_eq!(found("openai", None), Some("sk-prod"));
        assert_eq!(found("groq", None), Some("gsk-1"));
        assert_eq!(found("groq", Some("team")), None);
        assert_eq!(found("anthropic", None), None);
    }
}
