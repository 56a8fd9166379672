//! Tests of request head parsing: framing rules, limits, split and pipelined input,
//! and heads as real OpenAI SDK clients send them.

use super::*;

const LIMIT: usize = 65536;

/// A head like the one the official OpenAI Python SDK sends for a chat completion.
const OPENAI_SDK_HEAD: &[u8] = b"POST /v1/chat/completions HTTP/1.1\r\n\
Host: 127.0.0.1:8787\r\n\
Accept-Encoding: gzip, deflate\r\n\
Connection: keep-alive\r\n\
Accept: application/json\r\n\
Content-Type: application/json\r\n\
User-Agent: OpenAI/Python 1.54.4\r\n\
X-Stainless-Lang: python\r\n\
X-Stainless-Package-Version: 1.54.4\r\n\
X-Stainless-OS: Linux\r\n\
X-Stainless-Arch: x64\r\n\
X-Stainless-Runtime: CPython\r\n\
X-Stainless-Runtime-Version: 3.12.3\r\n\
Authorization: Bearer sk-test-0000000000000000\r\n\
X-Stainless-Async: false\r\n\
x-stainless-retry-count: 0\r\n\
x-stainless-read-timeout: 600\r\n\
Content-Length: 95\r\n\r\n";

fn parse(buf: &[u8]) -> Result<Option<RequestHead>, HttpError> {
    parse_request_head(buf, LIMIT)
}

fn complete(buf: &[u8]) -> RequestHead {
    match parse(buf) {
        Ok(Some(head)) => head,
        other => panic!("expected a complete head, got {other:?}"),
    }
}

fn malformed(buf: &[u8]) {
    match parse(buf) {
        Err(HttpError::Malformed(_)) => {}
        other => panic!(
            "expected Malformed for {:?}, got {other:?}",
            String::from_utf8_lossy(buf)
        ),
    }
}

#[test]
fn openai_sdk_head() {
    let head = complete(OPENAI_SDK_HEAD);
    assert_eq!(head.method, Method::Post);
    assert_eq!(head.target, "/v1/chat/completions");
    assert_eq!(head.minor_version, 1);
    assert_eq!(head.headers.len(), 17);
    assert_eq!(head.framing, BodyFraming::Length(95));
    assert!(head.keep_alive && head.reuse_connection());
    assert!(!head.expect_continue && !head.close_after_response);
    assert_eq!(head.connection_tokens, ["keep-alive"]);
    assert_eq!(head.head_len, OPENAI_SDK_HEAD.len());
    assert_eq!(
        head.header("authorization"),
        Some(&b"Bearer sk-test-0000000000000000"[..])
    );
    assert_eq!(
        head.header("user-agent"),
        Some(&b"OpenAI/Python 1.54.4"[..])
    );
    assert_eq!(head.header("X-STAINLESS-RETRY-COUNT"), Some(&b"0"[..]));
    assert_eq!(head.headers[5].name, "User-Agent");
}

#[test]
fn openai_sdk_head_split_at_every_byte() {
    for cut in 0..OPENAI_SDK_HEAD.len() {
        assert_eq!(parse(&OPENAI_SDK_HEAD[..cut]), Ok(None), "cut at {cut}");
    }
    assert!(parse(OPENAI_SDK_HEAD).unwrap().is_some());
}

#[test]
fn body_bytes_after_head_are_not_part_of_it() {
    let mut buf = OPENAI_SDK_HEAD.to_vec();
    buf.extend_from_slice(br#"{"model":"gpt-4o-mini"}"#);
    assert_eq!(complete(&buf).head_len, OPENAI_SDK_HEAD.len());
}

#[test]
fn pipelined_requests_parse_one_after_another() {
    let buf = b"GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n\
POST /v1/embeddings HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}\
DELETE /x?y=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let first = complete(buf);
    assert_eq!(
        (first.method.clone(), first.framing),
        (Method::Get, BodyFraming::None)
    );
    let rest = &buf[first.head_len..];
    let second = complete(rest);
    assert_eq!(second.method, Method::Post);
    assert_eq!(second.framing, BodyFraming::Length(2));
    let rest = &rest[second.head_len + 2..];
    let third = complete(rest);
    assert_eq!(third.method, Method::Delete);
    assert_eq!(third.head_len, rest.len());
    assert!(!third.keep_alive);
}

#[test]
fn methods_round_trip() {
    for m in [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND",
    ] {
        let buf = format!("{m} / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(complete(buf.as_bytes()).method.as_str(), m);
    }
    let head = complete(b"get / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(head.method, Method::Other("get".into()));
}

#[test]
fn path_and_query() {
    let head = complete(b"GET /v1/acc/gw/openai/models?limit=2&x=? HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(head.path(), "/v1/acc/gw/openai/models");
    assert_eq!(head.query(), Some("limit=2&x=?"));
    let head = complete(b"GET /plain HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!((head.path(), head.query()), ("/plain", None));
    let head = complete(b"GET http://example.com/v1/models?a=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!((head.path(), head.query()), ("/v1/models", Some("a=1")));
    let head = complete(b"GET http://example.com HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(head.path(), "/");
    let head = complete(b"GET /redirect?to=http://x/y HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(head.path(), "/redirect");
}

#[test]
fn keep_alive_rules() {
    assert!(complete(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
    assert!(!complete(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").keep_alive);
    assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    assert!(!complete(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
}

#[test]
fn expect_continue_only_on_http11() {
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
    assert!(complete(buf).expect_continue);
    let buf = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
    assert!(!complete(buf).expect_continue);
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nContent-Length: 3\r\n\r\n";
    assert!(!complete(buf).expect_continue);
}

#[test]
fn framing_none_length_chunked() {
    assert_eq!(
        complete(b"POST / HTTP/1.1\r\nHost: a\r\n\r\n").framing,
        BodyFraming::None
    );
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(complete(buf).framing, BodyFraming::None);
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = complete(buf);
    assert_eq!(head.framing, BodyFraming::Chunked);
    assert!(!head.close_after_response);
}

#[test]
fn te_and_cl_together_is_chunked_then_close() {
    let buf =
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n";
    let head = complete(buf);
    assert_eq!(head.framing, BodyFraming::Chunked);
    assert!(head.close_after_response && head.keep_alive && !head.reuse_connection());
}

#[test]
fn transfer_encoding_must_end_in_chunked() {
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n");
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    assert_eq!(parse(buf), Err(HttpError::UnsupportedTransferCoding));
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(parse(buf), Err(HttpError::UnsupportedTransferCoding));
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n";
    assert_eq!(complete(buf).framing, BodyFraming::Chunked);
}

#[test]
fn transfer_encoding_on_http10_is_refused() {
    malformed(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
}

#[test]
fn bad_content_length() {
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n");
    malformed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n");
    let buf = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(complete(buf).framing, BodyFraming::Length(5));
}

#[test]
fn host_rules() {
    malformed(b"GET / HTTP/1.1\r\n\r\n");
    malformed(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n");
    assert!(parse(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").unwrap().is_some());
    assert!(parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
}

#[test]
fn only_http_10_and_11() {
    assert_eq!(
        parse(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        Err(HttpError::UnsupportedVersion)
    );
    assert_eq!(
        parse(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
        Err(HttpError::UnsupportedVersion)
    );
    assert!(parse(b"GET / HTTP/0.9\r\n\r\n").is_err());
    malformed(b"GET / FOO/1.1\r\nHost: a\r\n\r\n");
    malformed(b"\r\nGET / XTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(parse(b"GET /\r\n\r\n").is_err());
}

#[test]
fn bare_cr_lf_and_obs_fold_are_malformed() {
    malformed(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n");
    malformed(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n folded\r\n\r\n");
    malformed(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tfolded\r\n\r\n");
    malformed(b"GET / HTTP/1.1\nHost: a\r\n\r\n");
    malformed(b"GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n");
    malformed(b"GET / HTTP/1.1\r\nHost: a\r\n\n");
    malformed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n");
    malformed(b"GET / HTTP/1.1\r\nX-\rA: b\r\nHost: a\r\n\r\n");
    malformed(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n");
    malformed(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n");
    malformed(b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n");
    malformed(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n");
    malformed(b" GET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

#[test]
fn obs_text_in_values_is_kept() {
    let head = complete(b"GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n");
    assert_eq!(head.header("x-name"), Some("café".as_bytes()));
}

#[test]
fn header_values_are_trimmed() {
    let head = complete(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: \t spaced out \t\r\n\r\n");
    assert_eq!(head.header("x-a"), Some(&b"spaced out"[..]));
}

fn head_of_len(len: usize) -> Vec<u8> {
    let fixed = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n".len();
    let mut buf = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ".to_vec();
    buf.resize(buf.len() + len - fixed, b'p');
    buf.extend_from_slice(b"\r\n\r\n");
    assert_eq!(buf.len(), len);
    buf
}

#[test]
fn head_of_exactly_the_limit_is_accepted() {
    let buf = head_of_len(1000);
    assert_eq!(
        parse_request_head(&buf, 1000).unwrap().unwrap().head_len,
        1000
    );
}

#[test]
fn head_one_byte_over_the_limit_is_too_large() {
    let buf = head_of_len(1001);
    assert_eq!(
        parse_request_head(&buf, 1000),
        Err(HttpError::HeadersTooLarge)
    );
    // Still incomplete below the limit: wait for more.
    assert_eq!(parse_request_head(&buf[..999], 1000), Ok(None));
    // At the limit without the end of the head: give up.
    assert_eq!(
        parse_request_head(&buf[..1000], 1000),
        Err(HttpError::HeadersTooLarge)
    );
}

#[test]
fn complete_head_within_limit_with_body_beyond_it() {
    let mut buf = head_of_len(500);
    buf.resize(5000, b'x');
    assert_eq!(
        parse_request_head(&buf, 1000).unwrap().unwrap().head_len,
        500
    );
}

fn head_with_headers(n: usize) -> Vec<u8> {
    let mut buf = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 1..n {
        buf.extend_from_slice(format!("X-H{i}: {i}\r\n").as_bytes());
    }
    buf.extend_from_slice(b"\r\n");
    buf
}

#[test]
fn header_count_limit() {
    let head = complete(&head_with_headers(MAX_HEADERS));
    assert_eq!(head.headers.len(), MAX_HEADERS);
    const { assert!(MAX_HEADERS >= 128) };
    assert_eq!(
        parse(&head_with_headers(MAX_HEADERS + 1)),
        Err(HttpError::HeadersTooLarge)
    );
}

#[test]
fn leading_empty_lines_count_in_head_len() {
    let buf = b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(complete(buf).head_len, buf.len());
}

#[test]
fn garbage_never_panics() {
    let samples: [&[u8]; 6] = [
        b"\0\0\0\0",
        b"\xff\xfe\r\n\r\n",
        b"GET \xff HTTP/1.1\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"GET / HTTP/1.1\r\n:\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1, x\r\n\r\n",
    ];
    for s in samples {
        assert!(
            !matches!(parse(s), Ok(Some(_))),
            "{:?}",
            String::from_utf8_lossy(s)
        );
    }
}
