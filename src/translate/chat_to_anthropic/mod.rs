//! OpenAI Chat Completions <-> Anthropic Messages: the request going up, the
//! response, error and event stream coming back.

mod error;
mod request;
mod request_messages;
mod response;
mod response_format;
mod stream;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod response_format_tests;
#[cfg(test)]
mod stream_tests;

pub use error::{RequestError, ResponseError, StreamError};
pub use request::{translate_request, TranslatedRequest, DEFAULT_MAX_TOKENS};
pub use response::{translate_error, translate_message};
pub use response_format::{JSON_TOOL_DESCRIPTION, JSON_TOOL_NAME};
pub use stream::{AnthropicToOpenAiStream, StreamOptions};
