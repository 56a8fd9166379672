//! Test TLS material made at test time: a CA, a server certificate it signed for given
//! names, the CA as a PEM file, and a rustls server config using the certificate.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::Arc;

/// A CA and one server certificate it issued.
pub struct TestPki {
    /// Keeps the CA file alive.
    pub dir: tempfile::TempDir,
    /// The CA certificate as PEM, for `ca_file`.
    pub ca_file: PathBuf,
    /// Serves the certificate issued for the names given to [`TestPki::new`].
    pub server_config: Arc<ServerConfig>,
}

impl TestPki {
    /// A fresh CA and a server certificate for `names` (DNS names or IP literals).
    pub fn new(names: &[&str]) -> TestPki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "sluice test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let leaf_key = KeyPair::generate().unwrap();
        let sans: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut leaf_params = CertificateParams::new(sans).unwrap();
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();

        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TestPki {
            dir,
            ca_file,
            server_config: Arc::new(server_config),
        }
    }
}

impl TestPki {
    /// A `[provider.secure]` for an upstream on `localhost:port` serving this PKI's
    /// certificate, trusting this CA.
    pub fn provider_config(&self, port: u16) -> String {
        format!(
            "[provider.secure]\nbase_url = \"https://localhost:{port}/v1\"\nca_file = \"{}\"\n\
             keys = {{ default = \"k\" }}\n",
            self.ca_file.display()
        )
    }
}
