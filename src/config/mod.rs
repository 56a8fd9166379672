//! The TOML config file (SPEC section 2): its schema, `env:` values, validation,
//! and the immutable snapshot (`Settings`) that workers read.

mod env;
mod load;
mod memory;
mod plain_errors;
mod providers;
mod render;
mod suggest;
mod validate;

use suggest::did_you_mean;
use validate::check_readable;

use crate::providers::{is_builtin_slug, Provider};
use crate::redact::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The file as written (every key optional; unknown keys are errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    pub server: ServerConfig,
    pub upstream: UpstreamConfig,
    pub gateway: Vec<GatewayConfig>,
    pub provider: BTreeMap<String, ProviderConfig>,
    /// `[price.PROVIDER]` overrides of the bundled prices, checked at load (validate.rs).
    pub price: BTreeMap<String, toml::Table>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: Vec<String>,
    pub admin_listen: String,
    pub workers: usize,
    pub account_id: String,
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
    pub client_idle_timeout_s: u64,
    /// A request head must be complete this long after its first byte (else 408).
    pub client_header_timeout_s: u64,
    /// Longest wait for the next bytes of a request body (else 408).
    pub client_body_timeout_s: u64,
    /// Longest a write to the client may make no progress (else the client is closed).
    pub client_send_timeout_s: u64,
    /// Request-body bytes all workers together hold in memory; over it: 503. 0 in the
    /// file means "size from the machine"; resolved (never 0) in `Settings`.
    pub max_buffered_body_bytes: u64,
    pub shutdown_grace_s: u64,
    pub data_dir: String,
    pub admin_token: Secret,
    pub cache_max_bytes: u64,
    /// Request-log entries held while the writer catches up; more are dropped and counted.
    pub log_queue_entries: usize,
    /// One info line per finished request on stderr (`observe::access_log`).
    pub access_log: bool,
    pub tls: Option<ListenerTls>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec!["127.0.0.1:8787".into()],
            admin_listen: "127.0.0.1:8788".into(),
            workers: 0,
            account_id: "*".into(),
            max_header_bytes: 65536,
            max_body_bytes: 26_214_400,
            client_idle_timeout_s: 60,
            client_header_timeout_s: 60,
            client_body_timeout_s: 60,
            client_send_timeout_s: 60,
            max_buffered_body_bytes: 0,
            shutdown_grace_s: 30,
            data_dir: "./sluice-data".into(),
            admin_token: Secret::default(),
            cache_max_bytes: 268_435_456,
            log_queue_entries: 65_536,
            access_log: false,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    pub connect_timeout_ms: u64,
    pub pool_idle_timeout_s: u64,
    pub pool_max_idle_per_host: usize,
    /// Longest wait for an upstream's response head, per attempt, whatever the request's
    /// own `request_timeout_ms` (the shorter of the two applies).
    pub first_byte_timeout_s: u64,
    /// Longest wait for the next bytes of an upstream response body (else it is cut).
    pub stream_idle_timeout_s: u64,
    pub ca_file: Option<PathBuf>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            connect_timeout_ms: 5000,
            pool_idle_timeout_s: 90,
            pool_max_idle_per_host: 64,
            first_byte_timeout_s: 600,
            stream_idle_timeout_s: 600,
            ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    pub id: String,
    pub auth_tokens: Vec<Secret>,
    pub default_provider: String,
    pub collect_logs: bool,
    pub client_keys: ClientKeys,
    pub cache_ttl_s: u64,
    pub rate_limit: RateLimitConfig,
    pub retry: RetryConfig,
    pub request_timeout_ms: u64,
    pub log_max_entries: u64,
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
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub limit: u64,
    pub interval_s: u64,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateTechnique {
    Fixed,
    Sliding,
}

impl RateTechnique {
    pub fn as_str(self) -> &'static str {
        match self {
            RateTechnique::Fixed => "fixed",
            RateTechnique::Sliding => "sliding",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    pub max_attempts: u32,
    pub delay_ms: u64,
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
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKeys::StoredFirst => "stored-first",
            ClientKeys::ClientFirst => "client-first",
            ClientKeys::StoredOnly => "stored-only",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Constant,
    Linear,
    Exponential,
}

impl Backoff {
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
    pub base_url: Option<String>,
    pub keys: BTreeMap<String, Secret>,
    pub api: Option<crate::providers::Api>,
    pub ca_file: Option<PathBuf>,
    pub models: Vec<String>,
}

/// A gateway as workers use it.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub id: String,
    pub auth_tokens: Vec<Secret>,
    /// The provider's slug (a model prefix or `custom-NAME` in config is resolved to it).
    pub default_provider: Option<String>,
    pub config: GatewayConfig,
}

/// The resolved, validated config: an immutable snapshot shared by all workers (`Arc`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerConfig,
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
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config error at `{path}`: {message}")]
    Invalid { path: String, message: String },
    #[error("config error at `{path}`: environment variable {var} is not set")]
    MissingEnv { path: String, var: String },
    /// Not valid TOML. The source line is not quoted, since it may hold a secret.
    #[error("config syntax error in {origin} at line {line}, column {column}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
}

impl ConfigError {
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
