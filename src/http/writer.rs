//! Head writing: `HeadWriter` builds an HTTP/1.1 request or response head in a `Vec<u8>`,
//! refusing names and values that would break the framing (header injection).

use super::HttpError;

/// Builds one head. Lines are appended in call order; the first invalid line makes
/// [`HeadWriter::finish`] fail, so a chain of calls needs one check at the end.
#[derive(Debug, Clone)]
pub struct HeadWriter {
    buf: Vec<u8>,
    error: Option<HttpError>,
}

impl Default for HeadWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadWriter {
    /// An empty head with room for a typical one.
    pub fn new() -> Self {
        Self::with_capacity(512)
    }

    /// An empty head with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        HeadWriter {
            buf: Vec::with_capacity(capacity),
            error: None,
        }
    }

    /// `{method} {target} HTTP/1.1`
    pub fn request_line(&mut self, method: &str, target: &str) -> &mut Self {
        if !is_token(method.as_bytes()) {
            return self.fail("invalid method");
        }
        if target.is_empty() || !target.bytes().all(|b| b > b' ' && b != 0x7f) {
            return self.fail("invalid request target");
        }
        self.push_line(&[method.as_bytes(), b" ", target.as_bytes(), b" HTTP/1.1"])
    }

    /// `HTTP/1.1 {status} {standard reason phrase}`
    pub fn status_line(&mut self, status: u16) -> &mut Self {
        if !(100..=999).contains(&status) {
            return self.fail("invalid status code");
        }
        let digits = [
            b'0' + (status / 100) as u8,
            b'0' + (status / 10 % 10) as u8,
            b'0' + (status % 10) as u8,
        ];
        self.push_line(&[
            b"HTTP/1.1 ",
            &digits,
            b" ",
            reason_phrase(status).as_bytes(),
        ])
    }

    /// `{name}: {value}`. The name must be a token; the value may hold no CR, LF or NUL.
    pub fn header(&mut self, name: &str, value: &[u8]) -> &mut Self {
        if !is_token(name.as_bytes()) {
            return self.fail("invalid header name");
        }
        if memchr::memchr3(b'\r', b'\n', 0, value).is_some() {
            return self.fail("invalid header value");
        }
        self.push_line(&[name.as_bytes(), b": ", value])
    }

    /// `Connection: close` when the connection closes after this response; for an
    /// HTTP/1.0 client kept alive, `Connection: keep-alive` (HTTP/1.0 closes by default,
    /// RFC 9112 section 9.3). HTTP/1.1 keep-alive needs no header.
    pub fn connection(&mut self, close: bool, http10: bool) -> &mut Self {
        match (close, http10) {
            (true, _) => self.header("Connection", b"close"),
            (false, true) => self.header("Connection", b"keep-alive"),
            (false, false) => self,
        }
    }

    /// `Content-Length: {len}`
    pub fn content_length(&mut self, len: u64) -> &mut Self {
        self.header("Content-Length", len.to_string().as_bytes())
    }

    /// Ends the head with the empty line and returns its bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, HttpError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.buf.extend_from_slice(b"\r\n");
        Ok(self.buf)
    }

    fn push_line(&mut self, parts: &[&[u8]]) -> &mut Self {
        if self.error.is_none() {
            for part in parts {
                self.buf.extend_from_slice(part);
            }
            self.buf.extend_from_slice(b"\r\n");
        }
        self
    }

    fn fail(&mut self, what: &'static str) -> &mut Self {
        self.error.get_or_insert(HttpError::Malformed(what));
        self
    }
}

/// RFC 9110 token: at least one of `!#$%&'*+-.^_`|~`, digits and letters.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| TOKEN_BYTES[b as usize])
}

/// `tchar` as a table: every header name written is checked, so one load per byte.
const TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// The standard reason phrase of `status` ("" for codes without one).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request_head, parse_response_head, ResponseFraming};

    #[test]
    fn response_head_round_trips_through_the_parser() {
        let mut w = HeadWriter::new();
        w.status_line(429)
            .header("content-type", b"application/json")
            .content_length(17);
        let bytes = w.finish().unwrap();
        assert_eq!(
            bytes,
            b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nContent-Length: 17\r\n\r\n"
        );
        let head = parse_response_head(&bytes, false).unwrap().unwrap();
        assert_eq!(
            (head.status, head.framing),
            (429, ResponseFraming::Length(17))
        );
        assert_eq!(head.head_len, bytes.len());
    }

    #[test]
    fn request_head_round_trips_through_the_parser() {
        let mut w = HeadWriter::with_capacity(64);
        w.request_line("POST", "/v1/chat/completions?x=1")
            .header("Host", b"api.openai.com")
            .header("Transfer-Encoding", b"chunked");
        let bytes = w.finish().unwrap();
        let head = parse_request_head(&bytes, 1024).unwrap().unwrap();
        assert_eq!(head.target, "/v1/chat/completions?x=1");
        assert_eq!(head.header("host"), Some(&b"api.openai.com"[..]));
        assert_eq!(head.head_len, bytes.len());
    }

    #[test]
    fn unknown_status_has_empty_reason_but_valid_line() {
        let mut w = HeadWriter::new();
        w.status_line(599);
        assert_eq!(w.finish().unwrap(), b"HTTP/1.1 599 \r\n\r\n");
    }

    #[test]
    fn header_injection_is_refused() {
        for value in [&b"a\r\nX-Evil: 1"[..], b"a\nb", b"a\rb", b"a\0b"] {
            let mut w = HeadWriter::new();
            w.status_line(200)
                .header("X-A", value)
                .header("X-B", b"fine");
            assert!(matches!(w.finish(), Err(HttpError::Malformed(_))));
        }
        for name in ["", "X A", "X:A", "X\r\nA", "é"] {
            let mut w = HeadWriter::new();
            w.status_line(200).header(name, b"v");
            assert_eq!(
                w.finish(),
                Err(HttpError::Malformed("invalid header name")),
                "{name:?}"
            );
        }
    }

    #[test]
    fn bad_start_lines_are_refused() {
        let mut w = HeadWriter::new();
        w.request_line("GET", "/a b");
        assert!(w.finish().is_err());
        let mut w = HeadWriter::new();
        w.request_line("G T", "/");
        assert!(w.finish().is_err());
        let mut w = HeadWriter::new();
        w.request_line("GET", "");
        assert!(w.finish().is_err());
        let mut w = HeadWriter::new();
        w.status_line(99);
        assert!(w.finish().is_err());
    }

    #[test]
    fn first_error_is_kept() {
        let mut w = HeadWriter::new();
        w.status_line(1000).header("bad name", b"v");
        assert_eq!(w.finish(), Err(HttpError::Malformed("invalid status code")));
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(431), "Request Header Fields Too Large");
        assert_eq!(reason_phrase(502), "Bad Gateway");
        assert_eq!(reason_phrase(299), "");
    }
}
