//! Request smuggling over raw sockets, with a recording upstream: whatever the gateway
//! answers before (or instead of) reading a body, no byte of that body is ever parsed as
//! a request, and a keep-alive client's next request gets its own answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

/// What a smuggled request would reach upstream: the mock's base `/v1` + this.
const SMUGGLED_TARGET: &str = "/v1/SMUGGLED";
const SMUGGLED: &str = "GET /v1/acc/default/mock/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n";
/// A request answered by the gateway itself (the model list), to tell answers apart.
const FOLLOW_UP: &str = "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n";

fn gateway(up: &Upstream) -> Gateway {
    Gateway::start(&config_for(
        up,
        "[[gateway]]\nid = \"locked\"\nauth_tokens = [\"gw-token\"]\n",
    ))
}

fn recording_upstream() -> Upstream {
    Upstream::start(|_, w| {
        write_json(w, 200, r#"{"upstream":true}"#);
        After::KeepAlive
    })
}

/// Request heads the gateway refuses before it reads the body: (what, head lines, status, code).
fn early_refusals() -> Vec<(&'static str, String, u16, i64)> {
    let chat = "POST /v1/acc/default/compat/chat/completions HTTP/1.1\r\nHost: x\r\n";
    vec![
        (
            "no route",
            "POST /v1/nosuch HTTP/1.1\r\nHost: x\r\n".into(),
            404,
            2002,
        ),
        (
            "unknown gateway",
            "POST /v1/acc/nosuch/compat/chat/completions HTTP/1.1\r\nHost: x\r\n".into(),
            404,
            2001,
        ),
        (
            "gateway auth",
            "POST /v1/acc/locked/compat/chat/completions HTTP/1.1\r\nHost: x\r\n".into(),
            401,
            2009,
        ),
        (
            "bad control header",
            format!("{chat}cf-aig-max-attempts: 9\r\n"),
            400,
            2003,
        ),
        (
            "timer overflow",
            format!("{chat}cf-aig-request-timeout: 18446744073709551615\r\n"),
            400,
            2003,
        ),
    ]
}

fn with_length(head: &str, body: &str) -> String {
    format!("{head}Content-Length: {}\r\n\r\n{body}", body.len())
}

fn with_chunks(head: &str, body: &str) -> String {
    format!(
        "{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    )
}

fn assert_nothing_smuggled(up: &Upstream) {
    for seen in up.drain_seen() {
        assert_ne!(seen.target, SMUGGLED_TARGET, "a body was run as a request");
    }
}

#[test]
fn a_body_left_by_an_early_refusal_is_never_run_pipelined() {
    let up = recording_upstream();
    let gw = gateway(&up);
    for (what, head, status, code) in early_refusals() {
        for framed in [with_length(&head, SMUGGLED), with_chunks(&head, SMUGGLED)] {
            let mut c = gw.connect();
            c.write(format!("{framed}{FOLLOW_UP}").as_bytes());
            let first = c.response();
            assert_eq!((first.status, first.code()), (status, code), "{what}");
            assert_ne!(first.header("connection"), Some("close"), "{what}");
            let next = c.response();
            assert_eq!(next.status, 200, "{what}");
            assert_eq!(
                next.json()["object"],
                "list",
                "{what}: not the follow-up's answer"
            );
            assert_nothing_smuggled(&up);
        }
    }
    assert!(up.saw_nothing());
}

#[test]
fn a_keep_alive_client_gets_its_own_answer_after_any_error() {
    let up = recording_upstream();
    let gw = gateway(&up);
    let mut c = gw.connect();
    for (what, head, status, code) in early_refusals() {
        c.write(with_length(&head, r#"{"model":"mock/m"}"#).as_bytes());
        let resp = c.response();
        assert_eq!((resp.status, resp.code()), (status, code), "{what}");
        c.write(FOLLOW_UP.as_bytes());
        let next = c.response();
        assert_eq!(
            (next.status, next.json()["object"].clone()),
            (200, "list".into())
        );
    }
    // And a proxied request on the same connection still reaches the upstream.
    c.write(&post(
        "/v1/chat/completions",
        "",
        r#"{"model":"mock/m","messages":[]}"#,
    ));
    assert_eq!(c.response().body, br#"{"upstream":true}"#);
    assert_eq!(up.next_request().target, "/v1/chat/completions");
}

#[test]
fn a_body_too_large_to_drop_closes_the_connection() {
    let up = recording_upstream();
    let gw = gateway(&up);
    // Over the 1 MiB the gateway reads and drops: answered, then closed, unread.
    let mut c = gw.connect();
    c.write(b"POST /v1/nosuch HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
    c.write(SMUGGLED.as_bytes());
    let resp = c.response();
    assert_eq!((resp.status, resp.code()), (404, 2002));
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(c.is_closed());
    // A chunked body that grows past the bound while being dropped also closes.
    let mut c = gw.connect();
    let chunk = "a".repeat(600_000);
    let raw = format!(
        "POST /v1/nosuch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{n:x}\r\n{chunk}\r\n{n:x}\r\n{chunk}\r\n0\r\n\r\n{SMUGGLED}",
        n = chunk.len()
    );
    c.write(raw.as_bytes());
    assert_eq!(c.response().status, 404);
    assert!(c.is_closed());
    assert!(up.saw_nothing());
}

#[test]
fn an_early_refusal_of_a_client_waiting_for_100_continue_closes() {
    let up = recording_upstream();
    let gw = gateway(&up);
    let mut c = gw.connect();
    c.write(b"POST /v1/nosuch HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 55\r\n\r\n");
    let resp = c.response();
    assert_eq!((resp.status, resp.code()), (404, 2002));
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(c.is_closed());
    assert!(up.saw_nothing());
}

#[test]
fn malformed_body_while_dropping_closes_the_connection() {
    let up = recording_upstream();
    let gw = gateway(&up);
    let mut c = gw.connect();
    let raw = format!(
        "POST /v1/nosuch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{SMUGGLED}"
    );
    c.write(raw.as_bytes());
    assert_eq!(c.response().status, 404);
    assert!(c.is_closed());
    assert!(up.saw_nothing());
}

/// RFC 9112 framing vectors: refused, or read as the RFC says; never a smuggled request.
#[test]
fn framing_vectors_never_smuggle() {
    let up = recording_upstream();
    let gw = gateway(&up);
    let body = r#"{"model":"mock/m"}"#;
    let path = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n";
    let vectors: Vec<(&str, String)> = vec![
        (
            "CL and TE: read chunked, then close",
            format!(
                "{path}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n{SMUGGLED}",
                body.len()
            ),
        ),
        (
            "two different lengths",
            format!("{path}Content-Length: 18\r\nContent-Length: 70\r\n\r\n{body}{SMUGGLED}"),
        ),
        (
            "a signed length",
            format!("{path}Content-Length: +18\r\n\r\n{body}{SMUGGLED}"),
        ),
        (
            "TE with a coding after chunked",
            format!("{path}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{SMUGGLED}"),
        ),
        (
            "TE obfuscated",
            format!("{path}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{SMUGGLED}"),
        ),
        (
            "TE split over two lines",
            format!("{path}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n{SMUGGLED}"),
        ),
        (
            "chunk size overflow",
            format!("{path}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\n{SMUGGLED}"),
        ),
        (
            "bare LF in the chunk line",
            format!("{path}Transfer-Encoding: chunked\r\n\r\n12\n{body}\r\n0\r\n\r\n{SMUGGLED}"),
        ),
        (
            "whitespace before the colon",
            format!("{path}Transfer-Encoding : chunked\r\nContent-Length: 18\r\n\r\n{body}{SMUGGLED}"),
        ),
    ];
    for (what, raw) in vectors {
        let mut c = gw.connect();
        c.write(raw.as_bytes());
        let resp = c.response();
        assert!(
            resp.status == 200 || (400..=501).contains(&resp.status),
            "{what}: {}",
            resp.status
        );
        // Whatever the first answer, the connection ends there: the smuggled bytes are
        // never read as a request.
        assert!(c.is_closed(), "{what}: connection left open");
        assert_nothing_smuggled(&up);
    }
}
