//! OpenAI `chat.completion` -> Anthropic Message, and OpenAI error body -> Anthropic
//! error body. The usage and stop-reason mappings are shared with the stream translator.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ResponseError;

#[derive(Deserialize)]
struct Completion<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    model: Cow<'a, str>,
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    message: ReplyMessage<'a>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ReplyMessage<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    refusal: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Vec<ToolCall<'a>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    function: Function<'a>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Cow<'a, str>,
}

/// OpenAI token counts.
#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OpenAiUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: u64,
}

impl OpenAiUsage {
    /// Anthropic's `usage`: OpenAI's prompt tokens include the cached ones, which
    /// Anthropic counts apart as cache reads. OpenAI reports no cache writes.
    pub fn to_anthropic(self) -> Value {
        let cached = self.prompt_tokens_details.map_or(0, |d| d.cached_tokens);
        json!({
            "input_tokens": self.prompt_tokens.saturating_sub(cached),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": self.completion_tokens,
        })
    }
}

/// OpenAI `finish_reason` -> Anthropic `stop_reason`. OpenAI does not say whether a
/// stop sequence ended the answer, so `stop` is always `end_turn`.
pub(super) fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Tool call arguments -> a `tool_use` input, which must be an object. Models
/// occasionally emit arguments that are not a JSON object; those are kept whole
/// under `arguments` rather than lost.
fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({ "arguments": arguments }),
    }
}

/// Translates an OpenAI `chat.completion` body into an Anthropic Message body.
/// `id` and `model` are the upstream's; only the first choice is read.
pub fn translate_completion(openai_body: &[u8]) -> Result<Vec<u8>, ResponseError> {
    let completion: Completion<'_> =
        serde_json::from_slice(openai_body).map_err(|source| ResponseError::Malformed {
            expected: "chat.completion",
            source,
        })?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or(ResponseError::NoChoices)?;
    let mut content = Vec::new();
    let message = choice.message;
    if let Some(text) = message
        .content
        .or(message.refusal)
        .filter(|t| !t.is_empty())
    {
        content.push(json!({ "type": "text", "text": text }));
    }
    for call in &message.tool_calls {
        content.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.function.name,
            "input": tool_input(&call.function.arguments),
        }));
    }
    let body = json!({
        "id": completion.id,
        "type": "message",
        "role": "assistant",
        "model": completion.model,
        "content": content,
        "stop_reason": stop_reason(choice.finish_reason.as_deref().unwrap_or("stop")),
        "stop_sequence": null,
        "usage": completion.usage.unwrap_or_default().to_anthropic(),
    });
    serde_json::to_vec(&body).map_err(ResponseError::Encode)
}

#[derive(Deserialize)]
pub(super) struct ErrorEnvelope<'a> {
    #[serde(borrow)]
    pub error: ErrorDetail<'a>,
}

#[derive(Deserialize)]
pub(super) struct ErrorDetail<'a> {
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

/// Anthropic's error `type` for an HTTP status, the way Anthropic's own API pairs
/// them (its SDKs pick the exception from the status; the type is for people).
pub fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

pub(super) fn anthropic_error(status: u16, message: &str) -> Value {
    json!({ "type": "error", "error": { "type": error_type(status), "message": message } })
}

/// Translates an OpenAI error body (`{"error":{"message",...}}`) sent with HTTP
/// `status` into Anthropic's `{"type":"error","error":{"type","message"}}`.
pub fn translate_error(openai_body: &[u8], status: u16) -> Result<Vec<u8>, ResponseError> {
    let envelope: ErrorEnvelope<'_> =
        serde_json::from_slice(openai_body).map_err(|source| ResponseError::Malformed {
            expected: "error",
            source,
        })?;
    serde_json::to_vec(&anthropic_error(status, &envelope.error.message))
        .map_err(ResponseError::Encode)
}
