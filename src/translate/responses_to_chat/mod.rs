//! OpenAI Responses (clients on `/v1/responses`) <-> OpenAI Chat Completions (the
//! provider): the request going up, the response, error and event stream back.

mod echo;
mod error;
mod object;
mod request;
mod request_items;
mod response;
mod stream;
mod stream_events;
mod stream_items;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod response_tests;

pub use echo::ResponseEcho;
pub use error::{RequestError, ResponseError, StreamError};
pub use object::ResponseOptions;
pub use request::{input_items, translate_request, TranslatedRequest};
pub use response::{error_type, output_items, translate_error, translate_response};
pub use stream::ChatToResponsesStream;
