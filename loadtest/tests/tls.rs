//! HTTPS on the real `sluice-mock`: a self-signed certificate (rcgen), a rustls client trusting
//! it, ALPN http/1.1, a completion served over TLS; and `sluice-load` against it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use common::load::sluice_load;
use common::Mock;
use rustls::pki_types::ServerName;

#[test]
fn serves_https_with_alpn_http11() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir();
    let id = std::process::id();
    let cert_path = dir.join(format!("sluice-mock-{id}-cert.pem"));
    let key_path = dir.join(format!("sluice-mock-{id}-key.pem"));
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    let mock = Mock::start(&[
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        key_path.to_str().unwrap(),
    ]);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from("localhost").unwrap();
    let client = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(client, TcpStream::connect(mock.addr).unwrap());

    let body = r#"{"model":"tls-model"}"#;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    // The mock ends a `connection: close` exchange with close_notify, so this is a clean EOF.
    tls.read_to_end(&mut response).unwrap();
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    let text = String::from_utf8(response).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(json["model"], "tls-model");
    std::fs::remove_file(cert_path).unwrap();
    std::fs::remove_file(key_path).unwrap();
}

/// A certificate for 127.0.0.1 (IP SAN) written to PEM files, removed when dropped.
struct TestPki {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

impl TestPki {
    fn new(name: &str) -> TestPki {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let dir = std::env::temp_dir();
        let id = std::process::id();
        let pki = TestPki {
            cert: dir.join(format!("sluice-load-{id}-{name}-cert.pem")),
            key: dir.join(format!("sluice-load-{id}-{name}-key.pem")),
        };
        std::fs::write(&pki.cert, certified.cert.pem()).unwrap();
        std::fs::write(&pki.key, certified.signing_key.serialize_pem()).unwrap();
        pki
    }

    fn mock(&self) -> Mock {
        Mock::start(&[
            "--tls-cert",
            self.cert.to_str().unwrap(),
            "--tls-key",
            self.key.to_str().unwrap(),
        ])
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.cert);
        let _ = std::fs::remove_file(&self.key);
    }
}

#[test]
fn sluice_load_speaks_https_with_a_test_ca() {
    let pki = TestPki::new("cacert");
    let mock = pki.mock();
    let url = format!("https://{}/v1/chat/completions", mock.addr);
    let cacert = pki.cert.to_str().unwrap();
    let run = sluice_load(&["-n", "20", "-c", "2", "--cacert", cacert, &url]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json["ok"], 20);
    assert!(run.json["latency_us"]["p50"].as_u64().unwrap() > 0);
    let stream = sluice_load(&[
        "-n",
        "5",
        "--stream",
        "-H",
        "x-mock-chunks: 3",
        "--expect-chunks",
        "3",
        "--cacert",
        cacert,
        &url,
    ]);
    assert_eq!(stream.code, 0, "{}{}", stream.stdout, stream.stderr);
    assert_eq!(stream.json["chunks"], 15);
}

#[test]
fn sluice_load_refuses_an_unknown_certificate_unless_insecure() {
    let pki = TestPki::new("insecure");
    let mock = pki.mock();
    let url = format!("https://{}/v1/chat/completions", mock.addr);
    let refused = sluice_load(&["-n", "3", "-c", "1", &url]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("no response from"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("tls: invalid peer certificate"),
        "{}",
        refused.stderr
    );
    let insecure = sluice_load(&["-n", "3", "-c", "1", "--insecure", &url]);
    assert_eq!(insecure.code, 0, "{}{}", insecure.stdout, insecure.stderr);
    assert_eq!(insecure.json["ok"], 3);
}
