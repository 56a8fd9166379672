//! `http::parse_response_head` on arbitrary bytes (answering a HEAD request or not):
//! it never panics, a parsed head is consistent, the framing follows RFC 9112 6.3,
//! and the answer does not depend on how the bytes arrived.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sluice::http::{
    parse_response_head, HttpError, ResponseFraming, ResponseHead, MAX_RESPONSE_HEAD_BYTES,
};

type Parsed = Result<Option<ResponseHead>, HttpError>;

fn check_head(data: &[u8], request_was_head: bool, head: &ResponseHead) {
    let n = head.head_len;
    assert!(n <= data.len() && n <= MAX_RESPONSE_HEAD_BYTES);
    assert!(
        data[..n].ends_with(b"\r\n\r\n"),
        "head does not end in CRLFCRLF"
    );
    assert!((100..=599).contains(&head.status));
    assert!(head.minor_version <= 1);
    let bodiless = request_was_head || head.is_informational() || matches!(head.status, 204 | 304);
    if bodiless {
        assert_eq!(
            head.framing,
            ResponseFraming::Empty,
            "status {}",
            head.status
        );
    }
    assert_ne!(head.framing, ResponseFraming::Length(0));
    if head.framing == ResponseFraming::Close {
        assert!(
            !head.keep_alive,
            "a body read to close cannot keep the connection"
        );
    }
    for h in &head.headers {
        assert!(
            head.header(&h.name).is_some(),
            "header {:?} not found",
            h.name
        );
    }
}

fn check_prefix(prefix: &Parsed, whole: &Parsed, cut: usize) {
    match prefix {
        Ok(None) => {}
        Err(_) => assert!(whole.is_err(), "error at {cut} bytes, then {whole:?}"),
        Ok(Some(_)) => assert_eq!(prefix, whole, "complete at {cut} bytes"),
    }
}

fn check(data: &[u8], request_was_head: bool, rng: &mut common::Rng) {
    let whole = parse_response_head(data, request_was_head);
    match &whole {
        Ok(Some(head)) => {
            check_head(data, request_was_head, head);
            let alone = parse_response_head(&data[..head.head_len], request_was_head);
            assert_eq!(alone, whole, "the head alone parses differently");
            for cut in common::cut_points(head.head_len - 1, rng, 64, 8) {
                let prefix = parse_response_head(&data[..cut], request_was_head);
                assert_eq!(prefix, Ok(None), "cut {cut}");
            }
        }
        Ok(None) => assert!(data.len() < MAX_RESPONSE_HEAD_BYTES),
        Err(e) => assert!((400..=505).contains(&e.status())),
    }
    for cut in common::cut_points(data.len(), rng, 64, 8) {
        let prefix = parse_response_head(&data[..cut], request_was_head);
        check_prefix(&prefix, &whole, cut);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = common::Rng::for_input(data);
    check(data, false, &mut rng);
    check(data, true, &mut rng);
});
