//! OpenAI Chat Completions request -> Anthropic Messages request: sampling and
//! limit parameters, tools and tool_choice (messages are in `request_messages`).

use crate::translate::function_tool::{read_function_tool, read_tool_choice, ToolChoice};
use serde_json::{json, Map, Value};

use super::error::RequestError;
use super::request_messages::{convert_messages, invalid};
use super::response_format::apply_response_format;

/// Anthropic requires `max_tokens`; OpenAI makes it optional. When the client sets
/// neither `max_completion_tokens` nor `max_tokens`, this many are asked for: large
/// enough for ordinary answers, and accepted by every current Claude model.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The Anthropic request body plus what the response side must know about the
/// client's original request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslatedRequest {
    /// The Anthropic Messages request body (JSON).
    pub body: Vec<u8>,
    /// The client asked for a stream (`"stream": true`).
    pub stream: bool,
    /// The client asked for `stream_options.include_usage`: the stream translator
    /// must then end with a usage chunk.
    pub include_usage: bool,
    /// `response_format` asked for JSON and became this forced tool: the response
    /// side must turn its `tool_use` back into message content.
    pub json_tool: Option<String>,
}

/// Translates an OpenAI Chat Completions request body into an Anthropic Messages
/// request for `model` (the caller has already resolved the provider's model name).
///
/// Parameters Anthropic has no equivalent for (`seed`, `logprobs`, penalties, ...)
/// are dropped; a JSON `response_format` becomes a forced tool (see
/// `response_format`), or is dropped when the client sent tools of its own; `n > 1` is refused because the answer would
/// silently have fewer choices than asked for.
pub fn translate_request(
    openai_body: &[u8],
    model: &str,
) -> Result<TranslatedRequest, RequestError> {
    let parsed: Value = serde_json::from_slice(openai_body).map_err(RequestError::InvalidJson)?;
    let Value::Object(mut req) = parsed else {
        return Err(invalid("(request body)", "a JSON object"));
    };
    check_single_choice(&req)?;

    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.to_owned()));
    let conversation = convert_messages(req.get_mut("messages").map(Value::take))?;
    if let Some(system) = conversation.system {
        out.insert("system".into(), system);
    }
    out.insert("messages".into(), Value::Array(conversation.messages));
    out.insert("max_tokens".into(), Value::from(max_tokens(&req)?));
    for key in ["temperature", "top_p"] {
        if let Some(n) = optional_number(&req, key)? {
            out.insert(key.into(), n);
        }
    }
    if let Some(stops) = stop_sequences(&mut req)? {
        out.insert("stop_sequences".into(), stops);
    }
    let stream = optional_bool(&req, "stream")?.unwrap_or(false);
    if stream {
        out.insert("stream".into(), Value::Bool(true));
    }
    let include_usage = stream_include_usage(&req)?;
    translate_tools(&mut req, &mut out)?;
    let json_tool = apply_response_format(&mut req, &mut out)?;
    if let Some(Value::String(user)) = req.get_mut("user").map(Value::take) {
        out.insert("metadata".into(), json!({ "user_id": user }));
    }

    let body = serde_json::to_vec(&Value::Object(out)).map_err(RequestError::Encode)?;
    Ok(TranslatedRequest {
        body,
        stream,
        include_usage,
        json_tool,
    })
}

fn check_single_choice(req: &Map<String, Value>) -> Result<(), RequestError> {
    match req.get("n") {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_u64() {
            Some(1) => Ok(()),
            Some(n) if n > 1 => Err(RequestError::MultipleChoices(n)),
            _ => Err(invalid("n", "a positive integer")),
        },
    }
}

/// `max_completion_tokens` replaced `max_tokens` in the OpenAI API, so it wins when
/// both are present.
fn max_tokens(req: &Map<String, Value>) -> Result<u64, RequestError> {
    for key in ["max_completion_tokens", "max_tokens"] {
        match req.get(key) {
            None | Some(Value::Null) => continue,
            Some(v) => {
                return v
                    .as_u64()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| invalid(key, "a positive integer"));
            }
        }
    }
    Ok(DEFAULT_MAX_TOKENS)
}

fn optional_number(req: &Map<String, Value>, key: &str) -> Result<Option<Value>, RequestError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(_)) => Ok(Some(v.clone())),
        Some(_) => Err(invalid(key, "a number")),
    }
}

fn optional_bool(req: &Map<String, Value>, key: &str) -> Result<Option<bool>, RequestError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(key, "a boolean")),
    }
}

fn stream_include_usage(req: &Map<String, Value>) -> Result<bool, RequestError> {
    match req.get("stream_options") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(options)) => match options.get("include_usage") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(invalid("stream_options.include_usage", "a boolean")),
        },
        Some(_) => Err(invalid("stream_options", "an object")),
    }
}

/// `stop` is a string or an array of strings in OpenAI; Anthropic always wants an
/// array. An empty array means no stop sequences, so it is left out.
fn stop_sequences(req: &mut Map<String, Value>) -> Result<Option<Value>, RequestError> {
    match req.get_mut("stop").map(Value::take) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(Value::Array(vec![Value::String(s)]))),
        Some(Value::Array(items)) => {
            if items.iter().any(|s| !s.is_string()) {
                return Err(invalid("stop", "a string or an array of strings"));
            }
            Ok((!items.is_empty()).then_some(Value::Array(items)))
        }
        Some(_) => Err(invalid("stop", "a string or an array of strings")),
    }
}

/// `tools` and `tool_choice`, with `parallel_tool_calls: false` expressed as
/// Anthropic's `disable_parallel_tool_use` on the tool choice.
fn translate_tools(
    req: &mut Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), RequestError> {
    let tools = match req.get_mut("tools").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(invalid("tools", "an array")),
    };
    if tools.is_empty() {
        // Anthropic refuses a tool_choice without tools; with no tools there is nothing to choose.
        return Ok(());
    }
    let mut converted = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        converted.push(translate_tool(tool, &format!("tools[{i}]"))?);
    }
    out.insert("tools".into(), Value::Array(converted));

    let mut choice = read_tool_choice(req)?.map(|choice| match choice {
        ToolChoice::Auto => json!({ "type": "auto" }),
        ToolChoice::None => json!({ "type": "none" }),
        ToolChoice::Required => json!({ "type": "any" }),
        ToolChoice::Function(name) => json!({ "type": "tool", "name": name }),
    });
    if optional_bool(req, "parallel_tool_calls")? == Some(false) {
        let chosen = choice.get_or_insert_with(|| json!({ "type": "auto" }));
        if chosen["type"] != "none" {
            chosen["disable_parallel_tool_use"] = Value::Bool(true);
        }
    }
    if let Some(choice) = choice {
        out.insert("tool_choice".into(), choice);
    }
    Ok(())
}

fn translate_tool(tool: Value, path: &str) -> Result<Value, RequestError> {
    let tool = read_function_tool(tool, path)?;
    let mut out = Map::new();
    out.insert("name".into(), tool.name);
    if let Some(description) = tool.description {
        out.insert("description".into(), description);
    }
    // Anthropic requires a schema; OpenAI's default for a missing one is "no parameters".
    let schema = tool
        .parameters
        .unwrap_or_else(|| json!({ "type": "object", "properties": {} }));
    out.insert("input_schema".into(), schema);
    Ok(Value::Object(out))
}
