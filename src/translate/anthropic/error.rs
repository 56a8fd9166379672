//! Typed errors of the OpenAI <-> Anthropic translation: what was wrong with the
//! client's request, or with what the upstream sent back.

/// An OpenAI request that cannot be expressed as an Anthropic request.
/// Every message is safe to show to the client (it names fields, never values).
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The body is not JSON at all.
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The translated request could not be encoded (not expected to happen).
    #[error("translated request could not be encoded: {0}")]
    Encode(#[source] serde_json::Error),
    /// A field has the wrong JSON type or an impossible value.
    #[error("`{path}` must be {expected}")]
    InvalidField {
        /// Where the field is, e.g. `messages[2].content`.
        path: String,
        /// What was expected there, e.g. `a string or an array`.
        expected: &'static str,
    },
    /// Anthropic returns exactly one choice per request.
    #[error("`n` = {0} is not supported for this provider: only one choice per request")]
    MultipleChoices(u64),
    /// A message role that has no Anthropic equivalent (e.g. the legacy `function`).
    #[error("`{path}.role` = \"{role}\" is not supported for this provider")]
    UnsupportedRole {
        /// The message, e.g. `messages[4]`.
        path: String,
        /// The role sent.
        role: String,
    },
    /// A content part type with no Anthropic equivalent (e.g. `input_audio`).
    #[error("`{path}.type` = \"{kind}\" is not supported for this provider")]
    UnsupportedContentPart {
        /// The part, e.g. `messages[1].content[0]`.
        path: String,
        /// The part type sent.
        kind: String,
    },
    /// An image URL that is neither http(s) nor a base64 `data:` URL.
    #[error("`{path}` must be an http(s) URL or a base64 data: URL with a media type")]
    UnsupportedImageUrl {
        /// The URL field, e.g. `messages[1].content[2].image_url.url`.
        path: String,
    },
    /// A tool type other than `function`.
    #[error("`{path}.type` = \"{kind}\" is not supported for this provider")]
    UnsupportedToolType {
        /// The tool, e.g. `tools[0]`.
        path: String,
        /// The tool type sent.
        kind: String,
    },
    /// Tool call arguments that are not a JSON object encoded as a string.
    #[error("`{path}` must be a JSON object encoded as a string")]
    InvalidToolArguments {
        /// The field, e.g. `messages[3].tool_calls[0].function.arguments`.
        path: String,
    },
}

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

impl From<crate::translate::function_tool::ToolFault> for RequestError {
    fn from(fault: crate::translate::function_tool::ToolFault) -> Self {
        use crate::translate::function_tool::ToolFault;
        match fault {
            ToolFault::Invalid { path, expected } => RequestError::InvalidField { path, expected },
            ToolFault::UnsupportedType { path, kind } => {
                RequestError::UnsupportedToolType { path, kind }
            }
        }
    }
}
