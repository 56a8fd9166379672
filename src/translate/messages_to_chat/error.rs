//! Typed errors of the Anthropic Messages -> OpenAI translation: what was wrong with
//! the client's request, or with what the OpenAI-style upstream sent back.

/// An Anthropic Messages request that cannot be expressed as an OpenAI request.
/// Every message is safe to show to the client (it names fields, never values).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The body is not JSON at all.
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The translated request could not be encoded (not expected to happen).
    #[error("translated request could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
    /// A field is missing, has the wrong JSON type or an impossible value.
    #[error("`{path}` must be {expected}")]
    InvalidField {
        /// Where the field is, e.g. `messages[2].content`.
        path: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// A message role other than `user` and `assistant`.
    #[error("`{path}.role` = \"{role}\" is not supported")]
    UnsupportedRole {
        /// The message, e.g. `messages[4]`.
        path: String,
        /// The role sent.
        role: String,
    },
    /// A content block type the OpenAI format cannot carry here (e.g. `document`,
    /// or an image inside a `tool_result`).
    #[error("`{path}.type` = \"{kind}\" is not supported for this provider")]
    UnsupportedContentBlock {
        /// The block, e.g. `messages[1].content[0]`.
        path: String,
        /// The block type sent.
        kind: String,
    },
    /// An Anthropic server tool (web search, code execution, ...): only the
    /// provider that runs it can serve it.
    #[error("`{path}.type` = \"{kind}\" is not supported for this provider")]
    UnsupportedToolType {
        /// The tool, e.g. `tools[0]`.
        path: String,
        /// The tool type sent.
        kind: String,
    },
}

/// An upstream OpenAI-style body that is not the completion or error it should be.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The body is not JSON of the expected shape.
    #[error("upstream response is not a valid OpenAI {expected}: {source}")]
    Malformed {
        /// `chat.completion` or `error`.
        expected: &'static str,
        /// The parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// The completion has no choice to translate.
    #[error("upstream chat.completion has no choices")]
    NoChoices,
    /// The translated body could not be encoded (not expected to happen).
    #[error("translated response could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
}

/// An upstream chunk that is not a `chat.completion.chunk` or an error.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The event data is not JSON of the expected shape.
    #[error("upstream stream chunk is malformed: {0}")]
    MalformedChunk(#[source] serde_json::Error),
}
