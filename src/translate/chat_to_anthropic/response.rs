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

/// The finish reason of a reply; with the synthetic JSON tool, calling it is the
/// answer itself, so the client sees an ordinary `stop`.
pub(super) fn finish_reason_for(stop_reason: &str, json_tool: bool) -> &'static str {
    match finish_reason(stop_reason) {
        "tool_calls" if json_tool => "stop",
        reason => reason,
    }
}

/// Translates an Anthropic Message body into an OpenAI `chat.completion` body.
/// `created` (Unix seconds) comes from the caller, since Anthropic sends none; `id`
/// and `model` are the upstream's. `json_tool`: the request carried the synthetic
/// JSON tool (`TranslatedRequest::json_tool`), and it was the only tool, so the
/// first `tool_use` is the answer: its `input` alone becomes the content, so that the
/// client's JSON parse succeeds. Text beside it (a preamble such as "Hello") and any
/// later `tool_use` are left out (the log keeps the upstream body whole); without a
/// `tool_use` (cut short, refused) the content is null. No `tool_calls` then.
pub fn translate_message(
    anthropic_body: &[u8],
    created: u64,
    json_tool: bool,
) -> Result<Vec<u8>, ResponseError> {
    let message: Message<'_> =
        serde_json::from_slice(anthropic_body).map_err(|source| ResponseError::Malformed {
            expected: "message",
            source,
        })?;
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in message.content {
        match block {
            ContentBlock::ToolUse { input, .. } if json_tool => {
                if text.is_none() {
                    text = Some(input.to_string());
                }
            }
            ContentBlock::Text { .. } if json_tool => {}
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
            "finish_reason": finish_reason_for(
                message.stop_reason.as_deref().unwrap_or("end_turn"),
                json_tool,
            ),
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn message(content: Value, stop_reason: Value, usage: Value) -> Value {
        let body = json!({ "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": content, "stop_reason": stop_reason, "usage": usage });
        serde_json::from_slice(&translate_message(body.to_string().as_bytes(), 5, false).unwrap())
            .unwrap()
    }

    #[test]
    fn cache_writes_and_reads_are_prompt_tokens_and_reads_are_cached() {
        let usage = json!({ "input_tokens": 10, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000, "output_tokens": 7 });
        let out = message(
            json!([{ "type": "text", "text": "hi" }]),
            json!("end_turn"),
            usage,
        );
        assert_eq!(
            out["usage"],
            json!({ "prompt_tokens": 1110, "completion_tokens": 7, "total_tokens": 1117, "prompt_tokens_details": { "cached_tokens": 1000 } })
        );
        assert_eq!(out["created"], 5);
    }

    #[test]
    fn text_blocks_are_joined_and_a_tool_only_reply_has_null_content() {
        let two = json!([{ "type": "text", "text": "a" }, { "type": "thinking", "thinking": "x", "signature": "s" }, { "type": "text", "text": "b" }]);
        let out = message(two, json!("end_turn"), json!({}));
        assert_eq!(
            out["choices"][0]["message"],
            json!({ "role": "assistant", "content": "ab" })
        );
        let tool = json!([{ "type": "tool_use", "id": "t1", "name": "f", "input": {} }]);
        let out = message(tool, json!("tool_use"), json!({}));
        assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(
            out["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        for (stop, finish) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
            ("pause_turn", "stop"),
        ] {
            let out = message(json!([]), json!(stop), json!({}));
            assert_eq!(out["choices"][0]["finish_reason"], finish, "{stop}");
        }
    }

    #[test]
    fn bodies_that_are_not_what_they_claim_are_typed_errors() {
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            br#"{"type":"message"}"#,
        ] {
            let err = translate_message(body, 0, false).unwrap_err();
            assert!(matches!(
                err,
                ResponseError::Malformed {
                    expected: "message",
                    ..
                }
            ));
            let err = translate_error(body).unwrap_err();
            assert!(matches!(
                err,
                ResponseError::Malformed {
                    expected: "error",
                    ..
                }
            ));
        }
    }

    #[test]
    fn escaped_error_messages_survive() {
        let body = br#"{"type":"error","error":{"type":"invalid_request_error","message":"bad \"model\"\nfield"}}"#;
        let out: Value = serde_json::from_slice(&translate_error(body).unwrap()).unwrap();
        assert_eq!(out["error"]["message"], "bad \"model\"\nfield");
        assert_eq!(out["error"]["type"], "invalid_request_error");
    }
}
