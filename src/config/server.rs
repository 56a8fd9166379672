//! `[server]` and `[upstream]` as written, with their defaults: listeners, client-side
//! limits and timeouts, admin tokens, and how providers are connected to and pooled.

use crate::redact::Secret;
use serde::Deserialize;
use std::path::PathBuf;

/// `[server]` as written, with its defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Data-plane addresses (`host:port`), each bound once per worker.
    pub listen: Vec<String>,
    /// The admin plane's address; "" turns it off.
    pub admin_listen: String,
    /// Worker threads; 0: one per CPU the process may run on.
    pub workers: usize,
    /// The account segment of gateway paths accepted; `*` takes any.
    pub account_id: String,
    /// Largest request head; over it: 431.
    pub max_header_bytes: usize,
    /// Largest request body; over it: 413 (2004).
    pub max_body_bytes: usize,
    /// How long an idle keep-alive connection waits for a request's first byte.
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
    /// How long a shutdown waits for in-flight requests before the workers stop.
    pub shutdown_grace_s: u64,
    /// Where the request log (`logs.db`) lives.
    pub data_dir: String,
    /// Bearer token of the admin `/api/v1/` routes; empty: open.
    pub admin_token: Secret,
    /// `[[server.admin_tokens]]`: admin API tokens with a role; `admin_token` is an edit one.
    pub admin_tokens: Vec<AdminToken>,
    /// What provider keys stored through the management API are encrypted under (any
    /// string, `env:NAME` advised); empty: a key file made in `data_dir` on first start.
    pub secrets_key: Secret,
    /// Bytes of the response cache, all gateways and workers; 0 turns it off.
    pub cache_max_bytes: u64,
    /// Request-log entries held while the writer catches up; more are dropped and counted.
    pub log_queue_entries: usize,
    /// One info line per finished request on stderr (`observe::access_log`).
    pub access_log: bool,
    /// `[server.tls]`; startup refuses it for now (TLS on the listener is not supported yet).
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
            admin_tokens: Vec::new(),
            secrets_key: Secret::default(),
            cache_max_bytes: 268_435_456,
            log_queue_entries: 65_536,
            access_log: false,
            tls: None,
        }
    }
}

/// One `[[server.admin_tokens]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    /// The bearer token (`env:NAME` to read it from the environment).
    pub token: Secret,
    /// What it may do.
    pub role: AdminRole,
}

/// An admin token's role: `read` sees everything and changes nothing; `edit` may do both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminRole {
    /// GET (and HEAD) only.
    Read,
    /// Every method.
    Edit,
}

impl ServerConfig {
    /// Every admin token with its role, `admin_token` (an edit token) among them.
    pub fn admin_tokens(&self) -> Vec<(Secret, AdminRole)> {
        let legacy =
            (!self.admin_token.is_empty()).then(|| (self.admin_token.clone(), AdminRole::Edit));
        legacy
            .into_iter()
            .chain(self.admin_tokens.iter().map(|t| (t.token.clone(), t.role)))
            .collect()
    }
}

/// `[server.tls]`: a certificate chain and private key (PEM files); not served yet.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// `[upstream]` as written, with its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Longest wait for a TCP connect (and TLS handshake) to a provider.
    pub connect_timeout_ms: u64,
    /// An idle pooled connection older than this is dropped at checkout.
    pub pool_idle_timeout_s: u64,
    /// Idle connections kept per peer and worker.
    pub pool_max_idle_per_host: usize,
    /// Longest wait for an upstream's response head, per attempt, whatever the request's
    /// own `request_timeout_ms` (the shorter of the two applies).
    pub first_byte_timeout_s: u64,
    /// Longest wait for the next bytes of an upstream response body (else it is cut).
    pub stream_idle_timeout_s: u64,
    /// Extra trusted roots (PEM) for every provider.
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
