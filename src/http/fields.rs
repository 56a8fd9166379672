//! Header fields shared by request and response heads: the owned `Header`, hop-by-hop
//! names, and one pass that reads the framing fields (Content-Length, Transfer-Encoding, Connection).

use super::HttpError;

/// One header line: the name as sent (case kept) and the value with surrounding whitespace trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name as sent.
    pub name: String,
    /// The value, surrounding whitespace trimmed.
    pub value: Vec<u8>,
}

/// First value of header `name` (case-insensitive).
pub(crate) fn first_value<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
}

/// Whether a header only concerns one connection and so is never forwarded.
/// Names listed in a message's `Connection` header are hop-by-hop too (see `connection_tokens`).
pub fn is_hop_by_hop(name: &str) -> bool {
    const FIXED: [&str; 7] = [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "upgrade",
        "trailer",
        "trailers",
    ];
    FIXED.iter().any(|h| name.eq_ignore_ascii_case(h))
        || name
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("proxy-"))
}

/// Transfer-Encoding as far as framing cares: every coding listed, in order, over all its lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TransferCodings {
    pub count: usize,
    pub chunked_count: usize,
    pub last_is_chunked: bool,
}

/// What one pass over the header lines found out about framing and connection handling.
#[derive(Debug, Default)]
pub(crate) struct FieldScan {
    pub headers: Vec<Header>,
    pub content_length: Option<u64>,
    /// `Some` when at least one Transfer-Encoding line was present.
    pub transfer_codings: Option<TransferCodings>,
    pub connection_close: bool,
    pub connection_keep_alive: bool,
    pub connection_tokens: Vec<String>,
    pub host_count: usize,
    pub expect_continue: bool,
}

impl FieldScan {
    /// Copies the header lines out of the parse buffer and reads the framing fields.
    pub fn scan(raw: &[httparse::Header<'_>]) -> Result<FieldScan, HttpError> {
        let mut scan = FieldScan {
            headers: Vec::with_capacity(raw.len()),
            ..FieldScan::default()
        };
        for h in raw {
            let name = h.name;
            // Dispatch on length first: most lines are none of these and skip all compares.
            match name.len() {
                14 if name.eq_ignore_ascii_case("content-length") => {
                    scan.add_content_length(h.value)?
                }
                17 if name.eq_ignore_ascii_case("transfer-encoding") => {
                    scan.add_transfer_codings(h.value)?
                }
                10 if name.eq_ignore_ascii_case("connection") => scan.add_connection(h.value),
                4 if name.eq_ignore_ascii_case("host") => scan.host_count += 1,
                6 if name.eq_ignore_ascii_case("expect") => {
                    scan.expect_continue |= trim_ows(h.value).eq_ignore_ascii_case(b"100-continue")
                }
                _ => {}
            }
            scan.headers.push(Header {
                name: name.to_owned(),
                value: h.value.to_vec(),
            });
        }
        Ok(scan)
    }

    /// Every value of every Content-Length line must be the same decimal number (RFC 9110 8.6).
    fn add_content_length(&mut self, value: &[u8]) -> Result<(), HttpError> {
        for element in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(element))?;
            match self.content_length {
                Some(seen) if seen != n => {
                    return Err(HttpError::Malformed("conflicting content-length values"))
                }
                _ => self.content_length = Some(n),
            }
        }
        Ok(())
    }

    fn add_transfer_codings(&mut self, value: &[u8]) -> Result<(), HttpError> {
        let codings = self.transfer_codings.get_or_insert_with(Default::default);
        for element in value.split(|&b| b == b',') {
            // A transfer-coding may carry parameters after ';'; only its name matters here.
            let name = element.split(|&b| b == b';').next().unwrap_or_default();
            let name = trim_ows(name);
            if name.is_empty() {
                continue; // empty list elements are allowed by the list syntax
            }
            let is_chunked = name.eq_ignore_ascii_case(b"chunked");
            codings.count += 1;
            codings.chunked_count += usize::from(is_chunked);
            codings.last_is_chunked = is_chunked;
        }
        if codings.count == 0 {
            return Err(HttpError::Malformed("empty transfer-encoding"));
        }
        Ok(())
    }

    fn add_connection(&mut self, value: &[u8]) {
        for element in value.split(|&b| b == b',') {
            let token = trim_ows(element);
            if token.is_empty() {
                continue;
            }
            if token.eq_ignore_ascii_case(b"close") {
                self.connection_close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.connection_keep_alive = true;
            }
            let token = String::from_utf8_lossy(token).to_ascii_lowercase();
            if !self.connection_tokens.contains(&token) {
                self.connection_tokens.push(token);
            }
        }
    }
}

/// Strips optional whitespace (SP / HTAB) from both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// 1*DIGIT as u64: no sign, no whitespace, no overflow.
fn parse_decimal(s: &[u8]) -> Result<u64, HttpError> {
    if s.is_empty() {
        return Err(HttpError::Malformed("empty content-length"));
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(HttpError::Malformed("content-length is not a number"));
        }
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(HttpError::Malformed("content-length overflows"))
    })
}

/// Tells an unsupported `HTTP/x.y` (505) from a start line that is not HTTP at all (400),
/// given the start-line token where httparse expected the version.
pub(crate) fn version_error(token: &[u8]) -> HttpError {
    match token {
        [b'H', b'T', b'T', b'P', b'/', d, ..] if d.is_ascii_digit() => {
            HttpError::UnsupportedVersion
        }
        _ => HttpError::Malformed("invalid HTTP version"),
    }
}

/// Rejects heads with a bare LF line ending. httparse already refuses a CR that is not
/// followed by LF, so equal counts mean every LF has its CR.
pub(crate) fn check_crlf(head: &[u8]) -> Result<(), HttpError> {
    // Per-block u8 counters let the compiler count 16-32 bytes per instruction.
    let (mut cr, mut lf) = (0usize, 0usize);
    for block in head.chunks(255) {
        let count = |needle: u8| {
            block
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == needle)))
        };
        cr += usize::from(count(b'\r'));
        lf += usize::from(count(b'\n'));
    }
    if cr == lf {
        Ok(())
    } else {
        Err(HttpError::Malformed("bare LF line ending"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(lines: &[(&'static str, &'static [u8])]) -> Result<FieldScan, HttpError> {
        let raw: Vec<_> = lines
            .iter()
            .map(|&(name, value)| httparse::Header { name, value })
            .collect();
        FieldScan::scan(&raw)
    }

    #[test]
    fn hop_by_hop_names_any_case() {
        for name in [
            "Connection",
            "KEEP-ALIVE",
            "transfer-encoding",
            "TE",
            "Upgrade",
            "Proxy-Authorization",
            "proxy-connection",
            "Trailer",
            "trailers",
        ] {
            assert!(is_hop_by_hop(name), "{name}");
        }
        for name in [
            "content-type",
            "authorization",
            "host",
            "proxy",
            "tee",
            "x-te",
        ] {
            assert!(!is_hop_by_hop(name), "{name}");
        }
    }

    #[test]
    fn content_length_forms() {
        assert_eq!(
            scan(&[("Content-Length", b"42")]).unwrap().content_length,
            Some(42)
        );
        assert_eq!(
            scan(&[("content-length", b"7, 7"), ("CONTENT-LENGTH", b"7")])
                .unwrap()
                .content_length,
            Some(7)
        );
        assert_eq!(
            scan(&[("Content-Length", b"18446744073709551615")])
                .unwrap()
                .content_length,
            Some(u64::MAX)
        );
        for bad in [
            &b"-1"[..],
            b"+1",
            b"",
            b"1 2",
            b"0x10",
            b"1.0",
            b"18446744073709551616",
            b"3,",
        ] {
            assert!(
                matches!(
                    scan(&[("Content-Length", bad)]),
                    Err(HttpError::Malformed(_))
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(scan(&[("Content-Length", b"1"), ("Content-Length", b"2")]).is_err());
    }

    #[test]
    fn transfer_codings_are_counted_across_lines() {
        let s = scan(&[
            ("Transfer-Encoding", b"gzip"),
            ("transfer-encoding", b" Chunked "),
        ])
        .unwrap();
        let te = s.transfer_codings.unwrap();
        assert_eq!(
            (te.count, te.chunked_count, te.last_is_chunked),
            (2, 1, true)
        );
        let te = scan(&[("Transfer-Encoding", b"chunked, gzip;q=1")])
            .unwrap()
            .transfer_codings
            .unwrap();
        assert!(!te.last_is_chunked);
        assert!(scan(&[("Transfer-Encoding", b" , ")]).is_err());
        assert!(scan(&[]).unwrap().transfer_codings.is_none());
    }

    #[test]
    fn connection_tokens_lowercased_and_flags_set() {
        let s = scan(&[
            ("Connection", b"Keep-Alive, X-Foo"),
            ("connection", b"close,,x-foo"),
        ])
        .unwrap();
        assert!(s.connection_close && s.connection_keep_alive);
        assert_eq!(s.connection_tokens, ["keep-alive", "x-foo", "close"]);
    }

    #[test]
    fn names_kept_as_sent_and_lookup_is_case_insensitive() {
        let s = scan(&[
            ("X-Stainless-Lang", b"python"),
            ("x-stainless-lang", b"other"),
        ])
        .unwrap();
        assert_eq!(s.headers[0].name, "X-Stainless-Lang");
        assert_eq!(
            first_value(&s.headers, "X-STAINLESS-LANG"),
            Some(&b"python"[..])
        );
        assert_eq!(first_value(&s.headers, "missing"), None);
    }

    #[test]
    fn crlf_check() {
        assert!(check_crlf(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
        assert!(check_crlf(b"GET / HTTP/1.1\nHost: a\r\n\r\n").is_err());
        assert!(check_crlf(b"GET / HTTP/1.1\r\nHost: a\r\n\n").is_err());
        // Long heads are counted in blocks: a stray LF in any block is found, and
        // blocks made only of line endings do not overflow their counters.
        let long = b"X-A: b\r\n".repeat(200);
        assert!(check_crlf(&long).is_ok());
        assert!(check_crlf(&b"\r\n".repeat(1000)).is_ok());
        for at in [0, 254, 255, 256, 1000, long.len() - 1] {
            let mut bad = long.clone();
            bad.insert(at, b'\n');
            assert!(check_crlf(&bad).is_err(), "LF at {at}");
        }
    }

    #[test]
    fn version_errors() {
        assert_eq!(version_error(b"HTTP/2.0"), HttpError::UnsupportedVersion);
        assert_eq!(version_error(b"HTTP/3"), HttpError::UnsupportedVersion);
        assert!(matches!(version_error(b"b"), HttpError::Malformed(_)));
        assert!(matches!(version_error(b"HTTP/x"), HttpError::Malformed(_)));
    }

    #[test]
    fn ows_trim() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
    }
}
