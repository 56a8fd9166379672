//! The Universal endpoint on loopback: steps tried in order with `cf-aig-step`, provider-
//! native paths and bodies, header precedence, per-step config, streaming steps, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

const PATH: &str = "/v1/acct/default";

/// A provider `name` pointing at `addr`, with a stored key.
fn provider(name: &str, addr: impl std::fmt::Display) -> String {
    format!("[provider.{name}]\nbase_url = \"http://{addr}/v1\"\nkeys = {{ default = \"sk-{name}\" }}\n")
}

/// An address nothing listens on (bound, then closed).
fn dead_addr() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn answering(status: u16, body: &'static str) -> (Upstream, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| {
        seen.fetch_add(1, Ordering::SeqCst);
        write_json(w, status, body);
        After::KeepAlive
    });
    (up, count)
}

fn step(provider: &str, extra: &str) -> String {
    format!(
        r#"{{"provider":"{provider}","endpoint":"chat/completions","query":{{"model":"m-{provider}","messages":[]}}{extra}}}"#
    )
}

#[test]
fn steps_are_tried_in_order_until_one_answers() {
    let (failing, failing_count) = answering(500, r#"{"error":"down"}"#);
    let (good, good_count) = answering(200, r#"{"ok":"c"}"#);
    let (unused, unused_count) = answering(200, r#"{"ok":"d"}"#);
    let config = [
        provider("a", failing.addr),
        provider("b", dead_addr()),
        provider("c", good.addr),
        provider("d", unused.addr),
    ]
    .concat();
    let gw = Gateway::start(&config);
    let body = format!(
        "[{},{},{},{}]",
        step("a", ""),
        step("b", ""),
        step("c", ""),
        step("d", "")
    );
    let resp = gw.send(&post(PATH, "", &body));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cf-aig-step"), Some("2"));
    assert_eq!(resp.body, br#"{"ok":"c"}"#);
    assert_eq!(failing_count.load(Ordering::SeqCst), 1);
    assert_eq!(good_count.load(Ordering::SeqCst), 1);
    assert_eq!(unused_count.load(Ordering::SeqCst), 0);
    // Step c got the provider-native request: its base + endpoint, the query as body, its key.
    let _ = failing.next_request();
    let seen = good.next_request();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/v1/chat/completions");
    assert_eq!(seen.body, br#"{"model":"m-c","messages":[]}"#);
    assert_eq!(seen.header("authorization"), Some("Bearer sk-c"));
}

#[test]
fn the_first_step_that_works_answers_with_index_zero() {
    let (a, a_count) = answering(200, r#"{"ok":"a"}"#);
    let (b, b_count) = answering(200, r#"{"ok":"b"}"#);
    let gw = Gateway::start(&[provider("a", a.addr), provider("b", b.addr)].concat());
    let body = format!("[{},{}]", step("a", ""), step("b", ""));
    let resp = gw.send(&post(PATH, "", &body));
    assert_eq!(resp.header("cf-aig-step"), Some("0"));
    assert_eq!(resp.body, br#"{"ok":"a"}"#);
    assert_eq!(
        (
            a_count.load(Ordering::SeqCst),
            b_count.load(Ordering::SeqCst)
        ),
        (1, 0)
    );
}

#[test]
fn the_last_steps_error_passes_through_when_all_fail() {
    let (a, _) = answering(503, r#"{"error":"a"}"#);
    let (b, _) = answering(401, r#"{"error":"b"}"#);
    let gw = Gateway::start(&[provider("a", a.addr), provider("b", b.addr)].concat());
    let body = format!("[{},{}]", step("a", ""), step("b", ""));
    let resp = gw.send(&post(PATH, "", &body));
    assert_eq!(resp.status, 401);
    assert_eq!(resp.header("cf-aig-step"), Some("1"));
    assert_eq!(resp.body, br#"{"error":"b"}"#);
    // A last step that cannot connect is the gateway's 502.
    let gw = Gateway::start(&[provider("a", a.addr), provider("b", dead_addr())].concat());
    let resp = gw.send(&post(PATH, "", &body));
    assert_eq!(resp.status, 502);
    assert_eq!(resp.code(), 2010);
}

#[test]
fn step_headers_win_over_request_headers_and_step_config_over_both() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen_count = count.clone();
    let up = Upstream::start(move |_, w| {
        if seen_count.fetch_add(1, Ordering::SeqCst) == 0 {
            write_json(w, 503, r#"{"error":"busy"}"#);
        } else {
            write_json(w, 200, r#"{"ok":true}"#);
        }
        After::KeepAlive
    });
    let gw = Gateway::start(&provider("a", up.addr));
    // The request asks for one attempt; the step's config asks for two, and wins.
    let body = format!(
        "[{}]",
        step(
            "a",
            r#","headers":{"x-team":"step","authorization":"Bearer sk-step"},"config":{"maxAttempts":2,"retryDelay":0,"backoff":"linear"}"#
        )
    );
    let headers = "x-team: request\r\nx-only-request: kept\r\ncf-aig-max-attempts: 1\r\n";
    let resp = gw.send(&post(PATH, headers, &body));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cf-aig-step"), Some("0"));
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let seen = up.next_request();
    assert_eq!(seen.header("x-team"), Some("step"));
    assert_eq!(seen.header("x-only-request"), Some("kept"));
    assert_eq!(seen.header("authorization"), Some("Bearer sk-step"));
    assert_eq!(seen.header("cf-aig-max-attempts"), None);
    // Step headers carry controls too: a step-level skip of a cache the request asked for.
    let body = format!(
        "[{}]",
        step("a", r#","headers":{"cf-aig-skip-cache":"true"}"#)
    );
    let resp = gw.send(&post(PATH, "cf-aig-cache-key: k\r\n", &body));
    assert_eq!(resp.header("cf-aig-cache-status"), None);
}

#[test]
fn a_step_that_times_out_falls_back() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let slow = Upstream::start(move |_, w| {
        let _ = release_rx.lock().unwrap().recv_timeout(WAIT);
        write_json(w, 200, r#"{"late":true}"#);
        After::Close
    });
    let (good, _) = answering(200, r#"{"ok":true}"#);
    let gw = Gateway::start(&[provider("slow", slow.addr), provider("good", good.addr)].concat());
    let body = format!(
        "[{},{}]",
        step("slow", r#","config":{"requestTimeout":100}"#),
        step("good", "")
    );
    let resp = gw.send(&post(PATH, "", &body));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cf-aig-step"), Some("1"));
    release_tx.send(()).unwrap();
}

#[test]
fn a_streaming_step_streams_after_a_fallback() {
    let (a, _) = answering(500, r#"{"error":"down"}"#);
    let stream = Upstream::start(|_, w| {
        w.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
        )
        .unwrap();
        for event in [&b"data: one\n\n"[..], b"data: [DONE]\n\n"] {
            write!(w, "{:x}\r\n", event.len()).unwrap();
            w.write_all(event).unwrap();
            w.write_all(b"\r\n").unwrap();
        }
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let gw = Gateway::start(&[provider("a", a.addr), provider("s", stream.addr)].concat());
    let body = format!("[{},{}]", step("a", ""), step("s", ""));
    let mut c = gw.connect();
    c.write(&post(PATH, "", &body));
    let head = c.response_head();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("cf-aig-step"), Some("1"));
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(c.chunk().unwrap(), b"data: one\n\n");
    assert_eq!(c.chunk().unwrap(), b"data: [DONE]\n\n");
    assert_eq!(c.chunk().unwrap(), b"");
}

#[test]
fn bad_bodies_and_steps_are_refused_before_any_upstream() {
    let (a, count) = answering(200, "{}");
    let gw = Gateway::start(&provider("a", a.addr));
    let cases: &[(&str, u16, i64, &str)] = &[
        ("not json", 400, 2003, "array of steps"),
        (r#"{"provider":"a"}"#, 400, 2003, "array of steps"),
        ("[]", 400, 2003, "no steps"),
        (r#"[{"provider":"a","endpoint":"x"}]"#, 400, 2003, "query"),
        (
            r#"[{"provider":"a","endpoint":"x","query":{},"extra":1}]"#,
            400,
            2003,
            "extra",
        ),
        (
            r#"[{"provider":"nope","endpoint":"x","query":{}}]"#,
            400,
            2008,
            "step 0",
        ),
        (
            r#"[{"provider":"a","endpoint":"x","query":{}},{"provider":"a","endpoint":"x","query":{},"config":{"maxAttempts":9}}]"#,
            400,
            2003,
            "config.maxAttempts",
        ),
        (
            r#"[{"provider":"a","endpoint":"x","query":{},"headers":{"cf-aig-backoff":"sideways"}}]"#,
            400,
            2003,
            "cf-aig-backoff",
        ),
        (
            r#"[{"provider":"a","endpoint":"a b","query":{}}]"#,
            400,
            2003,
            "endpoint",
        ),
    ];
    for (body, status, code, mentions) in cases {
        let resp = gw.send(&post(PATH, "", body));
        assert_eq!(resp.status, *status, "{body}");
        assert_eq!(resp.code(), *code, "{body}");
        let message = resp.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(mentions), "{body}: {message}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 0);
}
