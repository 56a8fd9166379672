//! Request heads: `parse_request_head` turns the bytes of a request head into a
//! `RequestHead` with its method, target, headers and body framing (RFC 9112, strict).

use super::fields::{check_crlf, first_value, version_error, FieldScan, Header};
use super::{HttpError, MAX_HEADERS};
use std::mem::MaybeUninit;

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// A chunked body follows the head (see `ChunkedDecoder`).
    Chunked,
}

/// Request method; the common ones are variants, any other token is kept as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
    /// `HEAD`.
    Head,
    /// `OPTIONS`.
    Options,
    /// Any other token, as sent.
    Other(String),
}

impl Method {
    fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method token as it appears on the wire (methods are case-sensitive).
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Other(token) => token,
        }
    }
}

/// A parsed request head. Header values are copies, so the read buffer can be reused at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The request method.
    pub method: Method,
    /// The request-target exactly as sent.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Every header line, in order.
    pub headers: Vec<Header>,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// The client asked to keep the connection (1.1 unless `close`; 1.0 only with `keep-alive`).
    pub keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request (ignored on 1.0, RFC 9110 10.1.1).
    pub expect_continue: bool,
    /// Framing was ambiguous (Transfer-Encoding and Content-Length both present): serve this
    /// one request, then close, whatever `keep_alive` says (RFC 9112 6.1).
    pub close_after_response: bool,
    /// Lowercase tokens of the Connection header; headers named here are not forwarded.
    pub connection_tokens: Vec<String>,
    /// Bytes of the head, final CRLFCRLF included: the body or next request starts here.
    pub head_len: usize,
}

impl RequestHead {
    /// First value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        first_value(&self.headers, name)
    }

    /// Whether any header name starts with `prefix` (ASCII, case-insensitive): one pass
    /// that spares a family's lookups on the requests that carry none of it.
    pub fn has_header_prefix(&self, prefix: &str) -> bool {
        self.headers.iter().any(|h| {
            h.name
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        })
    }

    /// Whether the connection may serve another request after this one.
    pub fn reuse_connection(&self) -> bool {
        self.keep_alive && !self.close_after_response
    }

    /// The path part of the target: before `?`, and without scheme and authority for an
    /// absolute-form target (`http://host/p` gives `/p`).
    pub fn path(&self) -> &str {
        let target = self.target.as_str();
        let without_query = target.split_once('?').map_or(target, |(p, _)| p);
        match without_query.split_once("://") {
            Some((_, rest)) if !target.starts_with('/') => {
                rest.find('/').map_or("/", |i| &rest[i..])
            }
            _ => without_query,
        }
    }

    /// The query string after the first `?`, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// Parses a request head from the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet; read more and call again with the grown buffer.
/// `max_header_bytes` bounds the request line plus all header lines: once `buf` holds that many
/// bytes without a complete head, the answer is [`HttpError::HeadersTooLarge`].
pub fn parse_request_head(
    buf: &[u8],
    max_header_bytes: usize,
) -> Result<Option<RequestHead>, HttpError> {
    let window = &buf[..buf.len().min(max_header_bytes)];
    // Uninitialised slots: httparse writes only the ones it fills, which saves a 4 KiB memset.
    let mut raw_headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let parsed = req
        .parse_with_uninit_headers(window, &mut raw_headers)
        .map_err(|e| match e {
            // The version is what follows the second space of the request line.
            httparse::Error::Version => {
                let line = window
                    .split(|&b| b == b'\r' || b == b'\n')
                    .find(|l| !l.is_empty());
                let version = line.and_then(|l| l.splitn(3, |&b| b == b' ').nth(2));
                version_error(version.unwrap_or_default())
            }
            other => HttpError::from(other),
        })?;
    let head_len = match parsed {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial if buf.len() >= max_header_bytes => {
            return Err(HttpError::HeadersTooLarge)
        }
        httparse::Status::Partial => return Ok(None),
    };
    check_crlf(&window[..head_len])?;
    // httparse fills all three on Complete; the fallbacks only keep this free of panics.
    let method = req.method.ok_or(HttpError::Malformed("missing method"))?;
    let target = req.path.ok_or(HttpError::Malformed("missing target"))?;
    let minor_version = req.version.ok_or(HttpError::UnsupportedVersion)?;
    let scan = FieldScan::scan(req.headers)?;

    if minor_version == 1 && scan.host_count == 0 {
        return Err(HttpError::Malformed("missing host header"));
    }
    if scan.host_count > 1 {
        return Err(HttpError::Malformed("more than one host header"));
    }

    let mut close_after_response = false;
    let framing = match (scan.transfer_codings, scan.content_length) {
        (Some(_), _) if minor_version == 0 => {
            // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
            return Err(HttpError::Malformed(
                "transfer-encoding in an HTTP/1.0 request",
            ));
        }
        (Some(te), content_length) => {
            if !te.last_is_chunked {
                return Err(HttpError::Malformed(
                    "transfer-encoding does not end in chunked",
                ));
            }
            if te.count > 1 {
                return Err(HttpError::UnsupportedTransferCoding);
            }
            // RFC 9112 6.1: Transfer-Encoding wins over Content-Length, and the
            // connection must not be reused after such a message.
            close_after_response = content_length.is_some();
            BodyFraming::Chunked
        }
        (None, Some(0)) | (None, None) => BodyFraming::None,
        (None, Some(n)) => BodyFraming::Length(n),
    };

    let keep_alive = if minor_version == 1 {
        !scan.connection_close
    } else {
        scan.connection_keep_alive && !scan.connection_close
    };

    Ok(Some(RequestHead {
        method: Method::from_token(method),
        target: target.to_owned(),
        minor_version,
        headers: scan.headers,
        framing,
        keep_alive,
        expect_continue: scan.expect_continue && minor_version == 1,
        close_after_response,
        connection_tokens: scan.connection_tokens,
        head_len,
    }))
}

#[cfg(test)]
mod tests;
