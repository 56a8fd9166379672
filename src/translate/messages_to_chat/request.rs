//! Anthropic Messages request -> OpenAI Chat Completions request: limits, sampling,
//! stop sequences, stream, tools and tool_choice (messages are in `request_messages`).

use serde_json::{json, Map, Value};

use super::error::RequestError;
use super::request_messages::{convert_messages, invalid, system_message};

/// Which OpenAI field carries Anthropic's `max_tokens`. OpenAI's reasoning models
/// only take `max_completion_tokens`, while several OpenAI-compatible providers
/// only know `max_tokens`, so the caller picks per provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxTokensField {
    /// `max_tokens`: understood by every OpenAI-compatible provider.
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: OpenAI's current name, required by its o- and gpt-5 models.
    MaxCompletionTokens,
}

/// The OpenAI request body plus what the response side must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslatedRequest {
    /// The OpenAI Chat Completions request body (JSON).
    pub body: Vec<u8>,
    /// The client asked for a stream; the upstream request then also asks for
    /// `stream_options.include_usage`, which `message_delta` needs for its usage.
    pub stream: bool,
}

/// Translates an Anthropic Messages request body into an OpenAI Chat Completions
/// request for `model` (the caller has already resolved the provider's model name).
///
/// Fields OpenAI has no equivalent for (`top_k`, `thinking`, `cache_control`, ...)
/// are dropped; server tools and documents are refused.
pub fn translate_request(
    anthropic_body: &[u8],
    model: &str,
    max_tokens_field: MaxTokensField,
) -> Result<TranslatedRequest, RequestError> {
    let parsed: Value =
        serde_json::from_slice(anthropic_body).map_err(RequestError::InvalidJson)?;
    let Value::Object(mut req) = parsed else {
        return Err(invalid("(request body)", "a JSON object"));
    };
    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.to_owned()));
    let mut messages = Vec::new();
    if let Some(system) = system_message(req.get_mut("system").map(Value::take))? {
        messages.push(system);
    }
    convert_messages(req.get_mut("messages").map(Value::take), &mut messages)?;
    out.insert("messages".into(), Value::Array(messages));

    let max_tokens = req
        .get("max_tokens")
        .and_then(Value::as_u64)
        .filter(|&n| n > 0)
        .ok_or_else(|| invalid("max_tokens", "a positive integer"))?;
    let field = match max_tokens_field {
        MaxTokensField::MaxTokens => "max_tokens",
        MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
    };
    out.insert(field.into(), Value::from(max_tokens));
    for key in ["temperature", "top_p"] {
        match req.get_mut(key).map(Value::take) {
            None | Some(Value::Null) => {}
            Some(n @ Value::Number(_)) => {
                out.insert(key.into(), n);
            }
            Some(_) => return Err(invalid(key, "a number")),
        }
    }
    match req.get_mut("stop_sequences").map(Value::take) {
        None | Some(Value::Null) => {}
        Some(Value::Array(stops)) if stops.iter().all(Value::is_string) => {
            if !stops.is_empty() {
                out.insert("stop".into(), Value::Array(stops));
            }
        }
        Some(_) => return Err(invalid("stop_sequences", "an array of strings")),
    }
    let stream = match req.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("stream", "a boolean")),
    };
    if stream {
        out.insert("stream".into(), Value::Bool(true));
        out.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    translate_tools(&mut req, &mut out)?;
    if let Some(Value::String(user)) = req
        .get_mut("metadata")
        .and_then(|m| m.get_mut("user_id"))
        .map(Value::take)
    {
        out.insert("user".into(), Value::String(user));
    }
    let body = serde_json::to_vec(&Value::Object(out)).map_err(RequestError::Encode)?;
    Ok(TranslatedRequest { body, stream })
}

/// `tools` -> function tools; `tool_choice` -> OpenAI's, with
/// `disable_parallel_tool_use` as `parallel_tool_calls: false`.
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
        return Ok(());
    }
    let mut converted = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        converted.push(function_tool(tool, &format!("tools[{i}]"))?);
    }
    out.insert("tools".into(), Value::Array(converted));
    let Some(choice) = req.get("tool_choice").filter(|c| !c.is_null()) else {
        return Ok(());
    };
    let name = choice.get("name").and_then(Value::as_str);
    let openai_choice = match (choice.get("type").and_then(Value::as_str), name) {
        (Some("auto"), _) => json!("auto"),
        (Some("any"), _) => json!("required"),
        (Some("none"), _) => json!("none"),
        (Some("tool"), Some(name)) => json!({ "type": "function", "function": { "name": name } }),
        _ => {
            return Err(invalid(
                "tool_choice",
                "{\"type\": \"auto\" | \"any\" | \"none\"} or {\"type\": \"tool\", \"name\": ...}",
            ))
        }
    };
    out.insert("tool_choice".into(), openai_choice);
    if choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
        out.insert("parallel_tool_calls".into(), Value::Bool(false));
    }
    Ok(())
}

/// A client tool (no `type`, or `custom`) -> an OpenAI function tool.
fn function_tool(tool: Value, path: &str) -> Result<Value, RequestError> {
    let Value::Object(mut tool) = tool else {
        return Err(invalid(path, "an object"));
    };
    match tool.get("type").and_then(Value::as_str) {
        None | Some("custom") => {}
        Some(other) => {
            return Err(RequestError::UnsupportedToolType {
                path: path.to_owned(),
                kind: other.to_owned(),
            })
        }
    }
    let mut function = Map::new();
    match tool.get_mut("name").map(Value::take) {
        Some(name @ Value::String(_)) => function.insert("name".into(), name),
        _ => return Err(invalid(&format!("{path}.name"), "a string")),
    };
    match tool.get_mut("description").map(Value::take) {
        None | Some(Value::Null) => {}
        Some(d @ Value::String(_)) => {
            function.insert("description".into(), d);
        }
        Some(_) => return Err(invalid(&format!("{path}.description"), "a string")),
    }
    match tool.get_mut("input_schema").map(Value::take) {
        Some(schema @ Value::Object(_)) => {
            function.insert("parameters".into(), schema);
        }
        _ => return Err(invalid(&format!("{path}.input_schema"), "an object")),
    }
    Ok(json!({ "type": "function", "function": function }))
}
