//! Stale pooled upstream connections through the gateway: bytes an upstream sends
//! unasked are never a client's answer, and the resend rule for requests lost on reuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::collections::HashMap;
use std::sync::{mpsc, Mutex};

/// Answers with its own connection number; the second request on any connection is
/// read and dropped unanswered, as when an upstream closes an idle connection just as
/// it is reused.
fn upstream_losing_the_second_request() -> Upstream {
    let per_conn = Mutex::new(HashMap::<usize, usize>::new());
    Upstream::start(move |seen, w| {
        let mut counts = per_conn.lock().unwrap();
        let n = counts.entry(seen.conn).or_insert(0);
        *n += 1;
        if *n == 2 {
            return After::Close;
        }
        write_json(w, 200, &format!("{{\"conn\":{}}}", seen.conn));
        After::KeepAlive
    })
}

/// Sends `raw` twice on one client connection; returns the second response.
fn second_of_two(gw: &Gateway, raw: &[u8]) -> Response {
    let mut c = gw.connect();
    c.write(raw);
    assert_eq!(c.response().status, 200);
    c.write(raw);
    c.response()
}

#[test]
fn post_lost_on_a_reused_connection_is_not_sent_twice() {
    let up = upstream_losing_the_second_request();
    let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
    let resp = second_of_two(
        &gw,
        &post("/v1/chat/completions", "", r#"{"model":"mock/m"}"#),
    );
    assert_eq!(resp.status, 502, "{}", resp.text());
    assert_eq!(resp.code(), 2010);
    assert!(resp.text().contains("not resent"), "{}", resp.text());
    let seen: Vec<usize> = up.received().iter().map(|s| s.conn).collect();
    assert_eq!(
        seen,
        vec![0, 0],
        "the upstream got the POST once, never again"
    );
}

#[test]
fn post_with_an_idempotency_key_is_resent_on_a_new_connection() {
    for header in ["Idempotency-Key", "X-Idempotency-Key"] {
        let up = upstream_losing_the_second_request();
        let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
        let headers = format!("{header}: req-42\r\n");
        let raw = post("/v1/chat/completions", &headers, r#"{"model":"mock/m"}"#);
        let resp = second_of_two(&gw, &raw);
        assert_eq!(resp.status, 200, "{header}: {}", resp.text());
        assert_eq!(resp.json()["conn"], 1);
        let seen: Vec<usize> = up.received().iter().map(|s| s.conn).collect();
        assert_eq!(
            seen,
            vec![0, 0, 1],
            "{header}: resent once, on a new connection"
        );
    }
}

#[test]
fn get_lost_on_a_reused_connection_is_resent() {
    let up = upstream_losing_the_second_request();
    let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
    let raw = b"GET /v1/a/default/mock/models HTTP/1.1\r\nhost: gw\r\n\r\n";
    let resp = second_of_two(&gw, raw);
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["conn"], 1);
    let seen: Vec<usize> = up.received().iter().map(|s| s.conn).collect();
    assert_eq!(seen, vec![0, 0, 1]);
}

#[test]
fn bytes_sent_unasked_on_an_idle_connection_never_answer_the_next_request() {
    // After its first answer the upstream waits until the client has that answer (the
    // connection is back in the pool, idle for no time at all), then sends a second,
    // unrequested response on it.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (sent_tx, sent_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let up = Upstream::start(move |seen, w| {
        write_json(w, 200, &format!("{{\"conn\":{}}}", seen.conn));
        w.flush().unwrap();
        if seen.conn == 0 {
            go_rx.lock().unwrap().recv().unwrap();
            write_json(w, 200, r#"{"unrequested":true}"#);
            w.flush().unwrap();
            sent_tx.send(()).unwrap();
        }
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
    let raw = post("/v1/chat/completions", "", r#"{"model":"mock/m"}"#);
    let mut c = gw.connect();
    c.write(&raw);
    assert_eq!(c.response().json()["conn"], 0);
    go_tx.send(()).unwrap();
    sent_rx.recv().unwrap();
    c.write(&raw);
    let resp = c.response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["conn"], 1, "{}", resp.text());
    assert_eq!(up.accept_count(), 2);
}
