//! The small private HTTP/1.1 toolkit of the load tools: a read buffer over rent-style IO,
//! body framing from headers, and an incremental chunked-encoding decoder and encoder.

mod buffer;
mod chunked;

pub use buffer::InBuf;
pub use chunked::{encode_chunk, ChunkStep, ChunkedDecoder};

use crate::error::WireError;

/// Most headers either tool parses in one head.
pub const MAX_HEADERS: usize = 64;
/// Largest head either tool accepts.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the peer closes (responses only).
    UntilClose,
}

/// Reads the body framing from parsed headers; `default` applies when neither
/// `Transfer-Encoding` nor `Content-Length` is present. With both, chunked wins (RFC 9112 6.3).
pub fn framing(headers: &[httparse::Header<'_>], default: Framing) -> Result<Framing, WireError> {
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = header
                .value
                .rsplit(|b| *b == b',')
                .next()
                .unwrap_or_default();
            chunked = trim(last).eq_ignore_ascii_case(b"chunked");
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let parsed = parse_decimal(trim(header.value)).ok_or(WireError::BadContentLength)?;
            if length.is_some_and(|seen| seen != parsed) {
                return Err(WireError::BadContentLength);
            }
            length = Some(parsed);
        }
    }
    Ok(match (chunked, length) {
        (true, _) => Framing::Chunked,
        (false, Some(0)) => Framing::Empty,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => default,
    })
}

/// Whether a header list contains `name` with a value equal (ASCII case-insensitive) to `value`,
/// also as one item of a comma-separated list.
pub fn header_has_token(headers: &[httparse::Header<'_>], name: &str, value: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .flat_map(|h| h.value.split(|b| *b == b','))
        .any(|item| trim(item).eq_ignore_ascii_case(value.as_bytes()))
}

/// Strips ASCII spaces and tabs from both ends.
pub fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Parses a non-empty run of ASCII digits, refusing overflow.
pub fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, b| {
        let digit = (*b as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(name: &'a str, value: &'a [u8]) -> httparse::Header<'a> {
        httparse::Header { name, value }
    }

    #[test]
    fn framing_prefers_chunked_and_checks_lengths() {
        let te = [
            header("Transfer-Encoding", b"gzip, chunked"),
            header("content-length", b"5"),
        ];
        assert_eq!(framing(&te, Framing::Empty), Ok(Framing::Chunked));
        let cl = [header("Content-Length", b" 12 ")];
        assert_eq!(framing(&cl, Framing::Empty), Ok(Framing::Length(12)));
        let zero = [header("Content-Length", b"0")];
        assert_eq!(framing(&zero, Framing::UntilClose), Ok(Framing::Empty));
        let clash = [
            header("content-length", b"1"),
            header("content-length", b"2"),
        ];
        assert_eq!(
            framing(&clash, Framing::Empty),
            Err(WireError::BadContentLength)
        );
        let junk = [header("content-length", b"1x")];
        assert_eq!(
            framing(&junk, Framing::Empty),
            Err(WireError::BadContentLength)
        );
        assert_eq!(framing(&[], Framing::UntilClose), Ok(Framing::UntilClose));
    }

    #[test]
    fn header_tokens_match_case_insensitively() {
        let h = [header("Connection", b"keep-alive, Close")];
        assert!(header_has_token(&h, "connection", "close"));
        assert!(!header_has_token(&h, "connection", "upgrade"));
    }

    #[test]
    fn decimal_parsing_refuses_overflow_and_junk() {
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"-1"), None);
    }
}
