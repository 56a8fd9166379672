//! The built-in provider table of SPEC section 4, and the environment variable each
//! provider's stored `default` key is read from in the embedded default config.

use super::{Api, AuthStyle, BaseUrl, Provider};
use std::collections::BTreeMap;

/// One row of SPEC section 4.
struct Builtin {
    slug: &'static str,
    model_prefix: &'static str,
    host: &'static str,
    path: &'static str,
    api: Api,
    auth: AuthStyle,
    /// Conventional variables for the key, first set and non-empty wins.
    key_vars: &'static [&'static str],
}

const BUILTINS: [Builtin; 13] = [
    row(
        "openai",
        "openai",
        "api.openai.com",
        "/v1",
        Api::Openai,
        &["OPENAI_API_KEY"],
    ),
    row(
        "anthropic",
        "anthropic",
        "api.anthropic.com",
        "",
        Api::Anthropic,
        &["ANTHROPIC_API_KEY"],
    ),
    row(
        "workers-ai",
        "workers-ai",
        "api.cloudflare.com",
        "/client/v4/accounts/{cf_account_id}/ai",
        Api::WorkersAi,
        &["CLOUDFLARE_API_TOKEN"],
    ),
    row(
        "groq",
        "groq",
        "api.groq.com",
        "/openai/v1",
        Api::Openai,
        &["GROQ_API_KEY"],
    ),
    row(
        "mistral",
        "mistral",
        "api.mistral.ai",
        "/v1",
        Api::Openai,
        &["MISTRAL_API_KEY"],
    ),
    row(
        "deepseek",
        "deepseek",
        "api.deepseek.com",
        "",
        Api::Openai,
        &["DEEPSEEK_API_KEY"],
    ),
    row(
        "perplexity-ai",
        "perplexity",
        "api.perplexity.ai",
        "",
        Api::Openai,
        &["PERPLEXITY_API_KEY"],
    ),
    row(
        "openrouter",
        "openrouter",
        "openrouter.ai",
        "/api/v1",
        Api::Openai,
        &["OPENROUTER_API_KEY"],
    ),
    row(
        "grok",
        "grok",
        "api.x.ai",
        "/v1",
        Api::Openai,
        &["XAI_API_KEY"],
    ),
    row(
        "cerebras",
        "cerebras",
        "api.cerebras.ai",
        "/v1",
        Api::Openai,
        &["CEREBRAS_API_KEY"],
    ),
    row(
        "google-ai-studio",
        "google-ai-studio",
        "generativelanguage.googleapis.com",
        "",
        Api::Google,
        &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    ),
    row(
        "azure-openai",
        "azure-openai",
        "{resource}.openai.azure.com",
        "/openai",
        Api::AzureOpenai,
        &["AZURE_OPENAI_API_KEY"],
    ),
    row(
        "cohere",
        "cohere",
        "api.cohere.ai",
        "",
        Api::Openai,
        &["COHERE_API_KEY"],
    ),
];

/// Every built-in is reached over https on 443, with the auth style its api implies.
const fn row(
    slug: &'static str,
    model_prefix: &'static str,
    host: &'static str,
    path: &'static str,
    api: Api,
    key_vars: &'static [&'static str],
) -> Builtin {
    Builtin {
        slug,
        model_prefix,
        host,
        path,
        api,
        auth: api.auth_style(),
        key_vars,
    }
}

/// The 13 built-in providers, with no stored keys, in SPEC table order.
pub fn builtin_providers() -> Vec<Provider> {
    BUILTINS
        .iter()
        .map(|b| Provider {
            slug: b.slug.to_string(),
            model_prefix: b.model_prefix.to_string(),
            base: BaseUrl::from_parts(true, b.host, 443, b.path),
            api: b.api,
            auth: b.auth,
            keys: BTreeMap::new(),
            ca_file: None,
            models: Vec::new(),
            responses_api: b.slug == "openai",
        })
        .collect()
}

/// Whether `slug` names a built-in provider (so `custom-SLUG` is no alias of it).
pub fn is_builtin_slug(slug: &str) -> bool {
    BUILTINS.iter().any(|b| b.slug == slug)
}

/// `(slug, variables)` for the embedded default's stored keys: the first variable
/// that is set and non-empty becomes the provider's `default` key.
pub fn default_key_vars() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    BUILTINS.iter().map(|b| (b.slug, b.key_vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC section 4, written out independently of the table above.
    const SPEC: [(&str, &str, &str, &str, Api); 13] = [
        (
            "openai",
            "openai",
            "https://api.openai.com/v1",
            "authorization",
            Api::Openai,
        ),
        (
            "anthropic",
            "anthropic",
            "https://api.anthropic.com",
            "x-api-key",
            Api::Anthropic,
        ),
        (
            "workers-ai",
            "workers-ai",
            "https://api.cloudflare.com/client/v4/accounts/{cf_account_id}/ai",
            "authorization",
            Api::WorkersAi,
        ),
        (
            "groq",
            "groq",
            "https://api.groq.com/openai/v1",
            "authorization",
            Api::Openai,
        ),
        (
            "mistral",
            "mistral",
            "https://api.mistral.ai/v1",
            "authorization",
            Api::Openai,
        ),
        (
            "deepseek",
            "deepseek",
            "https://api.deepseek.com",
            "authorization",
            Api::Openai,
        ),
        (
            "perplexity-ai",
            "perplexity",
            "https://api.perplexity.ai",
            "authorization",
            Api::Openai,
        ),
        (
            "openrouter",
            "openrouter",
            "https://openrouter.ai/api/v1",
            "authorization",
            Api::Openai,
        ),
        (
            "grok",
            "grok",
            "https://api.x.ai/v1",
            "authorization",
            Api::Openai,
        ),
        (
            "cerebras",
            "cerebras",
            "https://api.cerebras.ai/v1",
            "authorization",
            Api::Openai,
        ),
        (
            "google-ai-studio",
            "google-ai-studio",
            "https://generativelanguage.googleapis.com",
            "x-goog-api-key",
            Api::Google,
        ),
        (
            "azure-openai",
            "azure-openai",
            "https://{resource}.openai.azure.com/openai",
            "api-key",
            Api::AzureOpenai,
        ),
        (
            "cohere",
            "cohere",
            "https://api.cohere.ai",
            "authorization",
            Api::Openai,
        ),
    ];

    #[test]
    fn table_matches_spec_exactly() {
        let providers = builtin_providers();
        assert_eq!(providers.len(), SPEC.len());
        for (p, (slug, prefix, url, header, api)) in providers.iter().zip(SPEC) {
            assert_eq!(p.slug, slug);
            assert_eq!(p.model_prefix, prefix);
            assert_eq!(p.base, BaseUrl::parse(url).unwrap(), "{slug}");
            assert_eq!(p.base.to_string(), url);
            assert_eq!(p.auth.header_name(), header, "{slug}");
            assert_eq!(p.api, api, "{slug}");
            assert!(p.keys.is_empty() && p.models.is_empty() && p.ca_file.is_none());
        }
    }

    #[test]
    fn versioned_detection_for_every_builtin() {
        let versioned = [
            "openai",
            "groq",
            "mistral",
            "openrouter",
            "grok",
            "cerebras",
        ];
        for p in builtin_providers() {
            assert_eq!(
                p.base.versioned,
                versioned.contains(&p.slug.as_str()),
                "{} ({})",
                p.slug,
                p.base
            );
        }
    }

    #[test]
    fn only_perplexity_has_a_prefix_other_than_its_slug() {
        for p in builtin_providers() {
            if p.slug == "perplexity-ai" {
                assert_eq!(p.model_prefix, "perplexity");
            } else {
                assert_eq!(p.model_prefix, p.slug);
            }
        }
    }

    #[test]
    fn builtin_slugs() {
        assert!(is_builtin_slug("openai"));
        assert!(is_builtin_slug("perplexity-ai"));
        assert!(!is_builtin_slug("perplexity"));
        assert!(!is_builtin_slug("custom-openai"));
    }

    #[test]
    fn every_builtin_has_a_key_variable() {
        let vars: Vec<_> = default_key_vars().collect();
        assert_eq!(vars.len(), 13);
        assert!(vars.iter().all(|(_, v)| !v.is_empty()));
        let google = vars.iter().find(|(s, _)| *s == "google-ai-studio").unwrap();
        assert_eq!(google.1, ["GEMINI_API_KEY", "GOOGLE_API_KEY"]);
        let grok = vars.iter().find(|(s, _)| *s == "grok").unwrap();
        assert_eq!(grok.1, ["XAI_API_KEY"]);
    }
}
