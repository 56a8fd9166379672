//! The client and upstream deadlines end to end, configured short: a trickled head and a
//! stalled body get 408, a client that stops reading is closed with its upstream, a silent
//! upstream is 504, a stalled stream is cut; each expiry is counted in `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;
mod limits_support;

use common::*;
use limits_support::Observed;
use std::io::{Read, Write};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

const CHAT: &str = r#"{"model":"mock/m","messages":[{"role":"user","content":"hi"}]}"#;
const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(w: &mut dyn Write, data: &[u8]) -> std::io::Result<()> {
    write!(w, "{:x}\r\n", data.len())?;
    w.write_all(data)?;
    w.write_all(b"\r\n")?;
    w.flush()
}

/// The gateway in front of `up` with these `[server]` and `[upstream]` lines.
fn gateway(up: &Upstream, server: &str, upstream: &str) -> Observed {
    Observed::start(&config_for(
        up,
        &format!("[server]\n{server}\n[upstream]\n{upstream}\n"),
    ))
}

/// An upstream that answers only once the test lets it (or after `WAIT`).
fn held_upstream(before: &'static [u8]) -> (Upstream, mpsc::Sender<()>) {
    let (release, held) = mpsc::channel::<()>();
    let held = Mutex::new(held);
    let up = Upstream::start(move |_, w| {
        let _ = w.write_all(before);
        let _ = w.flush();
        let _ = held.lock().unwrap().recv_timeout(WAIT);
        let _ = chunk(w, b"data: late\n\n");
        After::Close
    });
    (up, release)
}

#[test]
fn a_trickled_head_gets_408_at_the_header_deadline_then_close() {
    let up = Upstream::fixed(200, "application/json", b"{}");
    // Each byte comes well within the idle timeout: only a whole-head deadline ends it.
    let gw = gateway(
        &up,
        "client_header_timeout_s = 1\nclient_idle_timeout_s = 60",
        "",
    );
    let mut c = gw.connect();
    let mut trickle = c.reader.get_ref().try_clone().unwrap();
    let started = Instant::now();
    let writer = std::thread::spawn(move || {
        for &byte in b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nx-slow: 1234567890\r\n" {
            if trickle.write_all(&[byte]).is_err() {
                return;
            }
            // Pacing the client, not synchronising with the gateway.
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let resp = c.response();
    assert_eq!(resp.status, 408);
    assert_eq!(resp.code(), 2003);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(c.is_closed(), "closed after the 408");
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(up.saw_nothing());
    assert_eq!(
        gw.wait_metric(r#"sluice_timeouts_total{kind="client_header"}"#, |v| v
            >= 1.0),
        1.0
    );
    writer.join().unwrap();
}

#[test]
fn an_idle_keep_alive_connection_still_closes_silently() {
    let up = Upstream::fixed(200, "application/json", b"{}");
    let gw = gateway(
        &up,
        "client_header_timeout_s = 60\nclient_idle_timeout_s = 1",
        "",
    );
    let mut c = gw.connect();
    // No byte sent: the idle timeout closes the connection without an answer.
    let mut rest = Vec::new();
    c.reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert_eq!(gw.timeouts("client_header"), 0.0);
}

#[test]
fn a_stalled_body_gets_408_then_close() {
    let up = Upstream::fixed(200, "application/json", b"{}");
    let gw = gateway(&up, "client_body_timeout_s = 1", "");
    let mut c = gw.connect();
    c.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-length: 100\r\n\r\n{\"model\":",
    );
    let resp = c.response();
    assert_eq!(resp.status, 408);
    assert_eq!(resp.code(), 2003);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(c.is_closed());
    assert!(up.saw_nothing());
    gw.wait_metric(r#"sluice_timeouts_total{kind="client_body"}"#, |v| v == 1.0);
}

#[test]
fn a_client_that_stops_reading_is_closed_and_so_is_its_upstream_connection() {
    // An endless stream: the upstream writes until its connection is closed under it.
    let up = Upstream::start(|_, w| {
        if w.write_all(SSE_HEAD).is_ok() {
            let event = [b'x'; 64 * 1024];
            for _ in 0..100_000 {
                if chunk(w, &event).is_err() {
                    break;
                }
            }
        }
        After::Close
    });
    let gw = gateway(&up, "client_send_timeout_s = 1", "");
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", CHAT));
    // Not reading: the socket buffers fill, the gateway's write stalls, and its deadline
    // closes the client and the upstream connection (the upstream sees it closed).
    assert_eq!(up.next_closed(), 0);
    gw.wait_metric(r#"sluice_timeouts_total{kind="client_send"}"#, |v| v >= 1.0);
    // What was buffered still arrives, then EOF: the stream is cut, never terminated.
    let mut got = Vec::new();
    let _ = c.reader.read_to_end(&mut got);
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &got[..got.len().min(64)]
    );
    assert!(
        !got.ends_with(b"0\r\n\r\n"),
        "a cut stream has no last chunk"
    );
    assert_eq!(up.accept_count(), 1);
}

#[test]
fn a_silent_upstream_is_504_2011_after_the_first_byte_timeout() {
    let (up, release) = held_upstream(b"");
    let gw = gateway(&up, "", "first_byte_timeout_s = 1");
    let started = Instant::now();
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", CHAT));
    let resp = c.response();
    assert_eq!(resp.status, 504);
    assert_eq!(resp.code(), 2011);
    assert!(started.elapsed() >= Duration::from_secs(1));
    gw.wait_metric(
        r#"sluice_timeouts_total{kind="upstream_first_byte"}"#,
        |v| v == 1.0,
    );
    // The gateway gave up on that connection: the upstream sees it closed.
    release.send(()).unwrap();
    assert_eq!(up.next_closed(), 0);
}

#[test]
fn a_shorter_request_timeout_wins_and_is_not_counted_as_first_byte() {
    let (up, release) = held_upstream(b"");
    let gw = gateway(&up, "", "first_byte_timeout_s = 60");
    let resp = gw.connect_and_send(&post(
        "/v1/chat/completions",
        "cf-aig-request-timeout: 100\r\n",
        CHAT,
    ));
    assert_eq!(resp.status, 504);
    assert_eq!(resp.code(), 2011);
    assert_eq!(gw.timeouts("upstream_first_byte"), 0.0);
    release.send(()).unwrap();
}

#[test]
fn a_stalled_stream_is_cut_at_the_idle_timeout() {
    let mut head = SSE_HEAD.to_vec();
    chunk(&mut head, b"data: first\n").unwrap();
    let (up, release) = held_upstream(head.leak());
    let gw = gateway(&up, "", "stream_idle_timeout_s = 1");
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", CHAT));
    let resp = c.response_head();
    assert_eq!(resp.status, 200);
    assert_eq!(c.chunk().unwrap(), b"data: first\n");
    // Nothing more for a second: the gateway ends the stream without its last chunk.
    assert_eq!(c.chunk(), None, "cut");
    assert!(c.is_closed());
    gw.wait_metric(r#"sluice_timeouts_total{kind="upstream_idle"}"#, |v| {
        v == 1.0
    });
    release.send(()).unwrap();
}
