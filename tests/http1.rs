//! HTTP/1.1 on the client side: keep-alive, pipelining, chunked bodies, 100-continue,
//! TE+CL, limits, malformed input, idle timeout; bytes on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

const BODY: &str = r#"{"model":"mock/m","messages":[]}"#;

fn echo_body_upstream() -> Upstream {
    Upstream::start(|seen, w| {
        let body = String::from_utf8(seen.body.clone()).unwrap();
        write_json(w, 200, &body);
        After::KeepAlive
    })
}

#[test]
fn keep_alive_and_pipelining_answer_in_order() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    let mut both = post("/v1/chat/completions", "", r#"{"model":"mock/a"}"#);
    both.extend(post("/v1/chat/completions", "", r#"{"model":"mock/b"}"#));
    c.write(&both);
    assert_eq!(c.response().body, br#"{"model":"a"}"#);
    assert_eq!(c.response().body, br#"{"model":"b"}"#);
    // And the connection stays open for a third.
    c.write(&post("/v1/chat/completions", "", r#"{"model":"mock/c"}"#));
    assert_eq!(c.response().body, br#"{"model":"c"}"#);
}

#[test]
fn chunked_request_body_is_decoded() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        &BODY[..5],
        BODY.len() - 5,
        &BODY[5..]
    );
    let resp = gw.send(raw.as_bytes());
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.body, br#"{"model":"m","messages":[]}"#);
    assert!(seen.header("transfer-encoding").is_none());
}

#[test]
fn expect_continue_is_answered_by_the_gateway() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
            BODY.len()
        )
        .as_bytes(),
    );
    let interim = c.response_head();
    assert_eq!(interim.status, 100);
    c.write(BODY.as_bytes());
    let resp = c.response();
    assert_eq!(resp.status, 200);
    assert!(up.next_request().header("expect").is_none());
}

#[test]
fn expect_continue_refused_gets_no_100() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, "[server]\nmax_body_bytes = 10\n"));
    let mut c = gw.connect();
    c.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 100\r\n\r\n");
    let resp = c.response();
    assert_eq!((resp.status, resp.code()), (413, 2004));
    assert_eq!(resp.header("connection"), Some("close"));
}

#[test]
fn te_and_cl_together_read_chunked_then_close() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{BODY}\r\n0\r\n\r\n",
        BODY.len()
    );
    c.write(raw.as_bytes());
    let resp = c.response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(c.is_closed());
}

#[test]
fn connection_close_is_honoured() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "connection: close\r\n", BODY));
    let resp = c.response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(c.is_closed());
}

#[test]
fn body_over_the_limit_is_413() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, "[server]\nmax_body_bytes = 16\n"));
    let resp = gw.send(&post("/v1/chat/completions", "", BODY));
    assert_eq!((resp.status, resp.code()), (413, 2004));
    // Chunked bodies are counted as they are decoded.
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{BODY}\r\n0\r\n\r\n",
        BODY.len()
    );
    let resp = gw.send(raw.as_bytes());
    assert_eq!((resp.status, resp.code()), (413, 2004));
    // A chunk whose size line alone is over the limit is refused at once, before any of
    // its bytes arrive (no waiting for the body timeout), and the connection closes.
    let mut c = gw.connect();
    c.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n100000\r\n{\"mo");
    let resp = c.response();
    assert_eq!((resp.status, resp.code()), (413, 2004));
    assert!(c.is_closed());
    assert!(up.saw_nothing());
}

#[test]
fn head_over_the_limit_is_431() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, "[server]\nmax_header_bytes = 256\n"));
    let big = format!("x-big: {}\r\n", "a".repeat(300));
    let resp = gw.send(&post("/v1/chat/completions", &big, BODY));
    assert_eq!((resp.status, resp.code()), (431, 2004));
}

#[test]
fn malformed_http_is_400_and_the_worker_serves_on() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: x\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nbad header\r\n\r\n",
    ] {
        let mut c = gw.connect();
        c.write(garbage);
        let resp = c.response();
        assert_eq!(
            (resp.status, resp.code()),
            (400, 2003),
            "{}",
            String::from_utf8_lossy(garbage)
        );
        assert!(c.is_closed());
    }
    let resp = gw.send(&post("/v1/chat/completions", "", BODY));
    assert_eq!(resp.status, 200);
}

#[test]
fn idle_connections_time_out() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, "[server]\nclient_idle_timeout_s = 1\n"));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", BODY));
    assert_eq!(c.response().status, 200);
    // The gateway closes the idle connection by itself (the read blocks until it does).
    let started = std::time::Instant::now();
    assert!(c.is_closed());
    assert!(started.elapsed() < WAIT);
}

#[test]
fn http10_client_gets_a_close_delimited_answer() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let raw = format!(
        "POST /v1/chat/completions HTTP/1.0\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let mut c = gw.connect();
    c.write(raw.as_bytes());
    let resp = c.response();
    assert_eq!(resp.status, 200);
    assert!(c.is_closed());
}

#[test]
fn http10_keep_alive_is_answered_with_keep_alive_and_kept() {
    let up = echo_body_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let request = |model: &str| {
        let body = format!(r#"{{"model":"mock/{model}"}}"#);
        format!(
            "POST /v1/chat/completions HTTP/1.0\r\nConnection: keep-alive\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut c = gw.connect();
    c.write(request("a").as_bytes());
    let proxied = c.response();
    assert_eq!(proxied.body, br#"{"model":"a"}"#);
    assert_eq!(proxied.header("connection"), Some("keep-alive"));
    // A gateway error on the same connection: kept alive and said so, too.
    c.write(b"GET /v1/nosuch HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let refused = c.response();
    assert_eq!(refused.status, 404);
    assert_eq!(refused.header("connection"), Some("keep-alive"));
    c.write(request("b").as_bytes());
    assert_eq!(c.response().body, br#"{"model":"b"}"#);
    // Without the header, HTTP/1.0 closes.
    c.write(
        request("c")
            .replace("Connection: keep-alive\r\n", "")
            .as_bytes(),
    );
    assert_eq!(c.response().header("connection"), Some("close"));
    assert!(c.is_closed());
}
