//! TLS client configs: web roots plus the global `ca_file`, and one config per provider
//! `ca_file` with its roots on top. Verification is always on; ALPN is `http/1.1`.

use super::UpstreamError;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Client configs by provider `ca_file` (`None`: the global roots only).
pub(crate) struct TlsConfigs {
    base_roots: RootCertStore,
    by_ca_file: RwLock<HashMap<Option<PathBuf>, Arc<ClientConfig>>>,
}

impl TlsConfigs {
    /// Loads every file now, so that a bad `ca_file` is a startup error.
    pub(crate) fn new(
        global_ca_file: Option<&Path>,
        provider_ca_files: &[PathBuf],
    ) -> Result<Self, UpstreamError> {
        let mut base_roots = RootCertStore::empty();
        base_roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = global_ca_file {
            add_pem_roots(&mut base_roots, path)?;
        }
        let mut map = HashMap::new();
        map.insert(None, build(base_roots.clone())?);
        for path in provider_ca_files {
            let config = with_extra_roots(&base_roots, path)?;
            map.insert(Some(path.clone()), config);
        }
        Ok(TlsConfigs {
            base_roots,
            by_ca_file: RwLock::new(map),
        })
    }

    /// The config for a peer's `ca_file`. One not seen at startup (a provider added at run
    /// time) is loaded once here and kept.
    pub(crate) fn get(
        &self,
        ca_file: Option<&PathBuf>,
    ) -> Result<Arc<ClientConfig>, UpstreamError> {
        let key = ca_file.cloned();
        let found = match self.by_ca_file.read() {
            Ok(map) => map.get(&key).cloned(),
            Err(poisoned) => poisoned.into_inner().get(&key).cloned(),
        };
        if let Some(config) = found {
            return Ok(config);
        }
        let config = match ca_file {
            Some(path) => with_extra_roots(&self.base_roots, path)?,
            None => build(self.base_roots.clone())?,
        };
        match self.by_ca_file.write() {
            Ok(mut map) => map.insert(key, Arc::clone(&config)),
            Err(poisoned) => poisoned.into_inner().insert(key, Arc::clone(&config)),
        };
        Ok(config)
    }
}

fn with_extra_roots(base: &RootCertStore, path: &Path) -> Result<Arc<ClientConfig>, UpstreamError> {
    let mut roots = base.clone();
    add_pem_roots(&mut roots, path)?;
    build(roots)
}

/// Adds every certificate of a PEM file; a file without one is an error (a wrong path
/// or format would otherwise silently trust nothing extra).
fn add_pem_roots(roots: &mut RootCertStore, path: &Path) -> Result<(), UpstreamError> {
    let bad = |why: String| UpstreamError::Config(format!("ca_file {}: {why}", path.display()));
    let mut added = 0usize;
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(bad("no certificate found".into()));
    }
    Ok(())
}

fn build(roots: RootCertStore) -> Result<Arc<ClientConfig>, UpstreamError> {
    // One explicit provider: `ClientConfig::builder()` panics when two are in the graph.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamError::Config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_ca_file_is_a_config_error() {
        let missing = PathBuf::from("/nonexistent/sluice-ca.pem");
        let err = TlsConfigs::new(Some(&missing), &[]).err();
        assert!(matches!(err, Some(UpstreamError::Config(m)) if m.contains("sluice-ca.pem")));

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a pem\n").unwrap();
        let err = TlsConfigs::new(None, &[empty]).err();
        assert!(matches!(err, Some(UpstreamError::Config(m)) if m.contains("no certificate")));
    }

    #[test]
    fn provider_ca_file_adds_roots_on_top_of_web_roots() {
        let dir = tempfile::tempdir().unwrap();
        let ca_path = dir.path().join("ca.pem");
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".into()]).unwrap();
        std::fs::write(&ca_path, ca.cert.pem()).unwrap();

        let configs = TlsConfigs::new(None, std::slice::from_ref(&ca_path)).unwrap();
        let web = webpki_roots::TLS_SERVER_ROOTS.len();
        assert_eq!(configs.base_roots.len(), web);
        let base = configs.get(None).unwrap();
        let extra = configs.get(Some(&ca_path)).unwrap();
        assert!(!Arc::ptr_eq(&base, &extra));
        assert_eq!(base.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert_eq!(extra.alpn_protocols, vec![b"http/1.1".to_vec()]);
        // The same file gives the same cached config.
        assert!(Arc::ptr_eq(&extra, &configs.get(Some(&ca_path)).unwrap()));
    }
}
