//! Provider-native pass-through: paths with and without the base's version, query
//! strings, every method, the provider's own auth header, and TLS upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

fn ok_upstream() -> Upstream {
    Upstream::start(|seen, w| {
        write_json(w, 200, &format!("{{\"path\":\"{}\"}}", seen.target));
        After::KeepAlive
    })
}

#[test]
fn both_path_forms_reach_the_versioned_base() {
    let up = ok_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    for path in [
        "/v1/a/default/mock/chat/completions?x=1&y=%20",
        "/v1/a/default/mock/v1/chat/completions?x=1&y=%20",
    ] {
        let resp = gw.send(&post(path, "", r#"{"model":"m"}"#));
        assert_eq!(resp.status, 200, "{path}");
        // Provider-native paths name no model of the gateway's choosing.
        assert_eq!(resp.header("cf-aig-model"), None);
        let seen = up.next_request();
        assert_eq!(seen.target, "/v1/chat/completions?x=1&y=%20");
        // Native bodies go up byte for byte (no rewrite).
        assert_eq!(seen.body, br#"{"model":"m"}"#);
    }
}

#[test]
fn every_method_passes_through() {
    let up = ok_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    for method in ["GET", "DELETE", "PUT", "PATCH", "OPTIONS"] {
        let raw = format!("{method} /v1/a/default/mock/files/f-1 HTTP/1.1\r\nhost: gw\r\n\r\n");
        let resp = gw.send(raw.as_bytes());
        assert_eq!(resp.status, 200, "{method}");
        let seen = up.next_request();
        assert_eq!(seen.method, method);
        assert_eq!(seen.target, "/v1/files/f-1");
        assert!(
            seen.header("content-length").is_none(),
            "{method} grew a body"
        );
    }
}

#[test]
fn clients_own_provider_header_is_forwarded() {
    let up = ok_upstream();
    let cfg = format!(
        "[provider.claude]\nbase_url = \"http://{}\"\napi = \"anthropic\"\nkeys = {{ default = \"stored\" }}\n",
        up.addr
    );
    let gw = Gateway::start(&cfg);
    let resp = gw.send(&post(
        "/v1/a/default/claude/v1/messages",
        "x-api-key: client-key\r\nanthropic-version: 2023-01-01\r\n",
        "{}",
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.target, "/v1/messages");
    assert_eq!(seen.header("x-api-key"), Some("client-key"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-01-01"));

    // Without one, the stored key goes up as x-api-key, with an API version.
    let resp = gw.send(&post("/v1/a/default/claude/v1/messages", "", "{}"));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.header("x-api-key"), Some("stored"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert!(seen.header("authorization").is_none());
}

#[test]
fn tls_upstream_with_test_ca() {
    let pki = tls::TestPki::new(&["localhost"]);
    let up = Upstream::start_tls(pki.server_config.clone(), |_, w| {
        write_json(w, 200, r#"{"tls":true}"#);
        After::KeepAlive
    });
    let cfg = pki.provider_config(up.addr.port());
    let gw = Gateway::start(&cfg);
    for _ in 0..2 {
        let resp = gw.send(&post("/v1/chat/completions", "", r#"{"model":"secure/m"}"#));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, br#"{"tls":true}"#);
        let seen = up.next_request();
        assert_eq!(
            seen.header("host"),
            Some(format!("localhost:{}", up.addr.port()).as_str())
        );
    }
}

#[test]
fn untrusted_tls_upstream_is_2010() {
    let pki = tls::TestPki::new(&["localhost"]);
    let up = Upstream::start_tls(pki.server_config.clone(), |_, w| {
        write_json(w, 200, "{}");
        After::KeepAlive
    });
    // No ca_file: the test CA is not among the web roots.
    let cfg = format!(
        "[provider.secure]\nbase_url = \"https://localhost:{}/v1\"\nkeys = {{ default = \"k\" }}\n",
        up.addr.port()
    );
    let gw = Gateway::start(&cfg);
    let resp = gw.send(&post("/v1/chat/completions", "", r#"{"model":"secure/m"}"#));
    assert_eq!((resp.status, resp.code()), (502, 2010));
    assert!(up.saw_nothing());
}

#[test]
fn pooled_connections_are_reused() {
    let up = ok_upstream();
    let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
    // One client connection, so each request starts after the last one's checkin.
    let mut c = gw.connect();
    for _ in 0..3 {
        c.write(&post("/v1/chat/completions", "", r#"{"model":"mock/m"}"#));
        assert_eq!(c.response().status, 200);
        up.next_request();
    }
    assert_eq!(up.accept_count(), 1);
}

#[test]
fn stale_pooled_connection_is_retried_on_a_new_one() {
    // The upstream closes every connection right after answering, without saying so.
    let up = Upstream::start(|_, w| {
        write_json(w, 200, "{}");
        After::Close
    });
    let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
    for _ in 0..3 {
        let resp = gw.send(&post("/v1/chat/completions", "", r#"{"model":"mock/m"}"#));
        assert_eq!(resp.status, 200);
        up.next_request();
        up.next_closed();
    }
}
