//! Retries and the request timeout end to end on loopback: attempts and backoff delays
//! (lower bounds), what is retried and what is not, time to first byte vs a started stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const CHAT: &str = r#"{"model":"mock/m","messages":[{"role":"user","content":"hi"}]}"#;
const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(w: &mut dyn Write, data: &[u8]) {
    write!(w, "{:x}\r\n", data.len()).unwrap();
    w.write_all(data).unwrap();
    w.write_all(b"\r\n").unwrap();
    w.flush().unwrap();
}

fn chat(gw: &Gateway, headers: &str, body: &str) -> Response {
    gw.send(&post("/v1/chat/completions", headers, body))
}

fn gateway_settings(settings: &str) -> String {
    format!("[[gateway]]\nid = \"default\"\n{settings}\n")
}

/// An upstream that answers 503 to its first `failures` requests, then 200, and records when
/// each request arrived.
fn failing_first(failures: usize) -> (Upstream, Arc<Mutex<Vec<Instant>>>) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let up = Upstream::start(move |_, w| {
        let mut arrivals = seen.lock().unwrap();
        arrivals.push(Instant::now());
        if arrivals.len() <= failures {
            write_json(w, 503, r#"{"error":"busy"}"#);
        } else {
            write_json(w, 200, r#"{"ok":true}"#);
        }
        After::KeepAlive
    });
    (up, arrivals)
}

#[test]
fn retries_wait_the_backoff_delays() {
    for (backoff, expected_ms) in [
        ("constant", [40, 40, 40]),
        ("linear", [40, 80, 120]),
        ("exponential", [40, 80, 160]),
    ] {
        let (up, arrivals) = failing_first(3);
        let gw = Gateway::start(&config_for(&up, ""));
        let headers = format!(
            "cf-aig-max-attempts: 4\r\ncf-aig-retry-delay: 40\r\ncf-aig-backoff: {backoff}\r\n"
        );
        let resp = chat(&gw, &headers, CHAT);
        assert_eq!(resp.status, 200, "{backoff}");
        assert_eq!(resp.body, br#"{"ok":true}"#);
        let arrivals = arrivals.lock().unwrap();
        assert_eq!(arrivals.len(), 4, "{backoff}");
        for (i, expected) in expected_ms.iter().enumerate() {
            let gap = arrivals[i + 1] - arrivals[i];
            assert!(
                gap >= Duration::from_millis(*expected),
                "{backoff}: gap {i} was {gap:?}, expected at least {expected} ms"
            );
        }
    }
}

#[test]
fn retries_stop_at_max_attempts_and_pass_the_last_answer() {
    let (up, arrivals) = failing_first(usize::MAX);
    let gw = Gateway::start(&config_for(
        &up,
        &gateway_settings("retry = { max_attempts = 3, delay_ms = 0 }"),
    ));
    let resp = chat(&gw, "", CHAT);
    assert_eq!(resp.status, 503);
    assert_eq!(resp.body, br#"{"error":"busy"}"#);
    assert_eq!(arrivals.lock().unwrap().len(), 3);
    // A 4xx other than 429 is the client's problem: not retried.
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| {
        seen.fetch_add(1, Ordering::SeqCst);
        write_json(w, 400, r#"{"error":"bad"}"#);
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = chat(&gw, "cf-aig-max-attempts: 3\r\n", CHAT);
    assert_eq!(resp.status, 400);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn connection_failures_and_429_are_retried() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| match seen.fetch_add(1, Ordering::SeqCst) {
        // Closed without a response byte.
        0 => After::Close,
        1 => {
            write_json(w, 429, r#"{"error":"slow down"}"#);
            After::KeepAlive
        }
        _ => {
            write_json(w, 200, r#"{"ok":true}"#);
            After::KeepAlive
        }
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = chat(&gw, "cf-aig-max-attempts: 3\r\n", CHAT);
    assert_eq!(resp.status, 200);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn a_started_response_is_never_retried() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| {
        seen.fetch_add(1, Ordering::SeqCst);
        w.write_all(SSE_HEAD).unwrap();
        chunk(w, b"data: first\n\n");
        // Cut mid-stream.
        After::Close
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = chat(&gw, "cf-aig-max-attempts: 3\r\n", CHAT);
    assert_eq!(resp.status, 200);
    assert!(!resp.complete, "the cut shows");
    assert_eq!(resp.body, b"data: first\n\n");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn timeout_before_the_first_byte_is_504_2011() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let up = Upstream::start(move |_, w| {
        // Answers only after the test saw the gateway give up.
        let _ = release_rx.lock().unwrap().recv_timeout(WAIT);
        write_json(w, 200, r#"{"late":true}"#);
        After::Close
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let started = Instant::now();
    let resp = chat(&gw, "cf-aig-request-timeout: 100\r\n", CHAT);
    assert_eq!(resp.status, 504);
    assert_eq!(resp.code(), 2011);
    assert!(started.elapsed() >= Duration::from_millis(100));
    release_tx.send(()).unwrap();
}

#[test]
fn a_slow_but_started_stream_is_not_cut_by_the_timeout() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let up = Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        chunk(w, b"data: first\n\n");
        go_rx.lock().unwrap().recv_timeout(WAIT).unwrap();
        chunk(w, b"data: second\n\n");
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(
        &up,
        &gateway_settings("request_timeout_ms = 100"),
    ));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", CHAT));
    let head = c.response_head();
    assert_eq!(head.status, 200);
    assert_eq!(c.chunk().unwrap(), b"data: first\n\n");
    // Time passing, not synchronisation: the stream outlives the timeout threefold.
    std::thread::sleep(Duration::from_millis(300));
    go_tx.send(()).unwrap();
    assert_eq!(c.chunk().unwrap(), b"data: second\n\n");
    assert_eq!(c.chunk().unwrap(), b"", "complete");
}
