//! Streaming pass-through: SSE delivered event by event (the upstream waits for the
//! client to see each one), hang-ups in both directions, and close-delimited bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::io::Write;
use std::sync::mpsc;
use std::sync::Mutex;

const STREAM_REQ: &str = r#"{"model":"mock/m","stream":true,"messages":[]}"#;
const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(w: &mut dyn Write, data: &[u8]) {
    write!(w, "{:x}\r\n", data.len()).unwrap();
    w.write_all(data).unwrap();
    w.write_all(b"\r\n").unwrap();
    w.flush().unwrap();
}

#[test]
fn events_arrive_one_by_one() {
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let ack_rx = Mutex::new(ack_rx);
    let up = Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        for i in 0..5 {
            chunk(w, format!("data: {{\"i\":{i}}}\n\n").as_bytes());
            // The next event is sent only once the client has received this one:
            // any buffering in the gateway would deadlock here and fail the test.
            ack_rx.lock().unwrap().recv_timeout(WAIT).unwrap();
        }
        chunk(w, b"data: [DONE]\n\n");
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", STREAM_REQ));
    let head = c.response_head();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    for i in 0..5 {
        let event = c.chunk().unwrap();
        assert_eq!(event, format!("data: {{\"i\":{i}}}\n\n").as_bytes());
        ack_tx.send(()).unwrap();
    }
    assert_eq!(c.chunk().unwrap(), b"data: [DONE]\n\n");
    assert_eq!(c.chunk().unwrap(), b"", "terminating chunk");
    // Keep-alive after a complete stream.
    drop(ack_tx);
}

#[test]
fn recorded_stream_arrives_byte_for_byte() {
    let fixture: &'static [u8] = include_bytes!("fixtures/openai/chat-stream-text.sse");
    let up = Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        for event in fixture
            .split_inclusive(|&b| b == b'\n')
            .collect::<Vec<_>>()
            .chunks(2)
        {
            chunk(w, &event.concat());
        }
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = gw.send(&post("/v1/chat/completions", "", STREAM_REQ));
    assert!(resp.complete);
    assert_eq!(resp.body, fixture);
}

#[test]
fn client_hang_up_closes_the_upstream_at_once() {
    let up = Upstream::start(|_, w| {
        w.write_all(SSE_HEAD).unwrap();
        chunk(w, b"data: first\n\n");
        // Leave the stream open: the harness now waits for the next request or EOF.
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", STREAM_REQ));
    assert_eq!(c.response_head().status, 200);
    assert_eq!(c.chunk().unwrap(), b"data: first\n\n");
    drop(c);
    // The gateway must notice and close its upstream connection without waiting
    // for the upstream to send anything more.
    assert_eq!(up.next_closed(), 0);
}

#[test]
fn upstream_death_mid_stream_cuts_the_response() {
    let up = Upstream::start(|_, w| {
        w.write_all(SSE_HEAD).unwrap();
        chunk(w, b"data: only\n\n");
        After::Close
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", STREAM_REQ));
    let resp = c.response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"data: only\n\n");
    assert!(
        !resp.complete,
        "a cut stream must not end with the last chunk"
    );
    assert!(c.is_closed());
}

#[test]
fn short_content_length_body_closes_the_client() {
    let up = Upstream::start(|_, w| {
        w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
            .unwrap();
        After::Close
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", STREAM_REQ));
    let head = c.response_head();
    assert_eq!(head.header("content-length"), Some("100"));
    let mut got = Vec::new();
    use std::io::Read;
    let _ = c.reader.read_to_end(&mut got);
    assert_eq!(got, b"only ten b");
}

#[test]
fn close_delimited_upstream_goes_out_chunked() {
    let up = Upstream::start(|_, w| {
        w.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
            .unwrap();
        w.write_all(b"data: a\n\n").unwrap();
        w.flush().unwrap();
        w.write_all(b"data: b\n\n").unwrap();
        After::Close
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(&post("/v1/chat/completions", "", STREAM_REQ));
    let resp = c.response();
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert!(resp.complete, "clean EOF ends with the last chunk");
    assert_eq!(resp.body, b"data: a\n\ndata: b\n\n");
}
