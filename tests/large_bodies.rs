//! Bodies far bigger than a socket buffer, both ways, plain and TLS: every byte arrives,
//! in order, once (a short write must go on where it stopped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{post, tls, After, Gateway, Upstream};

/// A JSON request of about `mb` megabytes for `model`, with a recognisable filler.
fn big_request(model: &str, mb: usize) -> String {
    let filler: String = (0..mb * 1024 * 1024 / 16)
        .map(|i| format!("{i:015x}-"))
        .collect();
    format!(r#"{{"model":"{model}","input":"{filler}"}}"#)
}

#[test]
fn a_large_request_body_reaches_a_tls_upstream_whole() {
    let pki = tls::TestPki::new(&["localhost"]);
    let up = Upstream::start_tls(pki.server_config.clone(), |_, w| {
        common::write_json(w, 200, r#"{"ok":true}"#);
        After::KeepAlive
    });
    let cfg = pki.provider_config(up.addr.port());
    let gw = Gateway::start(&cfg);
    let resp = gw.send(&post("/v1/embeddings", "", &big_request("secure/m", 6)));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let seen = up.next_request();
    // The model is rewritten to the provider's name; every other byte is the client's.
    assert!(seen.body == big_request("m", 6).into_bytes());
}

#[test]
fn a_large_request_body_reaches_a_plain_upstream_whole() {
    let up = Upstream::start(|_, w| {
        common::write_json(w, 200, r#"{"ok":true}"#);
        After::KeepAlive
    });
    let gw = Gateway::start(&common::config_for(&up, ""));
    let resp = gw.send(&post("/v1/embeddings", "", &big_request("mock/m", 6)));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    assert!(up.next_request().body == big_request("m", 6).into_bytes());
}

/// About 8 MB of JSON, the size of a large embeddings batch.
fn big_response() -> String {
    let numbers: Vec<String> = (0..900_000).map(|i| format!("0.{i:06}")).collect();
    format!(r#"{{"data":[{{"embedding":[{}]}}]}}"#, numbers.join(","))
}

#[test]
fn a_large_response_reaches_the_client_whole_with_a_length_and_chunked() {
    let up = Upstream::start(|seen, w| {
        let body = big_response();
        if seen.target.contains("chunked") {
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            );
            for piece in body.as_bytes().chunks(100_000) {
                let _ = write!(w, "{:x}\r\n", piece.len());
                let _ = w.write_all(piece);
                let _ = write!(w, "\r\n");
            }
            let _ = write!(w, "0\r\n\r\n");
        } else {
            common::write_json(w, 200, &body);
        }
        After::KeepAlive
    });
    let gw = Gateway::start(&common::config_for(&up, ""));
    let expected = big_response().into_bytes();
    for provider_path in ["embeddings", "embeddings-chunked"] {
        let path = format!("/v1/acct/default/mock/{provider_path}");
        let resp = gw.send(&post(&path, "", r#"{"model":"m","input":"x"}"#));
        assert_eq!(resp.status, 200, "{provider_path}");
        assert!(
            resp.body == expected,
            "{provider_path}: {} bytes",
            resp.body.len()
        );
    }
}
