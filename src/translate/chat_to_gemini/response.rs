//! Gemini `GenerateContentResponse` -> OpenAI `chat.completion`, and Gemini error
//! body -> OpenAI error body. The types here are shared with the stream translator.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ResponseError;

/// One `GenerateContentResponse` (a whole answer, or one stream event).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerateContentResponse<'a> {
    #[serde(default)]
    pub candidates: Vec<Candidate<'a>>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(borrow, default)]
    pub model_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub response_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub prompt_feedback: Option<PromptFeedback<'a>>,
    /// Set instead of everything else when a stream fails midway.
    #[serde(borrow, default)]
    pub error: Option<ErrorDetail<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Candidate<'a> {
    #[serde(borrow, default)]
    pub content: Option<Content<'a>>,
    #[serde(borrow, default)]
    pub finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(super) struct Content<'a> {
    #[serde(borrow, default)]
    pub parts: Vec<Part<'a>>,
}

/// Only answer text and function calls reach an OpenAI client; thought summaries
/// (`thought: true`), signatures and inline media are dropped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Part<'a> {
    #[serde(borrow, default)]
    pub text: Option<Cow<'a, str>>,
    #[serde(default)]
    pub thought: bool,
    #[serde(borrow, default)]
    pub function_call: Option<FunctionCall<'a>>,
}

#[derive(Deserialize)]
pub(super) struct FunctionCall<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default)]
    pub args: Option<Value>,
}

impl FunctionCall<'_> {
    /// OpenAI's `arguments`: the args object as a JSON string, `{}` when absent.
    pub fn arguments(&self) -> String {
        match &self.args {
            Some(args @ Value::Object(_)) => args.to_string(),
            _ => "{}".to_owned(),
        }
    }

    /// Gemini's own call id where it sends one; else one made from the response id
    /// and the call's position, unique within the answer and stable across retries of
    /// the translation.
    pub fn call_id(&self, response_id: &str, tool_index: usize) -> String {
        match &self.id {
            Some(id) if !id.is_empty() => id.to_string(),
            _ if response_id.is_empty() => format!("call_{tool_index}"),
            _ => format!("call_{response_id}_{tool_index}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PromptFeedback<'a> {
    #[serde(borrow, default)]
    pub block_reason: Option<Cow<'a, str>>,
}

/// Gemini token counts; every stream event repeats the running totals.
#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct UsageMetadata {
    pub prompt_token_count: u64,
    pub candidates_token_count: u64,
    pub thoughts_token_count: u64,
    pub tool_use_prompt_token_count: u64,
    pub cached_content_token_count: u64,
}

impl UsageMetadata {
    /// OpenAI's `usage`: thinking is billed as output, so it counts in
    /// `completion_tokens` and is shown as `reasoning_tokens`, as OpenAI does for its
    /// reasoning models; tool-use prompt tokens are prompt tokens.
    pub fn to_openai(self) -> Value {
        let prompt = self
            .prompt_token_count
            .saturating_add(self.tool_use_prompt_token_count);
        let completion = self
            .candidates_token_count
            .saturating_add(self.thoughts_token_count);
        json!({
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt.saturating_add(completion),
            "prompt_tokens_details": { "cached_tokens": self.cached_content_token_count },
            "completion_tokens_details": { "reasoning_tokens": self.thoughts_token_count },
        })
    }
}

/// Gemini `finishReason` -> OpenAI `finish_reason`. Gemini says `STOP` after
/// function calls too, so `called_tools` decides between `stop` and `tool_calls`.
pub(super) fn finish_reason(reason: &str, called_tools: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
        | "LANGUAGE" => "content_filter",
        _ if called_tools => "tool_calls",
        _ => "stop",
    }
}

/// Translates a Gemini `generateContent` body into an OpenAI `chat.completion` body.
/// `created` (Unix seconds) comes from the caller, since Gemini sends none; `id` and
/// `model` are the upstream's `responseId` and `modelVersion`.
pub fn translate_response(gemini_body: &[u8], created: u64) -> Result<Vec<u8>, ResponseError> {
    let response: GenerateContentResponse<'_> =
        serde_json::from_slice(gemini_body).map_err(|source| ResponseError::Malformed {
            expected: "response",
            source,
        })?;
    let response_id = response.response_id.as_deref().unwrap_or("");
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    let candidate = response.candidates.first();
    let parts = candidate
        .and_then(|c| c.content.as_ref())
        .map_or(&[][..], |c| &c.parts);
    for part in parts.iter().filter(|p| !p.thought) {
        if let Some(t) = &part.text {
            text.get_or_insert_with(String::new).push_str(t);
        }
        if let Some(call) = &part.function_call {
            tool_calls.push(json!({
                "id": call.call_id(response_id, tool_calls.len()),
                "type": "function",
                "function": { "name": call.name, "arguments": call.arguments() },
            }));
        }
    }
    let finish = match candidate.and_then(|c| c.finish_reason.as_deref()) {
        Some(reason) => finish_reason(reason, !tool_calls.is_empty()),
        // No candidate at all means the prompt itself was blocked.
        None if candidate.is_none() => "content_filter",
        None => finish_reason("STOP", !tool_calls.is_empty()),
    };
    let mut message = json!({ "role": "assistant", "content": text });
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    let body = json!({
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": response.model_version.as_deref().unwrap_or(""),
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish }],
        "usage": response.usage_metadata.unwrap_or_default().to_openai(),
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
    #[serde(borrow, default)]
    pub status: Option<Cow<'a, str>>,
}

/// OpenAI's error object. Google's canonical `status` (`INVALID_ARGUMENT`,
/// `RESOURCE_EXHAUSTED`, ...) becomes the nearest OpenAI `type` and stays as `code`,
/// so nothing the upstream said is lost.
pub(super) fn openai_error(detail: &ErrorDetail<'_>) -> Value {
    let status = detail.status.as_deref();
    let kind = match status.unwrap_or("") {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" | "NOT_FOUND" => {
            "invalid_request_error"
        }
        "UNAUTHENTICATED" => "authentication_error",
        "PERMISSION_DENIED" => "permission_error",
        "RESOURCE_EXHAUSTED" => "rate_limit_error",
        "INTERNAL" | "UNAVAILABLE" | "DEADLINE_EXCEEDED" => "server_error",
        _ => "api_error",
    };
    json!({
        "error": { "message": detail.message, "type": kind, "param": null, "code": status }
    })
}

/// Translates a Gemini error body (`{"error":{"code","message","status"}}`) into
/// OpenAI's `{"error":{"message","type","param","code"}}`; the caller keeps the status.
pub fn translate_error(gemini_body: &[u8]) -> Result<Vec<u8>, ResponseError> {
    let envelope: ErrorEnvelope<'_> =
        serde_json::from_slice(gemini_body).map_err(|source| ResponseError::Malformed {
            expected: "error",
            source,
        })?;
    serde_json::to_vec(&openai_error(&envelope.error)).map_err(ResponseError::Encode)
}
