//! Response heads: `parse_response_head` reads an upstream's status line and headers
//! and decides how its body is delimited (RFC 9112 6.3).

use super::fields::{check_crlf, first_value, version_error, FieldScan, Header};
use super::{HttpError, MAX_HEADERS};
use std::mem::MaybeUninit;

/// Largest upstream response head accepted; past this the head is [`HttpError::HeadersTooLarge`].
pub const MAX_RESPONSE_HEAD_BYTES: usize = 65536;

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body: 1xx, 204, 304, an answer to HEAD, or `Content-Length: 0`.
    Empty,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// A chunked body follows the head.
    Chunked,
    /// The body runs until the upstream closes the connection.
    Close,
}

/// A parsed response head. Header values are copies, so the read buffer can be reused at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// HTTP status.
    pub status: u16,
    /// The reason phrase as sent ("" if absent or not UTF-8).
    pub reason: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Every header line, in order.
    pub headers: Vec<Header>,
    /// How the body is delimited.
    pub framing: ResponseFraming,
    /// The connection may carry another request after this response's body.
    pub keep_alive: bool,
    /// Lowercase tokens of the Connection header; headers named here are not forwarded.
    pub connection_tokens: Vec<String>,
    /// Bytes of the head, final CRLFCRLF included: the body starts here.
    pub head_len: usize,
}

impl ResponseHead {
    /// First value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        first_value(&self.headers, name)
    }

    /// The body is an event stream (`content-type: text/event-stream`, any parameters).
    pub fn is_event_stream(&self) -> bool {
        is_event_stream(self.header("content-type"))
    }

    /// 1xx: an interim response; the final one follows on the same connection.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status)
    }
}

/// Parses a response head from the start of `buf`; `Ok(None)` means read more and call again.
/// `request_was_head`: the request was HEAD, so no body follows whatever the headers say.
pub fn parse_response_head(
    buf: &[u8],
    request_was_head: bool,
) -> Result<Option<ResponseHead>, HttpError> {
    let window = &buf[..buf.len().min(MAX_RESPONSE_HEAD_BYTES)];
    // Uninitialised slots: httparse writes only the ones it fills, which saves a 4 KiB memset.
    let mut raw_headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut res, window, &mut raw_headers)
        .map_err(|e| match e {
            // The version is the first token of the status line.
            httparse::Error::Version => version_error(window),
            other => HttpError::from(other),
        })?;
    let head_len = match parsed {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial if buf.len() >= MAX_RESPONSE_HEAD_BYTES => {
            return Err(HttpError::HeadersTooLarge)
        }
        httparse::Status::Partial => return Ok(None),
    };
    check_crlf(&window[..head_len])?;
    // httparse fills these on Complete; the fallbacks only keep this free of panics.
    let status = res
        .code
        .ok_or(HttpError::Malformed("missing status code"))?;
    let minor_version = res.version.ok_or(HttpError::UnsupportedVersion)?;
    if !(100..=599).contains(&status) {
        return Err(HttpError::Malformed("status code out of range"));
    }
    let reason = res.reason.unwrap_or_default().to_owned();
    let scan = FieldScan::scan(res.headers)?;

    let mut ambiguous = false;
    let bodiless =
        request_was_head || (100..200).contains(&status) || status == 204 || status == 304;
    let framing = if bodiless {
        ResponseFraming::Empty
    } else {
        match (scan.transfer_codings, scan.content_length) {
            // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing;
            // the only safe reading is "until close".
            (Some(_), _) if minor_version == 0 => ResponseFraming::Close,
            (Some(te), content_length) => {
                if te.chunked_count > 1 {
                    return Err(HttpError::Malformed("chunked applied more than once"));
                }
                ambiguous = content_length.is_some();
                if te.last_is_chunked {
                    ResponseFraming::Chunked
                } else {
                    ResponseFraming::Close
                }
            }
            (None, Some(0)) => ResponseFraming::Empty,
            (None, Some(n)) => ResponseFraming::Length(n),
            (None, None) => ResponseFraming::Close,
        }
    };

    let connection_allows = if minor_version == 1 {
        !scan.connection_close
    } else {
        scan.connection_keep_alive && !scan.connection_close
    };
    let keep_alive = connection_allows && !ambiguous && framing != ResponseFraming::Close;

    Ok(Some(ResponseHead {
        status,
        reason,
        minor_version,
        headers: scan.headers,
        framing,
        keep_alive,
        connection_tokens: scan.connection_tokens,
        head_len,
    }))
}

#[cfg(test)]
mod tests;

/// Whether a `content-type` value names an event stream (`text/event-stream`, any case,
/// any parameters).
pub fn is_event_stream(content_type: Option<&[u8]>) -> bool {
    content_type
        .is_some_and(|ct| ct.len() >= 17 && ct[..17].eq_ignore_ascii_case(b"text/event-stream"))
}
