//! Anthropic Messages (clients on `/v1/messages`) <-> OpenAI Chat Completions
//! (the provider): the request going up, the response, error and event stream back.

mod error;
mod request;
mod request_messages;
mod response;
mod stream;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod unit_tests;

pub use error::{RequestError, ResponseError, StreamError};
pub use request::{translate_request, MaxTokensField, TranslatedRequest};
pub use response::{error_type, translate_completion, translate_error};
pub use stream::{OpenAiToAnthropicStream, StreamOptions};
