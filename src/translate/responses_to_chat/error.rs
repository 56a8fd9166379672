//! Typed errors of the OpenAI Responses -> Chat Completions translation: what was wrong
//! with the client's request, or with what the Chat Completions upstream sent back.

/// A Responses request that cannot be expressed as a Chat Completions request.
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
        /// Where the field is, e.g. `input[2].content`.
        path: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// A message role other than `user`, `assistant`, `system` and `developer`.
    #[error("`{path}.role` = \"{role}\" is not supported")]
    UnsupportedRole {
        /// The message, e.g. `input[4]`.
        path: String,
        /// The role sent.
        role: String,
    },
    /// An input item Chat Completions has no equivalent for (`file_search_call`,
    /// `web_search_call`, `item_reference`, ...).
    #[error("`{path}.type` = \"{kind}\" is not supported for this provider")]
    UnsupportedItemType {
        /// The item, e.g. `input[1]`.
        path: String,
        /// The item type sent.
        kind: String,
    },
    /// A content part Chat Completions cannot carry here (`input_file`, `input_audio`,
    /// an image in a function call output, ...).
    #[error("`{path}.type` = \"{kind}\" is not supported for this provider")]
    UnsupportedContentPart {
        /// The part, e.g. `input[1].content[0]`.
        path: String,
        /// The part type sent.
        kind: String,
    },
    /// An image given by `file_id`: only OpenAI's own Files API can resolve it.
    #[error("`{path}.file_id` is not supported for this provider: send the image as `image_url`")]
    UnsupportedFileId {
        /// The part, e.g. `input[0].content[1]`.
        path: String,
    },
    /// A built-in tool (`web_search`, `file_search`, `code_interpreter`, `mcp`, ...) or
    /// a tool choice naming one: only OpenAI runs those.
    #[error("`{path}.type` = \"{kind}\" is not supported for this provider")]
    UnsupportedToolType {
        /// The tool, e.g. `tools[0]`.
        path: String,
        /// The tool type sent.
        kind: String,
    },
    /// A request field whose feature needs OpenAI's own Responses service
    /// (`background`, `conversation`, `prompt`).
    #[error("`{field}` is not supported for this provider")]
    UnsupportedField {
        /// The field, e.g. `background`.
        field: &'static str,
    },
}

/// `path` must be `expected` (a field of the wrong type or value).
pub(super) fn invalid(path: &str, expected: &'static str) -> RequestError {
    RequestError::InvalidField {
        path: path.to_owned(),
        expected,
    }
}

/// An upstream Chat Completions body, or a Responses object handed back, that is not
/// what it should be.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    /// The body is not JSON of the expected shape.
    #[error("body is not a valid {expected}: {source}")]
    Malformed {
        /// `chat.completion` or `response`.
        expected: &'static str,
        /// The parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// The completion has no choice to translate.
    #[error("upstream chat.completion has no choices")]
    NoChoices,
    /// A Responses object without an `output` array.
    #[error("response object has no `output` array")]
    NoOutput,
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
