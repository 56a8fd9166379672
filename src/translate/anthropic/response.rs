//! Anthropic Message -> OpenAI `chat.completion`, and Anthropic error body ->
//! OpenAI error body (the HTTP status is kept by the caller).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ResponseError;

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    model: Cow<'a, str>,
    content: Vec<ContentBlock>,
    #[serde(borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Usage,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// `thinking`, `redacted_thinking` and block types newer than this code: the
    /// OpenAI shape has no place for them.
    #[serde(other)]
    Other,
}

/// Anthropic token counts. Every field is optional because `message_delta` events
/// carry only some of them; absent means "unchanged".
#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Usage {
    pub input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

impl Usage {
    /// Takes every count `later` carries, keeps the others.
    pub fn update(&mut self, later: &Usage) {
        let fields = [
            (&mut self.input_tokens, later.input_tokens),
            (
                &mut self.cache_creation_input_tokens,
                later.cache_creation_input_tokens,
            ),
            (
                &mut self.cache_read_input_tokens,
                later.cache_read_input_tokens,
            ),
            (&mut self.output_tokens, later.output_tokens),
        ];
        for (mine, theirs) in fields {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }

    /// OpenAI's `usage`: cache writes and reads are input tokens too (Anthropic
    /// counts them apart from `input_tokens`), and reads are OpenAI's cached tokens.
    pub fn to_openai(self) -> Value {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        let prompt = self
            .input_tokens
            .unwrap_or(0)
            .saturating_add(self.cache_creation_input_tokens.unwrap_or(0))
            .saturating_add(cached);
        let completion = self.output_tokens.unwrap_or(0);
        json!({
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt.saturating_add(completion),
            "prompt_tokens_details": { "cached_tokens": cached },
        })
    }
}

/// Anthropic `stop_reason` -> OpenAI `finish_reason`. `pause_turn` and reasons
/// newer than this code end the turn as far as an OpenAI client can tell.
pub(super) fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// Translates an Anthropic Message body into an OpenAI `chat.completion` body.
/// `created` (Unix seconds) comes from the caller, since Anthropic sends none; `id`
/// and `model` are the upstream's.
pub fn translate_message(anthropic_body: &[u8], created: u64) -> Result<Vec<u8>, ResponseError> {
    let message: Message<'_> =
        serde_json::from_slice(anthropic_body).map_err(|source| ResponseError::Malformed {
            expected: "message",
            source,
        })?;
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in message.content {
        match block {
            ContentBlock::Text { text: t } => text.get_or_insert_with(String::new).push_str(&t),
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(json!({
                "id": id,
                "type": "function",
                "function": { "name": name, "arguments": input.to_string() },
            })),
            ContentBlock::Other => {}
        }
    }
    let mut reply = json!({ "role": "assistant", "content": text });
    if !tool_calls.is_empty() {
        reply["tool_calls"] = Value::Array(tool_calls);
    }
    let body = json!({
        "id": message.id,
        "object": "chat.completion",
        "created": created,
        "model": message.model,
        "choices": [{
            "index": 0,
            "message": reply,
            "logprobs": null,
            "finish_reason": finish_reason(message.stop_reason.as_deref().unwrap_or("end_turn")),
        }],
        "usage": message.usage.to_openai(),
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
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

/// OpenAI's error object. Anthropic's error `type` (`invalid_request_error`,
/// `rate_limit_error`, `overloaded_error`, ...) is kept: several are OpenAI's own
/// names, and OpenAI SDKs pick the exception from the HTTP status, not the type.
pub(super) fn openai_error(detail: &ErrorDetail<'_>) -> Value {
    json!({
        "error": {
            "message": detail.message,
            "type": detail.kind,
            "param": null,
            "code": null,
        }
    })
}

/// Translates an Anthropic error body (`{"type":"error","error":{"type","message"}}`)
/// into OpenAI's `{"error":{"message","type","param","code"}}` with the same message.
pub fn translate_error(anthropic_body: &[u8]) -> Result<Vec<u8>, ResponseError> {
    let envelope: ErrorEnvelope<'_> =
        serde_json::from_slice(anthropic_body).map_err(|source| ResponseError::Malformed {
            expected: "error",
            source,
        })?;
    serde_json::to_vec(&openai_error(&envelope.error)).map_err(ResponseError::Encode)
}
