//! The Responses `response` object shared by the whole-body and stream translators:
//! its ids and echoed fields, status, output item shapes and usage from Chat's.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::echo::ResponseEcho;

/// Ids and echoed fields of one translated response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseOptions {
    /// The response id chosen by the gateway, e.g. `resp_0193...`; item ids derive from it.
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The model as the client named it, e.g. `anthropic/claude-x`.
    pub model: String,
    /// The request's echoed fields ([`super::TranslatedRequest::echo`]).
    pub echo: ResponseEcho,
}

impl ResponseOptions {
    /// The response id without its `resp_` prefix, which item ids are built on.
    fn id_stem(&self) -> &str {
        self.id.strip_prefix("resp_").unwrap_or(&self.id)
    }

    /// The id of the `n`th message item: `msg_<stem>`, then `msg_<stem>_<n>`.
    pub(super) fn message_id(&self, n: usize) -> String {
        match n {
            0 => format!("msg_{}", self.id_stem()),
            n => format!("msg_{}_{n}", self.id_stem()),
        }
    }

    /// The id of the `n`th function call item: `fc_<stem>_<n>`.
    pub(super) fn function_call_id(&self, n: usize) -> String {
        format!("fc_{}_{n}", self.id_stem())
    }
}

/// How the answer ended, from Chat's `finish_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// `stop`, `tool_calls` or anything else that is a whole answer.
    Completed,
    /// `length`: Responses' `max_output_tokens`.
    MaxOutputTokens,
    /// `content_filter`.
    ContentFilter,
}

impl Ending {
    pub fn of_finish_reason(finish_reason: Option<&str>) -> Self {
        match finish_reason {
            Some("length") => Ending::MaxOutputTokens,
            Some("content_filter") => Ending::ContentFilter,
            _ => Ending::Completed,
        }
    }

    /// The response's `status`.
    pub fn status(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            _ => "incomplete",
        }
    }

    /// The terminal stream event: `response.completed` or `response.incomplete`.
    pub fn event_type(self) -> &'static str {
        match self {
            Ending::Completed => "response.completed",
            _ => "response.incomplete",
        }
    }

    fn incomplete_details(self) -> Value {
        match self {
            Ending::Completed => Value::Null,
            Ending::MaxOutputTokens => json!({ "reason": "max_output_tokens" }),
            Ending::ContentFilter => json!({ "reason": "content_filter" }),
        }
    }
}

/// Chat Completions token counts.
#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChatUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl ChatUsage {
    /// Responses' `usage`: the same counts under their Responses names (input tokens
    /// include the cached ones and output tokens the reasoning ones, in both APIs).
    pub fn to_responses(self) -> Value {
        let cached = self.prompt_tokens_details.and_then(|d| d.cached_tokens);
        let reasoning = self
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens);
        let total = self
            .total_tokens
            .unwrap_or(self.prompt_tokens.saturating_add(self.completion_tokens));
        json!({
            "input_tokens": self.prompt_tokens,
            "input_tokens_details": { "cached_tokens": cached.unwrap_or(0) },
            "output_tokens": self.completion_tokens,
            "output_tokens_details": { "reasoning_tokens": reasoning.unwrap_or(0) },
            "total_tokens": total,
        })
    }
}

/// The `response` object. `ending` None is a response still in progress (the stream's
/// `response.created`), whose usage is null.
pub(super) fn response_object(
    options: &ResponseOptions,
    ending: Option<Ending>,
    output: Vec<Value>,
    usage: Option<ChatUsage>,
) -> Value {
    let mut response = Map::new();
    response.insert("id".into(), Value::String(options.id.clone()));
    response.insert("object".into(), json!("response"));
    response.insert("created_at".into(), json!(options.created_at));
    let status = ending.map_or("in_progress", Ending::status);
    response.insert("status".into(), json!(status));
    response.insert("error".into(), Value::Null);
    let details = ending.map_or(Value::Null, Ending::incomplete_details);
    response.insert("incomplete_details".into(), details);
    response.insert("model".into(), Value::String(options.model.clone()));
    response.insert("output".into(), Value::Array(output));
    response.insert("truncation".into(), json!("disabled"));
    let usage = ending.map(|_| usage.unwrap_or_default().to_responses());
    response.insert("usage".into(), usage.unwrap_or(Value::Null));
    options.echo.write_into(&mut response);
    Value::Object(response)
}

/// The status of every finished item, even in an incomplete response: the response's
/// own status tells of the cut, and clients (the Vercel AI SDK) accept no other.
pub(super) const ITEM_DONE: &str = "completed";

/// A text (or refusal) content part of a message item.
pub(super) fn content_part(refusal: bool, text: &str) -> Value {
    if refusal {
        json!({ "type": "refusal", "refusal": text })
    } else {
        json!({ "type": "output_text", "text": text, "annotations": [], "logprobs": [] })
    }
}

/// An assistant message item.
pub(super) fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({ "id": id, "type": "message", "status": status, "role": "assistant", "content": content })
}

/// A function call item; `call_id` is the Chat tool call's id.
pub(super) fn function_call_item(
    id: &str,
    status: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
) -> Value {
    json!({
        "id": id, "type": "function_call", "status": status,
        "call_id": call_id, "name": name, "arguments": arguments,
    })
}
