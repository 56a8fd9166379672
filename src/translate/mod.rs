//! Translation between provider wire formats, so a client speaking one API can be
//! served by a provider speaking another. Pure functions and small state machines only.

pub mod anthropic;
mod function_tool;
#[cfg(test)]
mod golden;
pub mod google;
pub mod messages;
mod openai_chunks;
mod openai_messages;
mod request_error;
