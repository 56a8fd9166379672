//! The TOML config file (SPEC section 2): its schema, `env:` values, validation,
//! and the immutable snapshot (`Settings`) that workers read.

mod access_token;
mod env;
mod gateway_keys;
mod gateways;
mod key_path;
mod load;
mod memory;
mod plain_errors;
mod providers;
mod render;
mod routes;
mod server;
mod suggest;
mod validate;

use suggest::did_you_mean;
use validate::check_readable;

pub use access_token::{token_hash, AccessToken, TokenRate, TokenSpend};
pub use gateway_keys::GatewayKeys;
pub use routes::RouteConfig;
pub use server::{AdminRole, AdminToken, ListenerTls, ServerConfig, UpstreamConfig};

use crate::providers::{is_builtin_slug, Provider};
use crate::redact::Secret;
use crate::routing::{Alias, AliasConfig, Route, SpendLimits};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The file as written (every key optional; unknown keys are errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// `[server]`: listeners, limits and timeouts of the client side, the data dir.
    pub server: ServerConfig,
    /// `[upstream]`: connecting to providers and pooling the connections.
    pub upstream: UpstreamConfig,
    /// `[[gateway]]` tables, in file order.
    pub gateway: Vec<GatewayConfig>,
    /// `[provider.NAME]` tables by name.
    pub provider: BTreeMap<String, ProviderConfig>,
    /// `[price.PROVIDER]` overrides of the bundled prices, checked at load (validate.rs).
    pub price: BTreeMap<String, toml::Table>,
}

/// One `[[gateway]]` as written, with its defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// The gateway's path segment (`/v1/{account}/{id}/...`).
    pub id: String,
    /// Tokens accepted in `cf-aig-authorization`; empty: the gateway is open.
    pub auth_tokens: Vec<Secret>,
    /// Provider for bare model names on `/compat` (a slug or model prefix).
    pub default_provider: String,
    /// Whether requests of this gateway go to the request log.
    pub collect_logs: bool,
    /// Whose provider key the unified endpoints use.
    pub client_keys: ClientKeys,
    /// Response cache TTL; 0: caching only when a request asks for it.
    pub cache_ttl_s: u64,
    /// `[gateway.rate_limit]`.
    pub rate_limit: RateLimitConfig,
    /// `[gateway.retry]`.
    pub retry: RetryConfig,
    /// Default time to the first response byte; 0: no limit.
    pub request_timeout_ms: u64,
    /// Entries kept in the request log for this gateway; older ones are deleted.
    pub log_max_entries: u64,
    /// Body bytes kept in the request log for this gateway (its rows' bodies in the
    /// segment files); its oldest entries go once they take more.
    pub log_max_bytes: u64,
    /// `[[gateway.route]]`: dynamic routes (`dynamic/NAME`), parsed and checked at load.
    pub route: Vec<RouteConfig>,
    /// `[[gateway.alias]]`: model aliases (`custom/NAME`), checked at load.
    pub alias: Vec<AliasConfig>,
    /// `spend_limits`: cost budgets in the hosted service's shape, checked at load.
    pub spend_limits: Option<SpendLimits>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            id: "default".into(),
            auth_tokens: Vec::new(),
            default_provider: String::new(),
            collect_logs: true,
            client_keys: ClientKeys::StoredFirst,
            cache_ttl_s: 0,
            rate_limit: RateLimitConfig::default(),
            retry: RetryConfig::default(),
            request_timeout_ms: 0,
            log_max_entries: 10_000_000,
            // A small disk's share: ~32k requests of 32 KiB bodies both ways.
            log_max_bytes: 1 << 30,
            route: Vec::new(),
            alias: Vec::new(),
            spend_limits: None,
        }
    }
}

/// `[gateway.rate_limit]`: at most `limit` requests per `interval_s`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests per interval; 0 turns the limit off.
    pub limit: u64,
    /// The window, in seconds.
    pub interval_s: u64,
    /// Fixed or sliding window.
    pub technique: RateTechnique,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            limit: 0,
            interval_s: 60,
            technique: RateTechnique::Sliding,
        }
    }
}

/// How the rate-limit window moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RateTechnique {
    /// Windows aligned to Unix time, counted afresh in each.
    Fixed,
    /// A window ending now: the requests admitted in the last `interval_s`.
    Sliding,
}

impl RateTechnique {
    /// The name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            RateTechnique::Fixed => "fixed",
            RateTechnique::Sliding => "sliding",
        }
    }
}

/// `[gateway.retry]`: how failed attempts are retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the second attempt, in milliseconds.
    pub delay_ms: u64,
    /// How the wait grows between later attempts.
    pub backoff: Backoff,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 1,
            delay_ms: 0,
            backoff: Backoff::Constant,
        }
    }
}

/// The longest request timeout a header, a Universal step or the config may set: a day.
/// Far beyond any model's answer, and far inside what a timer can hold (monoio's wheel
/// panics its worker on durations of years).
pub const REQUEST_TIMEOUT_MAX_MS: u64 = 86_400_000;

/// Whose provider key a unified endpoint uses (`[[gateway]] client_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKeys {
    /// The provider's stored key when it has one, and the client's key is then dropped;
    /// otherwise the client's key. Native paths forward the provider's own header.
    StoredFirst,
    /// The client's key when sent, else the stored key (the hosted service's precedence).
    ClientFirst,
    /// Stored keys only, on every path: a client key is never forwarded.
    StoredOnly,
}

impl ClientKeys {
    /// The name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKeys::StoredFirst => "stored-first",
            ClientKeys::ClientFirst => "client-first",
            ClientKeys::StoredOnly => "stored-only",
        }
    }
}

/// How the retry delay grows from one attempt to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// The same delay each time.
    Constant,
    /// The delay times the attempt number.
    Linear,
    /// The delay doubled each time.
    Exponential,
}

impl Backoff {
    /// The name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Backoff::Constant => "constant",
            Backoff::Linear => "linear",
            Backoff::Exponential => "exponential",
        }
    }
}

/// `[provider.NAME]`: overrides a built-in provider or declares a custom one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    /// Upstream base URL; required for a custom provider.
    pub base_url: Option<String>,
    /// Stored provider keys by alias (`default` is used unless a request names another).
    pub keys: BTreeMap<String, Secret>,
    /// Wire format; a custom provider defaults to OpenAI's.
    pub api: Option<crate::providers::Api>,
    /// Extra trusted roots (PEM) for this provider only.
    pub ca_file: Option<PathBuf>,
    /// Models listed by `/compat/models`.
    pub models: Vec<String>,
    /// The provider serves OpenAI's Responses API itself (`/responses` passed through);
    /// otherwise a Responses request is translated to its Chat Completions. Only `openai`
    /// does by default.
    pub responses_api: Option<bool>,
}

/// A gateway as workers use it.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The gateway's path segment.
    pub id: String,
    /// Tokens accepted in `cf-aig-authorization`; empty: the gateway is open.
    pub auth_tokens: Vec<Secret>,
    /// The provider's slug (a model prefix or `custom-NAME` in config is resolved to it).
    pub default_provider: Option<String>,
    /// `[[gateway.route]]` parsed and checked, model providers resolved to slugs.
    pub routes: Vec<Route>,
    /// `[[gateway.alias]]` checked, targets resolved to provider slugs.
    pub aliases: Vec<Alias>,
    /// The top-level body keys any route reads: the request scan finds their values.
    pub route_body_keys: Vec<String>,
    /// The gateway's table as written (route files made absolute, rule ids filled in).
    pub config: GatewayConfig,
    /// Made through the management API (else declared in the config file, or the default).
    pub from_api: bool,
    /// What keeps this gateway's cache entries apart: its id, plus the time of its last
    /// change for an API gateway with `cache_invalidate_on_update` (a change then leaves
    /// its old entries unreachable, to age out).
    pub cache_scope: String,
    /// Provider keys stored on this gateway through the management API; they come before
    /// the provider's own `keys`.
    pub stored_keys: GatewayKeys,
    /// Access tokens made through the management API; accepted like `auth_tokens`.
    pub access_tokens: Vec<AccessToken>,
    /// Requests must carry a gateway token: `auth_tokens` in the file, or an API gateway
    /// with `authentication: true`.
    pub authenticated: bool,
}

/// A gateway the management API made, as the settings take it.
#[derive(Debug, Clone)]
pub struct ApiGatewayConfig {
    /// Its config.
    pub config: GatewayConfig,
    /// `Gateway::cache_scope`.
    pub cache_scope: String,
    /// `Gateway::stored_keys`.
    pub keys: GatewayKeys,
    /// `Gateway::access_tokens`.
    pub access_tokens: Vec<AccessToken>,
    /// The object's `authentication`.
    pub authentication: bool,
}

/// The resolved, validated config: an immutable snapshot shared by all workers (`Arc`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[server]` as written.
    pub server: ServerConfig,
    /// `[upstream]` as written.
    pub upstream: UpstreamConfig,
    /// By id; always holds "default".
    pub gateways: HashMap<String, Gateway>,
    /// By slug (`custom-NAME` aliases resolve to NAME through `provider_by_slug`).
    pub providers: BTreeMap<String, Provider>,
    /// `server.listen`, parsed (never empty).
    pub listen: Vec<SocketAddr>,
    /// `server.admin_listen`, parsed; `None` when "" (admin plane off).
    pub admin_listen: Option<SocketAddr>,
    /// [observe] `[price.PROVIDER]` tables, kept as written for a later stage.
    pub prices: BTreeMap<String, toml::Table>,
}

impl Settings {
    /// The gateway with this id.
    pub fn gateway(&self, id: &str) -> Option<&Gateway> {
        self.gateways.get(id)
    }

    /// By path segment; `custom-NAME` also finds the custom provider NAME.
    pub fn provider_by_slug(&self, slug: &str) -> Option<&Provider> {
        find_by_slug(&self.providers, slug)
    }

    /// By `/compat` model prefix (`perplexity` finds perplexity-ai); `custom-NAME` too.
    pub fn provider_by_model_prefix(&self, prefix: &str) -> Option<&Provider> {
        find_by_model_prefix(&self.providers, prefix)
    }
}

fn find_by_slug<'a>(providers: &'a BTreeMap<String, Provider>, slug: &str) -> Option<&'a Provider> {
    providers.get(slug).or_else(|| {
        let name = slug.strip_prefix("custom-")?;
        providers.get(name).filter(|p| !is_builtin_slug(&p.slug))
    })
}

fn find_by_model_prefix<'a>(
    providers: &'a BTreeMap<String, Provider>,
    prefix: &str,
) -> Option<&'a Provider> {
    let exact = |prefix: &str| providers.values().find(|p| p.model_prefix == prefix);
    exact(prefix).or_else(|| {
        let name = prefix.strip_prefix("custom-")?;
        exact(name).filter(|p| !is_builtin_slug(&p.slug))
    })
}

/// Why a config could not be loaded; the message names the key path or variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A value is refused.
    #[error("config error at `{path}`: {message}")]
    Invalid {
        /// The key path (`gateway[0].retry.max_attempts`).
        path: String,
        /// Why it is refused.
        message: String,
    },
    /// An `env:` value names a variable that is not set.
    #[error("config error at `{path}`: environment variable {var} is not set")]
    MissingEnv {
        /// The key path.
        path: String,
        /// The variable's name.
        var: String,
    },
    /// Not valid TOML. The source line is not quoted, since it may hold a secret.
    #[error("config syntax error in {origin} at line {line}, column {column}: {message}")]
    Syntax {
        /// Where the text came from (a path, "inline", ...).
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
}

impl ConfigError {
    /// The key path the error is at, where it has one.
    pub fn key_path(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { path, .. } | ConfigError::MissingEnv { path, .. } => Some(path),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl fmt::Display) -> ConfigError {
        ConfigError::Invalid {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_by_slug_and_model_prefix() {
        let s = Settings::from_toml_str(
            "[provider.local]\nbase_url = \"http://127.0.0.1:9\"",
            "test",
        )
        .unwrap();
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
}
