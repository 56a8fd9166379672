//! OpenAI Chat Completions <-> Google Gemini (`generateContent`): the request and
//! upstream path going up, the response, error and event stream coming back.

mod error;
mod request;
mod request_contents;
mod response;
mod stream;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod unit_tests;

/// The same options as the Anthropic stream translator: id, model, created, include_usage.
pub use crate::translate::chat_to_anthropic::StreamOptions;
pub use error::{RequestError, ResponseError, StreamError};
pub use request::{translate_request, upstream_path, TranslatedRequest};
pub use response::{translate_error, translate_response};
pub use stream::GeminiToOpenAiStream;
