//! Responses input items -> Chat Completions `messages`: message items and their content
//! parts, `function_call` items as assistant tool calls, `function_call_output` as tool messages.

use serde_json::{json, Map, Value};

use super::error::{invalid, RequestError};

/// Converts the items under `list` (named `list[i]` in errors), appending the Chat
/// messages to `out`. Reasoning items are dropped: Chat has no place for them.
pub(super) fn convert_items(
    items: Vec<Value>,
    list: &str,
    out: &mut Vec<Value>,
) -> Result<(), RequestError> {
    for (i, item) in items.into_iter().enumerate() {
        let path = format!("{list}[{i}]");
        let Value::Object(mut item) = item else {
            return Err(invalid(&path, "an object"));
        };
        // Messages may leave out `"type": "message"` (the SDKs' easy input form).
        let kind = match item.get("type") {
            None | Some(Value::Null) if item.contains_key("role") => "message".to_owned(),
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(invalid(&format!("{path}.type"), "a string")),
        };
        match kind.as_str() {
            "message" => out.push(message(&mut item, &path)?),
            "function_call" => push_tool_call(function_call(&mut item, &path)?, out),
            "function_call_output" => out.push(function_call_output(&mut item, &path)?),
            "reasoning" => {}
            _ => return Err(RequestError::UnsupportedItemType { path, kind }),
        }
    }
    Ok(())
}

/// A message item -> a Chat message; `developer` is Chat's `system`.
fn message(item: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let role = match item.get("role") {
        Some(Value::String(role)) => role.clone(),
        _ => return Err(invalid(&format!("{path}.role"), "a string")),
    };
    let content = item.get_mut("content").map(Value::take);
    let content_path = format!("{path}.content");
    match role.as_str() {
        "user" => Ok(json!({ "role": "user", "content": user_content(content, &content_path)? })),
        // Every Chat provider takes string content for these; not all take parts.
        "system" | "developer" => {
            let text = joined_text(content, &content_path, &["input_text"])?;
            Ok(json!({ "role": "system", "content": text }))
        }
        "assistant" => {
            let kinds = ["output_text", "refusal", "input_text"];
            let text = joined_text(content, &content_path, &kinds)?;
            Ok(json!({ "role": "assistant", "content": text }))
        }
        _ => Err(RequestError::UnsupportedRole {
            path: path.to_owned(),
            role,
        }),
    }
}

/// A user message's content: a string as is, parts as Chat `text` and `image_url` parts.
fn user_content(content: Option<Value>, path: &str) -> Result<Value, RequestError> {
    let parts = match content {
        Some(text @ Value::String(_)) => return Ok(text),
        Some(Value::Array(parts)) => parts,
        _ => return Err(invalid(path, "a string or an array of content parts")),
    };
    let mut converted = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{i}]");
        let (kind, mut part) = typed_part(part, &part_path)?;
        converted.push(match kind.as_str() {
            "input_text" => {
                json!({ "type": "text", "text": part_text(&mut part, &part_path, "text")? })
            }
            "input_image" => image_part(&mut part, &part_path)?,
            _ => {
                return Err(RequestError::UnsupportedContentPart {
                    path: part_path,
                    kind,
                })
            }
        });
    }
    // One text part is sent as a string, which every Chat provider takes (not all
    // take parts); this is also what a string `input` becomes.
    if let [part] = converted.as_mut_slice() {
        if part["type"] == "text" {
            return Ok(part["text"].take());
        }
    }
    Ok(Value::Array(converted))
}

/// An `input_image` part -> an `image_url` part, its `detail` kept.
fn image_part(part: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let mut image = Map::new();
    match part.get_mut("image_url").map(Value::take) {
        Some(url @ Value::String(_)) => image.insert("url".into(), url),
        None | Some(Value::Null) if part.get("file_id").is_some_and(|id| !id.is_null()) => {
            return Err(RequestError::UnsupportedFileId {
                path: path.to_owned(),
            })
        }
        _ => return Err(invalid(&format!("{path}.image_url"), "a string")),
    };
    match part.get_mut("detail").map(Value::take) {
        None | Some(Value::Null) => {}
        Some(detail @ Value::String(_)) => {
            image.insert("detail".into(), detail);
        }
        Some(_) => return Err(invalid(&format!("{path}.detail"), "a string")),
    }
    Ok(json!({ "type": "image_url", "image_url": image }))
}

/// Content that may only hold text: a string, or parts of the `kinds` given, whose
/// texts are joined (each kind's text is in the member of its name, `text` or `refusal`).
fn joined_text(content: Option<Value>, path: &str, kinds: &[&str]) -> Result<String, RequestError> {
    let parts = match content {
        Some(Value::String(text)) => return Ok(text),
        Some(Value::Array(parts)) => parts,
        _ => return Err(invalid(path, "a string or an array of content parts")),
    };
    let mut text = String::new();
    for (i, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{i}]");
        let (kind, mut part) = typed_part(part, &part_path)?;
        if !kinds.contains(&kind.as_str()) {
            return Err(RequestError::UnsupportedContentPart {
                path: part_path,
                kind,
            });
        }
        let member = if kind == "refusal" { "refusal" } else { "text" };
        text.push_str(&part_text(&mut part, &part_path, member)?);
    }
    Ok(text)
}

/// A content part checked to be an object with a string `type`.
fn typed_part(part: Value, path: &str) -> Result<(String, Map<String, Value>), RequestError> {
    let Value::Object(part) = part else {
        return Err(invalid(path, "an object"));
    };
    match part.get("type") {
        Some(Value::String(kind)) => Ok((kind.clone(), part)),
        _ => Err(invalid(&format!("{path}.type"), "a string")),
    }
}

fn part_text(
    part: &mut Map<String, Value>,
    path: &str,
    member: &str,
) -> Result<String, RequestError> {
    match part.get_mut(member).map(Value::take) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(invalid(&format!("{path}.{member}"), "a string")),
    }
}

fn string_field(
    item: &mut Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Value, RequestError> {
    match item.get_mut(key).map(Value::take) {
        Some(value @ Value::String(_)) => Ok(value),
        _ => Err(invalid(&format!("{path}.{key}"), "a string")),
    }
}

/// A `function_call` item -> a Chat tool call (the Responses `call_id` is Chat's `id`).
fn function_call(item: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let id = string_field(item, path, "call_id")?;
    let name = string_field(item, path, "name")?;
    let arguments = string_field(item, path, "arguments")?;
    Ok(
        json!({ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } }),
    )
}

/// Adds a tool call to the assistant message just before it (its text, or the calls
/// before it), else to a new one: Chat wants one assistant turn holding all its calls.
fn push_tool_call(call: Value, out: &mut Vec<Value>) {
    if let Some(Value::Object(last)) = out.last_mut() {
        if last.get("role").and_then(Value::as_str) == Some("assistant") {
            match last.get_mut("tool_calls") {
                Some(Value::Array(calls)) => calls.push(call),
                _ => {
                    last.insert("tool_calls".into(), Value::Array(vec![call]));
                }
            }
            return;
        }
    }
    out.push(json!({ "role": "assistant", "content": null, "tool_calls": [call] }));
}

/// A `function_call_output` item -> a `tool` message. Chat tool messages hold text
/// only, so an image or file in the output is refused rather than dropped.
fn function_call_output(item: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let id = string_field(item, path, "call_id")?;
    let output_path = format!("{path}.output");
    let text = joined_text(
        item.get_mut("output").map(Value::take),
        &output_path,
        &["input_text"],
    )
    .map_err(|e| match e {
        RequestError::InvalidField { path, .. } if path == output_path => {
            invalid(&path, "a string or an array of input_text parts")
        }
        other => other,
    })?;
    Ok(json!({ "role": "tool", "tool_call_id": id, "content": text }))
}
