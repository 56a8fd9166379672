//! Typed errors of the OpenAI <-> Gemini translation: what was wrong with the
//! client's request (shared with Anthropic's, in `request_error.rs`), or with what the
//! upstream sent back.

pub use crate::translate::request_error::RequestError;

/// An upstream Gemini body that is not the response or error it should be.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The body is not JSON of the expected shape.
    #[error("upstream response is not a valid Gemini {expected}: {source}")]
    Malformed {
        /// `response` or `error`.
        expected: &'static str,
        /// The parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// The translated body could not be encoded (not expected to happen).
    #[error("translated response could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
}

/// An upstream stream event that is not a `GenerateContentResponse` or an error.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The event data is not JSON of the expected shape.
    #[error("upstream stream event is malformed: {0}")]
    MalformedEvent(#[source] serde_json::Error),
}
