//! `http::parse_request_head` on arbitrary bytes: it never panics, a parsed head is
//! consistent with the bytes it came from, and the answer does not depend on how the
//! bytes arrived (the connection loop calls it again on a growing buffer).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sluice::http::{parse_request_head, BodyFraming, HttpError, RequestHead};

type Parsed = Result<Option<RequestHead>, HttpError>;

fn check_head(data: &[u8], max: usize, head: &RequestHead) {
    let n = head.head_len;
    assert!(n <= data.len() && n <= max, "head_len {n} past the window");
    assert!(
        data[..n].ends_with(b"\r\n\r\n"),
        "head does not end in CRLFCRLF"
    );
    let method = head.method.as_str().as_bytes();
    assert!(data[..n].windows(method.len()).any(|w| w == method));
    assert!(head.minor_version <= 1);
    assert_ne!(
        head.framing,
        BodyFraming::Length(0),
        "Content-Length 0 is no body"
    );
    // Every accessor is total.
    let path = head.path();
    assert!(
        head.target.contains(path) || path == "/",
        "{path:?} not in the target"
    );
    if let Some(q) = head.query() {
        assert!(head.target.ends_with(q));
    }
    let _ = head.reuse_connection();
    let _ = head.has_header_prefix("x-sluice-");
    for h in &head.headers {
        assert!(
            head.header(&h.name).is_some(),
            "header {:?} not found",
            h.name
        );
    }
}

/// What a prefix of the buffer said must agree with what the whole buffer says:
/// an error stays an error, a complete head stays that head.
fn check_prefix(prefix: &Parsed, whole: &Parsed, cut: usize) {
    match prefix {
        Ok(None) => {}
        Err(_) => assert!(whole.is_err(), "error at {cut} bytes, then {whole:?}"),
        Ok(Some(_)) => assert_eq!(prefix, whole, "complete at {cut} bytes"),
    }
}

fn check(data: &[u8], max: usize, rng: &mut common::Rng) {
    let whole = parse_request_head(data, max);
    match &whole {
        Ok(Some(head)) => {
            check_head(data, max, head);
            let alone = parse_request_head(&data[..head.head_len], max);
            assert_eq!(alone, whole, "the head alone parses differently");
            // Shorter than the head: still incomplete, never an error.
            for cut in common::cut_points(head.head_len - 1, rng, 64, 8) {
                assert_eq!(parse_request_head(&data[..cut], max), Ok(None), "cut {cut}");
            }
        }
        Ok(None) => assert!(data.len() < max, "incomplete at the limit"),
        Err(e) => assert!((400..=505).contains(&e.status())),
    }
    for cut in common::cut_points(data.len(), rng, 64, 8) {
        check_prefix(&parse_request_head(&data[..cut], max), &whole, cut);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = common::Rng::for_input(data);
    check(data, 8192, &mut rng);
    // A small limit too, so HeadersTooLarge and the window's edge are reached.
    let max = 1 + rng.below(data.len() + 16);
    check(data, max, &mut rng);
});
