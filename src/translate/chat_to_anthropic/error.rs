//! Typed errors of the OpenAI <-> Anthropic translation: what was wrong with the
//! client's request (shared with Gemini's, in `request_error.rs`), or with what the
//! upstream sent back.

pub use crate::translate::request_error::RequestError;

/// An upstream Anthropic body that is not the Message or error it should be.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The body is not JSON of the expected shape.
    #[error("upstream response is not a valid Anthropic {expected}: {source}")]
    Malformed {
        /// `message` or `error`.
        expected: &'static str,
        /// The parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// The translated body could not be encoded (not expected to happen).
    #[error("translated response could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
}

/// An upstream stream event whose data is not what its event name promises.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The event data is not JSON of the expected shape.
    #[error("upstream stream event `{event}` is malformed: {source}")]
    MalformedEvent {
        /// The event name (or `type`) that was being decoded.
        event: String,
        /// The parse failure.
        #[source]
        source: serde_json::Error,
    },
}
