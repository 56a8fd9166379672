//! The errors of translating an OpenAI request for a provider with another API (the
//! Anthropic and Gemini translators): each names the field at fault, never its value.

use super::function_tool::ToolFault;

/// An OpenAI request that cannot be expressed in the provider's own API (Anthropic
/// Messages or Gemini).
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
    /// The providers translated to return one choice (candidate) per request.
    #[error("`n` = {0} is not supported for this provider: only one choice per request")]
    MultipleChoices(u64),
    /// A message role with no equivalent upstream (e.g. the legacy `function`).
    #[error("`{path}.role` = \"{role}\" is not supported for this provider")]
    UnsupportedRole {
        /// The message, e.g. `messages[4]`.
        path: String,
        /// The role sent.
        role: String,
    },
    /// A content part type with no equivalent upstream (e.g. `input_audio`).
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
    /// A tool result whose `tool_call_id` no earlier assistant tool call has: Gemini
    /// needs the function's name, which only that call carries.
    #[error("`{path}.tool_call_id` matches no earlier assistant tool call")]
    UnknownToolCall {
        /// The tool message, e.g. `messages[3]`.
        path: String,
    },
}

/// `path` must be `expected` (a field of the wrong type or value).
pub fn invalid(path: &str, expected: &'static str) -> RequestError {
    RequestError::InvalidField {
        path: path.to_owned(),
        expected,
    }
}

impl From<ToolFault> for RequestError {
    fn from(fault: ToolFault) -> Self {
        match fault {
            ToolFault::Invalid { path, expected } => RequestError::InvalidField { path, expected },
            ToolFault::UnsupportedType { path, kind } => {
                RequestError::UnsupportedToolType { path, kind }
            }
        }
    }
}
