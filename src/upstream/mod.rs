//! Upstream connections: DNS off the hot path, TCP connect with a timeout, TLS,
//! and the per-worker connection pool that the proxy checks connections out of.

mod conn;
mod connect;
mod dns;
mod pool;
mod probe;
mod tls;

pub use conn::Conn;
pub use pool::{Checkout, Upstream};

use crate::config::UpstreamConfig;
use std::path::PathBuf;

/// The full identity of an upstream peer: the pool key. SNI and certificate name are `host`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerKey {
    /// Whether the peer speaks TLS.
    pub tls: bool,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Extra trusted roots for this peer (a provider's `ca_file`), on top of the global ones.
    pub ca_file: Option<PathBuf>,
}

/// Why an upstream connection could not be made. Messages name hosts and files, never secrets.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The host name did not resolve.
    #[error("cannot resolve upstream host {host}")]
    Dns {
        /// The host asked for.
        host: String,
    },
    /// The TCP connect failed.
    #[error("upstream connect failed: {0}")]
    Connect(std::io::Error),
    /// The connect did not finish within `connect_timeout_ms`.
    #[error("upstream connect timed out")]
    ConnectTimeout,
    /// The TLS handshake failed (certificate included).
    #[error("upstream TLS handshake failed: {0}")]
    Tls(std::io::Error),
    /// TLS roots or a `ca_file` could not be loaded.
    #[error("upstream config error: {0}")]
    Config(String),
}

/// The parts of the upstream layer shared by all workers (`Send + Sync`, kept in an `Arc`):
/// the DNS cache with its refresh thread, and the TLS client configs.
pub struct UpstreamShared {
    dns: dns::DnsCache,
    tls: tls::TlsConfigs,
}

impl UpstreamShared {
    /// Builds the TLS configs (web roots + global `ca_file`, and one config per provider
    /// `ca_file` adding its roots on top), resolves `hosts` once and starts the DNS refresh
    /// thread. A host that does not resolve now is only logged: it is retried in the
    /// background, and requests to it fail with [`UpstreamError::Dns`] until it resolves.
    pub fn new(
        cfg: &UpstreamConfig,
        hosts: &[(String, u16)],
        provider_ca_files: &[PathBuf],
    ) -> Result<Self, UpstreamError> {
        Self::with_resolver(cfg, hosts, provider_ca_files, dns::system_resolve)
    }

    fn with_resolver(
        cfg: &UpstreamConfig,
        hosts: &[(String, u16)],
        provider_ca_files: &[PathBuf],
        resolver: dns::Resolver,
    ) -> Result<Self, UpstreamError> {
        let tls = tls::TlsConfigs::new(cfg.ca_file.as_deref(), provider_ca_files)?;
        let names: Vec<&str> = hosts.iter().map(|(host, _)| host.as_str()).collect();
        let dns = dns::DnsCache::start(&names, resolver)?;
        Ok(UpstreamShared { dns, tls })
    }
}
