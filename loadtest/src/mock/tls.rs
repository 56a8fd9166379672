//! HTTPS for the mock: a rustls server config (ring provider, ALPN http/1.1) from PEM files.
//! Loaded once on the main thread; each worker gets a clone of the acceptor.

use std::sync::Arc;

use monoio_rustls::TlsAcceptor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::error::ToolError;

/// Builds a TLS acceptor from a PEM certificate chain and a PEM private key.
pub fn load_acceptor(cert_path: &str, key_path: &str) -> Result<TlsAcceptor, ToolError> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ToolError::Tls(format!("certificate {cert_path}: {e}")))?;
    if certs.is_empty() {
        return Err(ToolError::Tls(format!("no certificate in {cert_path}")));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| ToolError::Tls(format!("private key {key_path}: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ToolError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ToolError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
