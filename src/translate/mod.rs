//! Translation between wire formats (pure functions, small state machines only): modules
//! named client API -> provider API, and `pairs`, which picks one per exchange.

pub mod chat_to_anthropic;
pub mod chat_to_gemini;
mod function_tool;
#[cfg(test)]
mod golden;
pub mod messages_to_chat;
mod openai_chunks;
mod openai_deltas;
mod openai_messages;
mod pairs;
#[cfg(test)]
mod pairs_tests;
mod request_error;
#[cfg(test)]
mod responses_fixture_tests;
pub mod responses_to_chat;

pub use pairs::{
    translate_body, ResponsesTranslation, ResponsesUpstream, StreamTranslator, Translation,
};
