//! OpenAI `messages` -> Anthropic `system` + `messages`: roles, content parts,
//! images, assistant tool calls and tool results.

use serde_json::{json, Map, Value};

use super::error::RequestError;
pub(super) use crate::translate::request_error::invalid;

/// The Anthropic view of an OpenAI conversation.
pub(super) struct Conversation {
    /// System and developer messages, wherever they appeared: a string for one
    /// text, an array of text blocks for several (so no boundary is lost).
    pub system: Option<Value>,
    pub messages: Vec<Value>,
}

pub(super) fn convert_messages(messages: Option<Value>) -> Result<Conversation, RequestError> {
    let Some(Value::Array(messages)) = messages else {
        return Err(invalid("messages", "an array"));
    };
    let mut system_texts: Vec<Value> = Vec::new();
    let mut out: Vec<Value> = Vec::with_capacity(messages.len());
    // Consecutive `tool` messages answer one assistant turn: Anthropic wants all
    // their results in a single user message.
    let mut last_is_tool_results = false;
    for (i, message) in messages.into_iter().enumerate() {
        let path = format!("messages[{i}]");
        let Value::Object(mut message) = message else {
            return Err(invalid(&path, "an object"));
        };
        let role = match message.get("role") {
            Some(Value::String(role)) => role.clone(),
            _ => return Err(invalid(&format!("{path}.role"), "a string")),
        };
        let content = message.get_mut("content").map(Value::take);
        match role.as_str() {
            "system" | "developer" => {
                system_texts.extend(text_parts(content, &format!("{path}.content"))?);
            }
            "user" => {
                out.push(json!({ "role": "user", "content": user_content(content, &path)? }));
                last_is_tool_results = false;
            }
            "assistant" => {
                out.push(assistant_message(content, &mut message, &path)?);
                last_is_tool_results = false;
            }
            "tool" => {
                let result = tool_result(content, &message, &path)?;
                match out.last_mut().and_then(|m| m["content"].as_array_mut()) {
                    Some(blocks) if last_is_tool_results => blocks.push(result),
                    _ => out.push(json!({ "role": "user", "content": [result] })),
                }
                last_is_tool_results = true;
            }
            _ => {
                return Err(RequestError::UnsupportedRole { path, role });
            }
        }
    }
    let system = match system_texts.len() {
        0 => None,
        1 => system_texts.pop().map(|mut block| block["text"].take()),
        _ => Some(Value::Array(system_texts)),
    };
    Ok(Conversation {
        system,
        messages: out,
    })
}

fn text_block(text: Value) -> Value {
    json!({ "type": "text", "text": text })
}

/// Content that may only hold text (system, developer, tool): a string or an array
/// of `text` parts, returned as text blocks.
fn text_parts(content: Option<Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    match content {
        Some(text @ Value::String(_)) => Ok(vec![text_block(text)]),
        Some(Value::Array(parts)) => parts
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let part_path = format!("{path}[{i}]");
                let Value::Object(mut part) = part else {
                    return Err(invalid(&part_path, "an object"));
                };
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => Ok(text_block(part_text(&mut part, &part_path)?)),
                    Some(other) => Err(RequestError::UnsupportedContentPart {
                        path: part_path,
                        kind: other.to_owned(),
                    }),
                    None => Err(invalid(&format!("{part_path}.type"), "a string")),
                }
            })
            .collect(),
        _ => Err(invalid(path, "a string or an array of content parts")),
    }
}

fn part_text(part: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    match part.get_mut("text").map(Value::take) {
        Some(text @ Value::String(_)) => Ok(text),
        _ => Err(invalid(&format!("{path}.text"), "a string")),
    }
}

/// A user turn: a string stays a string; parts become text and image blocks.
fn user_content(content: Option<Value>, path: &str) -> Result<Value, RequestError> {
    let path = format!("{path}.content");
    let parts = match content {
        Some(text @ Value::String(_)) => return Ok(text),
        Some(Value::Array(parts)) => parts,
        _ => return Err(invalid(&path, "a string or an array of content parts")),
    };
    let mut blocks = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{i}]");
        let Value::Object(mut part) = part else {
            return Err(invalid(&part_path, "an object"));
        };
        let block = match part.get("type").and_then(Value::as_str) {
            Some("text") => text_block(part_text(&mut part, &part_path)?),
            Some("image_url") => image_block(&mut part, &part_path)?,
            Some(other) => {
                return Err(RequestError::UnsupportedContentPart {
                    path: part_path,
                    kind: other.to_owned(),
                })
            }
            None => return Err(invalid(&format!("{part_path}.type"), "a string")),
        };
        blocks.push(block);
    }
    Ok(Value::Array(blocks))
}

/// `image_url` (an object with `url`, or the older bare string) -> an Anthropic
/// image block with a `url` or `base64` source. `detail` has no equivalent.
fn image_block(part: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let url_path = format!("{path}.image_url.url");
    let url = match part.get_mut("image_url").map(Value::take) {
        Some(Value::String(url)) => url,
        Some(Value::Object(mut image)) => match image.get_mut("url").map(Value::take) {
            Some(Value::String(url)) => url,
            _ => return Err(invalid(&url_path, "a string")),
        },
        _ => {
            return Err(invalid(
                &format!("{path}.image_url"),
                "an object with a url",
            ))
        }
    };
    let source = if url.starts_with("https://") || url.starts_with("http://") {
        json!({ "type": "url", "url": url })
    } else if let Some(rest) = url.strip_prefix("data:") {
        let (media_type, data) = split_base64_data_url(rest)
            .ok_or(RequestError::UnsupportedImageUrl { path: url_path })?;
        json!({ "type": "base64", "media_type": media_type, "data": data })
    } else {
        return Err(RequestError::UnsupportedImageUrl { path: url_path });
    };
    Ok(json!({ "type": "image", "source": source }))
}

/// `image/png;base64,AAAA` -> (`image/png`, `AAAA`). Percent-encoded data URLs are
/// refused: Anthropic only takes base64.
fn split_base64_data_url(rest: &str) -> Option<(&str, &str)> {
    let (header, data) = rest.split_once(',')?;
    let mut params = header.split(';');
    let media_type = params.next()?.trim();
    let is_base64 = params.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let (kind, subtype) = media_type.split_once('/')?;
    (is_base64 && !kind.is_empty() && !subtype.is_empty() && !data.is_empty())
        .then_some((media_type, data))
}

/// An assistant turn. Without tool calls its content keeps its shape; with them it
/// becomes text blocks followed by `tool_use` blocks.
fn assistant_message(
    content: Option<Value>,
    message: &mut Map<String, Value>,
    path: &str,
) -> Result<Value, RequestError> {
    let content_path = format!("{path}.content");
    let tool_calls = match message.get_mut("tool_calls").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(calls)) => calls,
        Some(_) => return Err(invalid(&format!("{path}.tool_calls"), "an array")),
    };
    let mut blocks = match content {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if tool_calls.is_empty() => {
            return Ok(json!({ "role": "assistant", "content": text }))
        }
        Some(Value::String(text)) if text.is_empty() => Vec::new(),
        Some(text @ Value::String(_)) => vec![text_block(text)],
        Some(Value::Array(parts)) => assistant_parts(parts, &content_path)?,
        Some(_) => return Err(invalid(&content_path, "a string, an array or null")),
    };
    for (i, call) in tool_calls.into_iter().enumerate() {
        blocks.push(tool_use_block(call, &format!("{path}.tool_calls[{i}]"))?);
    }
    Ok(json!({ "role": "assistant", "content": blocks }))
}

/// Assistant parts are `text` or `refusal`; a refusal was said to the user, so it
/// is kept as text.
fn assistant_parts(parts: Vec<Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    let mut blocks = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{i}]");
        let Value::Object(mut part) = part else {
            return Err(invalid(&part_path, "an object"));
        };
        let text = match part.get("type").and_then(Value::as_str) {
            Some("text") => part_text(&mut part, &part_path)?,
            Some("refusal") => match part.get_mut("refusal").map(Value::take) {
                Some(text @ Value::String(_)) => text,
                _ => return Err(invalid(&format!("{part_path}.refusal"), "a string")),
            },
            Some(other) => {
                return Err(RequestError::UnsupportedContentPart {
                    path: part_path,
                    kind: other.to_owned(),
                })
            }
            None => return Err(invalid(&format!("{part_path}.type"), "a string")),
        };
        blocks.push(text_block(text));
    }
    Ok(blocks)
}

/// `{id, type: function, function: {name, arguments}}` -> `tool_use` with the
/// arguments string parsed into the `input` object Anthropic requires.
fn tool_use_block(call: Value, path: &str) -> Result<Value, RequestError> {
    let Value::Object(mut call) = call else {
        return Err(invalid(path, "an object"));
    };
    let id = match call.get_mut("id").map(Value::take) {
        Some(id @ Value::String(_)) => id,
        _ => return Err(invalid(&format!("{path}.id"), "a string")),
    };
    let Some(Value::Object(mut function)) = call.get_mut("function").map(Value::take) else {
        return Err(invalid(&format!("{path}.function"), "an object"));
    };
    let name = match function.get_mut("name").map(Value::take) {
        Some(name @ Value::String(_)) => name,
        _ => return Err(invalid(&format!("{path}.function.name"), "a string")),
    };
    let args_path = format!("{path}.function.arguments");
    let input = match function.get("arguments") {
        // Models send "" for a call without arguments.
        None | Some(Value::Null) => json!({}),
        Some(Value::String(args)) if args.trim().is_empty() => json!({}),
        Some(Value::String(args)) => match serde_json::from_str::<Value>(args) {
            Ok(obj @ Value::Object(_)) => obj,
            _ => return Err(RequestError::InvalidToolArguments { path: args_path }),
        },
        Some(_) => return Err(RequestError::InvalidToolArguments { path: args_path }),
    };
    Ok(json!({ "type": "tool_use", "id": id, "name": name, "input": input }))
}

/// A `tool` message -> a `tool_result` block; text content keeps its shape.
fn tool_result(
    content: Option<Value>,
    message: &Map<String, Value>,
    path: &str,
) -> Result<Value, RequestError> {
    let tool_use_id = match message.get("tool_call_id") {
        Some(id @ Value::String(_)) => id.clone(),
        _ => return Err(invalid(&format!("{path}.tool_call_id"), "a string")),
    };
    let content = match content {
        Some(text @ Value::String(_)) => text,
        other => Value::Array(text_parts(other, &format!("{path}.content"))?),
    };
    Ok(json!({ "type": "tool_result", "tool_use_id": tool_use_id, "content": content }))
}
