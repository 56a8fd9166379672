//! Sans-IO HTTP/1.1: request and response head parsing, body framing (length, chunked)
//! and head writing. Pure functions over byte slices; the connection loop does the IO.

mod chunked;
mod fields;
mod multipart;
mod request;
mod response;
mod writer;

pub use chunked::{write_chunk_header, ChunkProgress, ChunkedDecoder, CHUNK_END, LAST_CHUNK};
pub use fields::{is_hop_by_hop, Header};
pub use multipart::{find_field, form_data_boundary, MultipartError};
pub use request::{parse_request_head, BodyFraming, Method, RequestHead};
pub use response::{
    is_event_stream, parse_response_head, ResponseFraming, ResponseHead, MAX_RESPONSE_HEAD_BYTES,
};
pub use writer::{reason_phrase, HeadWriter};

/// Most header lines a head may carry; more is answered like an oversized head.
pub const MAX_HEADERS: usize = 128;

/// Why bytes could not be read or written as HTTP/1.x.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Syntax or framing the parser refuses (smuggling-prone input included).
    #[error("malformed HTTP message: {0}")]
    Malformed(&'static str),
    /// The head did not end within the byte limit, or had more than [`MAX_HEADERS`] lines.
    #[error("HTTP header section too large")]
    HeadersTooLarge,
    /// Neither HTTP/1.0 nor HTTP/1.1.
    #[error("unsupported HTTP version")]
    UnsupportedVersion,
    /// A request body coded with something besides a lone `chunked`.
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
    /// A chunked body that breaks the chunk grammar or its size bounds.
    #[error("malformed chunked body: {0}")]
    BadChunk(&'static str),
}

impl HttpError {
    /// The status a server answers a client with when its request fails this way.
    pub fn status(self) -> u16 {
        match self {
            HttpError::Malformed(_) | HttpError::BadChunk(_) => 400,
            HttpError::HeadersTooLarge => 431,
            HttpError::UnsupportedVersion => 505,
            HttpError::UnsupportedTransferCoding => 501,
        }
    }
}

impl From<httparse::Error> for HttpError {
    fn from(e: httparse::Error) -> Self {
        match e {
            httparse::Error::TooManyHeaders => HttpError::HeadersTooLarge,
            httparse::Error::Version => HttpError::UnsupportedVersion,
            httparse::Error::HeaderName => HttpError::Malformed("invalid header name"),
            httparse::Error::HeaderValue => HttpError::Malformed("invalid header value"),
            httparse::Error::NewLine => HttpError::Malformed("invalid line ending"),
            httparse::Error::Status => HttpError::Malformed("invalid status code"),
            httparse::Error::Token => HttpError::Malformed("invalid start line"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_rfc_meaning() {
        assert_eq!(HttpError::Malformed("x").status(), 400);
        assert_eq!(HttpError::HeadersTooLarge.status(), 431);
        assert_eq!(HttpError::UnsupportedVersion.status(), 505);
        assert_eq!(HttpError::UnsupportedTransferCoding.status(), 501);
        assert_eq!(HttpError::BadChunk("x").status(), 400);
    }

    #[test]
    fn httparse_errors_map_to_typed_errors() {
        assert_eq!(
            HttpError::from(httparse::Error::TooManyHeaders),
            HttpError::HeadersTooLarge
        );
        assert_eq!(
            HttpError::from(httparse::Error::Version),
            HttpError::UnsupportedVersion
        );
        assert!(matches!(
            HttpError::from(httparse::Error::HeaderValue),
            HttpError::Malformed(_)
        ));
    }
}
