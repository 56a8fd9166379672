//! Tests of response head parsing: framing by status and headers, keep-alive,
//! limits and heads shaped like OpenAI's.

use super::*;

/// A head shaped like OpenAI's answer to a streaming chat completion.
const OPENAI_STREAM_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Tue, 14 Jan 2025 10:00:00 GMT\r\n\
Content-Type: text/event-stream; charset=utf-8\r\n\
Transfer-Encoding: chunked\r\n\
Connection: keep-alive\r\n\
access-control-expose-headers: X-Request-ID\r\n\
openai-organization: user-abc123\r\n\
openai-processing-ms: 182\r\n\
openai-version: 2020-10-01\r\n\
x-ratelimit-limit-requests: 10000\r\n\
x-ratelimit-remaining-requests: 9999\r\n\
x-ratelimit-reset-requests: 6ms\r\n\
x-request-id: req_0123456789abcdef0123456789abcdef\r\n\
strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n\
cf-cache-status: DYNAMIC\r\n\
X-Content-Type-Options: nosniff\r\n\
Server: cloudflare\r\n\
CF-RAY: 9012345678abcdef-FRA\r\n\
alt-svc: h3=\":443\"; ma=86400\r\n\r\n";

fn complete(buf: &[u8], was_head: bool) -> ResponseHead {
    match parse_response_head(buf, was_head) {
        Ok(Some(head)) => head,
        other => panic!("expected a complete head, got {other:?}"),
    }
}

fn framing(buf: &[u8]) -> ResponseFraming {
    complete(buf, false).framing
}

#[test]
fn openai_streaming_head() {
    let head = complete(OPENAI_STREAM_HEAD, false);
    assert_eq!(
        (head.status, head.reason.as_str(), head.minor_version),
        (200, "OK", 1)
    );
    assert_eq!(head.framing, ResponseFraming::Chunked);
    assert!(head.keep_alive);
    assert_eq!(head.head_len, OPENAI_STREAM_HEAD.len());
    assert_eq!(head.headers.len(), 18);
    assert_eq!(
        head.header("content-type"),
        Some(&b"text/event-stream; charset=utf-8"[..])
    );
    assert_eq!(
        head.header("X-Request-Id"),
        Some(&b"req_0123456789abcdef0123456789abcdef"[..])
    );
    assert!(!head.is_informational());
}

#[test]
fn split_at_every_byte_is_incomplete() {
    for cut in 0..OPENAI_STREAM_HEAD.len() {
        assert_eq!(
            parse_response_head(&OPENAI_STREAM_HEAD[..cut], false),
            Ok(None),
            "cut at {cut}"
        );
    }
}

#[test]
fn content_length_framing() {
    let buf = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 799\r\n\r\n{";
    let head = complete(buf, false);
    assert_eq!(head.framing, ResponseFraming::Length(799));
    assert_eq!(head.head_len, buf.len() - 1);
    assert_eq!(
        framing(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        ResponseFraming::Empty
    );
}

#[test]
fn bodiless_statuses_and_head_requests() {
    for status in [100, 101, 103, 199, 204, 304] {
        let buf = format!("HTTP/1.1 {status} X\r\nContent-Length: 10\r\n\r\n");
        assert_eq!(framing(buf.as_bytes()), ResponseFraming::Empty, "{status}");
    }
    let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    let head = complete(buf, true);
    assert_eq!(head.framing, ResponseFraming::Empty);
    assert!(head.keep_alive);
    let buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(complete(buf, true).framing, ResponseFraming::Empty);
}

#[test]
fn informational_is_recognised() {
    let buf = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let interim = complete(buf, false);
    assert!(interim.is_informational());
    assert_eq!(interim.reason, "Continue");
    let last = complete(&buf[interim.head_len..], false);
    assert_eq!(
        (last.status, last.framing),
        (200, ResponseFraming::Length(2))
    );
}

#[test]
fn no_length_means_close_delimited() {
    let head = complete(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
        false,
    );
    assert_eq!(head.framing, ResponseFraming::Close);
    assert!(!head.keep_alive);
}

#[test]
fn transfer_encoding_not_ending_in_chunked_is_close_delimited() {
    let head = complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false);
    assert_eq!(head.framing, ResponseFraming::Close);
    assert!(!head.keep_alive);
    let buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n";
    assert!(matches!(
        parse_response_head(buf, false),
        Err(HttpError::Malformed(_))
    ));
}

#[test]
fn te_and_cl_is_chunked_without_keep_alive() {
    let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = complete(buf, false);
    assert_eq!(head.framing, ResponseFraming::Chunked);
    assert!(!head.keep_alive);
}

#[test]
fn http10_transfer_encoding_is_close_delimited() {
    let buf = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = complete(buf, false);
    assert_eq!(head.framing, ResponseFraming::Close);
    assert!(!head.keep_alive);
}

#[test]
fn keep_alive_rules() {
    assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", false).keep_alive);
    let buf = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n";
    assert!(!complete(buf, false).keep_alive);
    assert!(!complete(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false).keep_alive);
    let buf = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n";
    let head = complete(buf, false);
    assert!(head.keep_alive);
    assert_eq!(head.connection_tokens, ["keep-alive"]);
}

#[test]
fn malformed_responses() {
    let cases: [&[u8]; 9] = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: b\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"HTTP/1.1 600 High\r\n\r\n",
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
    ];
    for buf in cases {
        assert!(
            matches!(
                parse_response_head(buf, false),
                Err(HttpError::Malformed(_))
            ),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
    assert_eq!(
        parse_response_head(b"HTTP/2 200 OK\r\n\r\n", false),
        Err(HttpError::UnsupportedVersion)
    );
    assert!(matches!(
        parse_response_head(b"XTTP/1.1 200 OK\r\n\r\n", false),
        Err(HttpError::Malformed(_))
    ));
}

#[test]
fn missing_reason_is_empty() {
    let head = complete(b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false);
    assert_eq!((head.status, head.reason.as_str()), (404, ""));
}

#[test]
fn oversized_head_is_refused() {
    let mut buf = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    buf.resize(MAX_RESPONSE_HEAD_BYTES, b'p');
    assert_eq!(
        parse_response_head(&buf[..MAX_RESPONSE_HEAD_BYTES - 1], false),
        Ok(None)
    );
    assert_eq!(
        parse_response_head(&buf, false),
        Err(HttpError::HeadersTooLarge)
    );
}
