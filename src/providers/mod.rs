//! The provider table: built-in providers of SPEC section 4, their upstream base,
//! wire format (`Api`) and auth style, merged with `[provider.*]` from config by `config`.

mod base_url;
mod builtin;

pub use base_url::BaseUrlError;
pub use builtin::{builtin_providers, default_key_vars, is_builtin_slug};

use crate::redact::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Api {
    /// OpenAI's API (Chat Completions and the rest), bearer auth.
    Openai,
    /// Anthropic Messages, `x-api-key` auth.
    Anthropic,
    /// Google Gemini, `x-goog-api-key` auth.
    Google,
    /// Azure OpenAI, `api-key` auth.
    AzureOpenai,
    /// Cloudflare Workers AI (OpenAI-shaped), bearer auth.
    WorkersAi,
}

impl Api {
    /// The name used in config (`api = "azure-openai"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Openai => "openai",
            Api::Anthropic => "anthropic",
            Api::Google => "google",
            Api::AzureOpenai => "azure-openai",
            Api::WorkersAi => "workers-ai",
        }
    }

    /// The auth style a provider speaking this api expects.
    pub const fn auth_style(self) -> AuthStyle {
        match self {
            Api::Openai | Api::WorkersAi => AuthStyle::Bearer,
            Api::Anthropic => AuthStyle::XApiKey,
            Api::Google => AuthStyle::GoogApiKey,
            Api::AzureOpenai => AuthStyle::ApiKey,
        }
    }
}

/// How a provider key is written upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer K`
    Bearer,
    /// `x-api-key: K` (plus `anthropic-version` when the client sent none)
    XApiKey,
    /// `x-goog-api-key: K`
    GoogApiKey,
    /// `api-key: K` (Azure OpenAI)
    ApiKey,
}

impl AuthStyle {
    /// The request header (lowercase) that carries the key in this style.
    pub fn header_name(self) -> &'static str {
        match self {
            AuthStyle::Bearer => "authorization",
            AuthStyle::XApiKey => "x-api-key",
            AuthStyle::GoogApiKey => "x-goog-api-key",
            AuthStyle::ApiKey => "api-key",
        }
    }
}

/// A parsed upstream base URL: `http(s)://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Whether the scheme is `https`.
    pub tls: bool,
    /// Host name or IP address, lowercased.
    pub host: String,
    /// Port (the scheme's default when none is written).
    pub port: u16,
    /// Path prefix without a trailing slash ("" or "/v1", "/openai/v1", ...).
    pub path: String,
    /// The last path segment looks like a version (`v1`, `v1beta`, `v4`, ...).
    pub versioned: bool,
}

/// One provider as the proxy uses it.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Path segment on provider-native routes (`perplexity-ai`).
    pub slug: String,
    /// Prefix of `/compat` model names (`perplexity`); the slug for most providers.
    pub model_prefix: String,
    /// Where requests go.
    pub base: BaseUrl,
    /// Wire format.
    pub api: Api,
    /// How the key is written upstream.
    pub auth: AuthStyle,
    /// Stored keys (BYOK) by alias.
    pub keys: BTreeMap<String, Secret>,
    /// Extra trusted roots for this provider only.
    pub ca_file: Option<PathBuf>,
    /// Listed by `/compat/models` as `slug/model`.
    pub models: Vec<String>,
    /// Serves OpenAI's Responses API itself (else it is translated to Chat Completions).
    pub responses_api: bool,
}
