//! Responses request -> Chat Completions request: instructions, history and input,
//! sampling and limits, stream, tools, tool_choice and `text.format`.

use serde_json::{json, Map, Value};

use super::echo::ResponseEcho;
use super::error::{invalid, RequestError};
use super::request_items::convert_items;

/// What a Responses request became.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslatedRequest {
    /// The Chat Completions request body (JSON), `model` set to the given bare model name.
    pub body: Vec<u8>,
    /// The client asked for a stream (`"stream": true`); the upstream request then
    /// also asks for `stream_options.include_usage`, which `response.completed` needs.
    pub stream: bool,
    /// Request fields a Responses object echoes back.
    pub echo: ResponseEcho,
    /// `previous_response_id` as the client sent it (the gateway resolves it).
    pub previous_response_id: Option<String>,
    /// `store` (default true).
    pub store: bool,
}

/// Translates a Responses request body into a Chat Completions request for `model`
/// (the provider's bare model name). `history` holds the Responses items of earlier
/// turns (rebuilt by the caller for `previous_response_id`); they go after
/// `instructions` and before this request's `input`.
///
/// Fields with no Chat equivalent that change nothing for the answer (`metadata`,
/// `store`, `include`, `truncation`, `service_tier`, ...) are not sent up; built-in
/// tools, files by id and `background` are refused.
pub fn translate_request(
    body: &[u8],
    model: &str,
    history: &[Value],
) -> Result<TranslatedRequest, RequestError> {
    let mut req = request_object(body)?;
    for field in ["background", "conversation", "prompt"] {
        if req
            .get(field)
            .is_some_and(|v| !v.is_null() && *v != Value::Bool(false))
        {
            return Err(RequestError::UnsupportedField { field });
        }
    }
    let echo = ResponseEcho::of_request(&req);
    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.to_owned()));
    let mut messages = Vec::new();
    match req.get_mut("instructions").map(Value::take) {
        None | Some(Value::Null) => {}
        Some(text @ Value::String(_)) => {
            messages.push(json!({ "role": "system", "content": text }))
        }
        Some(_) => return Err(invalid("instructions", "a string")),
    }
    convert_items(history.to_vec(), "history", &mut messages)?;
    convert_items(take_input(&mut req)?, "input", &mut messages)?;
    if messages.is_empty() {
        return Err(invalid(
            "input",
            "a string or a non-empty array of input items",
        ));
    }
    out.insert("messages".into(), Value::Array(messages));

    match req.get("max_output_tokens") {
        None | Some(Value::Null) => {}
        Some(n) if n.as_u64().is_some_and(|n| n > 0) => {
            out.insert("max_tokens".into(), n.clone());
        }
        Some(_) => return Err(invalid("max_output_tokens", "a positive integer")),
    }
    copy_field(&req, &mut out, "temperature", Value::is_number, "a number")?;
    copy_field(&req, &mut out, "top_p", Value::is_number, "a number")?;
    copy_field(
        &req,
        &mut out,
        "parallel_tool_calls",
        Value::is_boolean,
        "a boolean",
    )?;
    copy_field(&req, &mut out, "user", Value::is_string, "a string")?;
    reasoning_effort(&req, &mut out)?;
    let stream = flag(&req, "stream", false)?;
    if stream {
        out.insert("stream".into(), Value::Bool(true));
        out.insert("stream_options".into(), json!({ "include_usage": true }));
    }
    let store = flag(&req, "store", true)?;
    let previous_response_id = match req.get("previous_response_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(invalid("previous_response_id", "a string")),
    };
    translate_tools(&mut req, &mut out)?;
    translate_text_format(&mut req, &mut out)?;
    let body = serde_json::to_vec(&Value::Object(out)).map_err(RequestError::Encode)?;
    Ok(TranslatedRequest {
        body,
        stream,
        echo,
        previous_response_id,
        store,
    })
}

/// The items of one request's `input` as Responses items (a string input becomes one
/// user message item), for the gateway to store and rebuild conversations. The items
/// are returned as sent; [`translate_request`] is what checks them.
pub fn input_items(body: &[u8]) -> Result<Vec<Value>, RequestError> {
    take_input(&mut request_object(body)?)
}

fn request_object(body: &[u8]) -> Result<Map<String, Value>, RequestError> {
    match serde_json::from_slice(body).map_err(RequestError::InvalidJson)? {
        Value::Object(req) => Ok(req),
        _ => Err(invalid("(request body)", "a JSON object")),
    }
}

/// `input` as items: a string is one user message; absent is none (the history may
/// be the whole conversation).
fn take_input(req: &mut Map<String, Value>) -> Result<Vec<Value>, RequestError> {
    match req.get_mut("input").map(Value::take) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![json!({
            "type": "message",
            "role": "user",
            "content": [{ "type": "input_text", "text": text }],
        })]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid("input", "a string or an array of input items")),
    }
}

/// Whether a value has the JSON type a field wants (`Value::is_string`, ...).
type ValueCheck = fn(&Value) -> bool;

/// Copies `key` as is when `accept`ed; null is the same as absent.
fn copy_field(
    req: &Map<String, Value>,
    out: &mut Map<String, Value>,
    key: &str,
    accept: ValueCheck,
    expected: &'static str,
) -> Result<(), RequestError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(value) if accept(value) => {
            out.insert(key.into(), value.clone());
            Ok(())
        }
        Some(_) => Err(invalid(key, expected)),
    }
}

fn flag(req: &Map<String, Value>, key: &'static str, default: bool) -> Result<bool, RequestError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(key, "a boolean")),
    }
}

/// `reasoning.effort` -> `reasoning_effort`; `reasoning.summary` has no Chat equivalent.
fn reasoning_effort(
    req: &Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), RequestError> {
    let effort = match req.get("reasoning") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(reasoning)) => reasoning.get("effort"),
        Some(_) => return Err(invalid("reasoning", "an object")),
    };
    match effort {
        None | Some(Value::Null) => {}
        Some(effort @ Value::String(_)) => {
            out.insert("reasoning_effort".into(), effort.clone());
        }
        Some(_) => return Err(invalid("reasoning.effort", "a string")),
    }
    Ok(())
}

/// `tools` (flat function tools) -> Chat's `{"type":"function","function":{...}}`;
/// `tool_choice` -> Chat's.
fn translate_tools(
    req: &mut Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), RequestError> {
    let tools = match req.get_mut("tools").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(invalid("tools", "an array")),
    };
    if !tools.is_empty() {
        let converted = tools
            .into_iter()
            .enumerate()
            .map(|(i, tool)| function_tool(tool, &format!("tools[{i}]")))
            .collect::<Result<Vec<Value>, _>>()?;
        out.insert("tools".into(), Value::Array(converted));
    }
    let choice = match req.get("tool_choice") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(mode)) if ["auto", "none", "required"].contains(&mode.as_str()) => {
            Value::String(mode.clone())
        }
        Some(Value::Object(choice)) => match choice.get("type").and_then(Value::as_str) {
            Some("function") => match choice.get("name") {
                Some(name @ Value::String(_)) => {
                    json!({ "type": "function", "function": { "name": name } })
                }
                _ => return Err(invalid("tool_choice.name", "a string")),
            },
            Some(kind) => {
                return Err(RequestError::UnsupportedToolType {
                    path: "tool_choice".into(),
                    kind: kind.to_owned(),
                })
            }
            None => return Err(invalid("tool_choice.type", "a string")),
        },
        Some(_) => {
            return Err(invalid(
                "tool_choice",
                "\"auto\", \"none\", \"required\" or {\"type\": \"function\", \"name\": ...}",
            ))
        }
    };
    out.insert("tool_choice".into(), choice);
    Ok(())
}

/// A Responses function tool -> a Chat function tool; any other type is a built-in
/// tool only OpenAI runs.
fn function_tool(tool: Value, path: &str) -> Result<Value, RequestError> {
    let Value::Object(mut tool) = tool else {
        return Err(invalid(path, "an object"));
    };
    match tool.get("type").and_then(Value::as_str) {
        Some("function") => {}
        Some(other) => {
            return Err(RequestError::UnsupportedToolType {
                path: path.to_owned(),
                kind: other.to_owned(),
            })
        }
        None => return Err(invalid(&format!("{path}.type"), "a string")),
    }
    let mut function = Map::new();
    let members: [(&str, ValueCheck, &'static str); 4] = [
        ("name", Value::is_string, "a string"),
        ("description", Value::is_string, "a string"),
        ("parameters", Value::is_object, "an object"),
        ("strict", Value::is_boolean, "a boolean"),
    ];
    for (key, accept, expected) in members {
        match tool.get_mut(key).map(Value::take) {
            None | Some(Value::Null) if key != "name" => {}
            Some(value) if accept(&value) => {
                function.insert(key.into(), value);
            }
            _ => return Err(invalid(&format!("{path}.{key}"), expected)),
        }
    }
    Ok(json!({ "type": "function", "function": function }))
}

/// `text.format` -> `response_format`: a JSON schema (its members moved under
/// `json_schema`), JSON mode, or nothing for plain text.
fn translate_text_format(
    req: &mut Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<(), RequestError> {
    let format = match req.get_mut("text").map(Value::take) {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(mut text)) => match text.get_mut("format").map(Value::take) {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Object(format)) => format,
            Some(_) => return Err(invalid("text.format", "an object")),
        },
        Some(_) => return Err(invalid("text", "an object")),
    };
    let response_format = match format.get("type").and_then(Value::as_str) {
        Some("text") => return Ok(()),
        Some("json_object") => json!({ "type": "json_object" }),
        Some("json_schema") => {
            let mut schema = Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(value) = format.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.into(), value.clone());
                }
            }
            if !schema.get("name").is_some_and(Value::is_string) {
                return Err(invalid("text.format.name", "a string"));
            }
            if !schema.get("schema").is_some_and(Value::is_object) {
                return Err(invalid("text.format.schema", "an object"));
            }
            json!({ "type": "json_schema", "json_schema": schema })
        }
        _ => {
            return Err(invalid(
                "text.format.type",
                "\"text\", \"json_object\" or \"json_schema\"",
            ))
        }
    };
    out.insert("response_format".into(), response_format);
    Ok(())
}
