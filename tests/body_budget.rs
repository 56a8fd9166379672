//! The process-wide body budget (`max_buffered_body_bytes`) end to end: while one slow
//! upload holds it, another request gets 503 with `Retry-After`; once the holder is done
//! (or gone) its share comes back and the next request is answered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;
mod limits_support;

use common::*;
use limits_support::Observed;

const HELD: &str = "sluice_buffered_body_bytes";
const REFUSED: &str = "sluice_body_budget_refusals_total";

/// A gateway whose budget holds one 600-byte body but not two.
fn gateway(up: &Upstream) -> Observed {
    Observed::start(&config_for(
        up,
        "[server]\nmax_body_bytes = 1000\nmax_buffered_body_bytes = 1000\n",
    ))
}

/// A JSON chat body of exactly `len` bytes.
fn body(len: usize) -> String {
    let start = r#"{"model":"mock/m","pad":""#;
    let end = r#""}"#;
    format!("{start}{}{end}", "x".repeat(len - start.len() - end.len()))
}

fn assert_refused(resp: &Response) {
    assert_eq!(resp.status, 503);
    assert_eq!(resp.code(), 2020);
    assert_eq!(resp.json()["error"]["type"], "gateway_error");
    assert_eq!(resp.header("retry-after"), Some("1"));
    assert_eq!(resp.header("connection"), Some("close"));
}

#[test]
fn a_content_length_body_is_reserved_up_front_and_released_when_answered() {
    let up = Upstream::fixed(200, "application/json", b"{\"ok\":true}");
    let gw = gateway(&up);
    let whole = post("/v1/chat/completions", "", &body(600));
    let (head_and_some, rest) = whole.split_at(whole.len() - 590);
    let mut holder = gw.connect();
    holder.write(head_and_some);
    gw.wait_metric(HELD, |v| v == 600.0);
    // Refused on its head alone: the reservation is taken before any byte is read.
    let mut other = gw.connect();
    let other_req = post("/v1/chat/completions", "", &body(600));
    let split = other_req.len() - 600;
    other.write(&other_req[..split]);
    let resp = other.response();
    assert_refused(&resp);
    assert!(other.is_closed());
    assert_eq!(gw.metric(REFUSED), 1.0);
    holder.write(rest);
    assert_eq!(holder.response().status, 200);
    gw.wait_metric(HELD, |v| v == 0.0);
    assert_eq!(gw.connect_and_send(&whole).status, 200);
    assert_eq!(gw.metric(REFUSED), 1.0);
}

#[test]
fn a_chunked_body_is_reserved_as_it_grows() {
    let up = Upstream::fixed(200, "application/json", b"{\"ok\":true}");
    let gw = gateway(&up);
    let chunked = |data: &str, last: bool| {
        let mut raw = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ntransfer-encoding: chunked\r\n\r\n\
             {:x}\r\n{data}\r\n",
            data.len()
        );
        if last {
            raw.push_str("0\r\n\r\n");
        }
        raw.into_bytes()
    };
    let big = body(600);
    let mut holder = gw.connect();
    holder.write(&chunked(&big, false));
    gw.wait_metric(HELD, |v| v == 600.0);
    // Its first 500 bytes fit nowhere next to the 600 held.
    let mut other = gw.connect();
    other.write(&chunked(&body(500), false));
    assert_refused(&other.response());
    holder.write(b"0\r\n\r\n");
    assert_eq!(holder.response().status, 200);
    gw.wait_metric(HELD, |v| v == 0.0);
    assert_eq!(gw.connect_and_send(&chunked(&body(900), true)).status, 200);
}

#[test]
fn a_client_gone_mid_body_gives_its_share_back() {
    let up = Upstream::fixed(200, "application/json", b"{\"ok\":true}");
    let gw = gateway(&up);
    let whole = post("/v1/chat/completions", "", &body(900));
    let mut quitter = gw.connect();
    quitter.write(&whole[..whole.len() - 100]);
    gw.wait_metric(HELD, |v| v == 900.0);
    drop(quitter);
    gw.wait_metric(HELD, |v| v == 0.0);
    assert_eq!(gw.connect_and_send(&whole).status, 200);
    assert_eq!(gw.metric(REFUSED), 0.0);
}
