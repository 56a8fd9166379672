//! Anthropic `system` + `messages` -> OpenAI `messages`: content blocks, images,
//! `tool_use` as assistant tool calls, `tool_result` as `tool` messages.

use serde_json::{json, Map, Value};

use super::error::RequestError;

pub(super) fn invalid(path: &str, expected: &'static str) -> RequestError {
    RequestError::InvalidField {
        path: path.to_owned(),
        expected,
    }
}

/// `system` (a string or text blocks) -> one system message. Several blocks are
/// joined with a blank line: every OpenAI-style provider takes a string, not all
/// take content parts on a system message.
pub(super) fn system_message(system: Option<Value>) -> Result<Option<Value>, RequestError> {
    let text = match system {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text,
        Some(Value::Array(blocks)) => {
            let texts = blocks
                .into_iter()
                .enumerate()
                .map(|(i, block)| block_text(block, &format!("system[{i}]")))
                .collect::<Result<Vec<String>, _>>()?;
            texts.join("\n\n")
        }
        Some(_) => return Err(invalid("system", "a string or an array of text blocks")),
    };
    Ok(Some(json!({ "role": "system", "content": text })))
}

/// The text of a block that must be a `text` block.
fn block_text(block: Value, path: &str) -> Result<String, RequestError> {
    let Value::Object(mut block) = block else {
        return Err(invalid(path, "an object"));
    };
    match block_type(&block, path)? {
        "text" => text_field(&mut block, path),
        other => Err(RequestError::UnsupportedContentBlock {
            kind: other.to_owned(),
            path: path.to_owned(),
        }),
    }
}

fn block_type<'a>(block: &'a Map<String, Value>, path: &str) -> Result<&'a str, RequestError> {
    block
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.type"), "a string"))
}

fn text_field(block: &mut Map<String, Value>, path: &str) -> Result<String, RequestError> {
    match block.get_mut("text").map(Value::take) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(invalid(&format!("{path}.text"), "a string")),
    }
}

/// Converts every Anthropic message, appending the OpenAI messages to `out`.
pub(super) fn convert_messages(
    messages: Option<Value>,
    out: &mut Vec<Value>,
) -> Result<(), RequestError> {
    let Some(Value::Array(messages)) = messages else {
        return Err(invalid("messages", "an array"));
    };
    for (i, message) in messages.into_iter().enumerate() {
        let path = format!("messages[{i}]");
        let Value::Object(mut message) = message else {
            return Err(invalid(&path, "an object"));
        };
        let content = message.get_mut("content").map(Value::take);
        match message.get("role").and_then(Value::as_str) {
            Some("user") => user_turn(content, &path, out)?,
            Some("assistant") => out.push(assistant_turn(content, &path)?),
            Some(other) => {
                return Err(RequestError::UnsupportedRole {
                    role: other.to_owned(),
                    path,
                })
            }
            None => return Err(invalid(&format!("{path}.role"), "a string")),
        }
    }
    Ok(())
}

/// A user turn. Its `tool_result` blocks become `tool` messages, sent first because
/// OpenAI wants them right after the assistant's tool calls; the rest (text, images)
/// becomes one user message after them.
fn user_turn(content: Option<Value>, path: &str, out: &mut Vec<Value>) -> Result<(), RequestError> {
    let content_path = format!("{path}.content");
    let blocks = match content {
        Some(text @ Value::String(_)) => {
            out.push(json!({ "role": "user", "content": text }));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        _ => {
            return Err(invalid(
                &content_path,
                "a string or an array of content blocks",
            ))
        }
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.into_iter().enumerate() {
        let block_path = format!("{content_path}[{i}]");
        let Value::Object(mut block) = block else {
            return Err(invalid(&block_path, "an object"));
        };
        match block_type(&block, &block_path)? {
            "text" => {
                parts.push(json!({ "type": "text", "text": text_field(&mut block, &block_path)? }))
            }
            "image" => parts.push(image_part(&mut block, &block_path)?),
            "tool_result" => out.push(tool_message(&mut block, &block_path)?),
            other => {
                return Err(RequestError::UnsupportedContentBlock {
                    kind: other.to_owned(),
                    path: block_path,
                })
            }
        }
    }
    if !parts.is_empty() {
        out.push(json!({ "role": "user", "content": parts }));
    }
    Ok(())
}

/// An image block -> an `image_url` part: a URL source as is, base64 as a data URL.
fn image_part(block: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let source_path = format!("{path}.source");
    let Some(Value::Object(source)) = block.get("source") else {
        return Err(invalid(&source_path, "an object"));
    };
    let url = match source.get("type").and_then(Value::as_str) {
        Some("url") => match source.get("url") {
            Some(Value::String(url)) => url.clone(),
            _ => return Err(invalid(&format!("{source_path}.url"), "a string")),
        },
        Some("base64") => match (source.get("media_type"), source.get("data")) {
            (Some(Value::String(media)), Some(Value::String(data))) => {
                format!("data:{media};base64,{data}")
            }
            _ => {
                return Err(invalid(
                    &source_path,
                    "a base64 source with string media_type and data",
                ))
            }
        },
        _ => {
            return Err(invalid(
                &format!("{source_path}.type"),
                "\"url\" or \"base64\"",
            ))
        }
    };
    Ok(json!({ "type": "image_url", "image_url": { "url": url } }))
}

/// A `tool_result` block -> a `tool` message. OpenAI tool messages hold text only,
/// so an image in a result is refused rather than silently dropped.
fn tool_message(block: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let id = match block.get_mut("tool_use_id").map(Value::take) {
        Some(id @ Value::String(_)) => id,
        _ => return Err(invalid(&format!("{path}.tool_use_id"), "a string")),
    };
    let content_path = format!("{path}.content");
    let text = match block.get_mut("content").map(Value::take) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text,
        Some(Value::Array(blocks)) => blocks
            .into_iter()
            .enumerate()
            .map(|(i, b)| block_text(b, &format!("{content_path}[{i}]")))
            .collect::<Result<Vec<String>, _>>()?
            .concat(),
        Some(_) => {
            return Err(invalid(
                &content_path,
                "a string or an array of text blocks",
            ))
        }
    };
    Ok(json!({ "role": "tool", "tool_call_id": id, "content": text }))
}

/// An assistant turn: text blocks joined into `content`, `tool_use` blocks as
/// `tool_calls` with the input object encoded as the arguments string. Thinking
/// blocks have no OpenAI equivalent and are dropped.
fn assistant_turn(content: Option<Value>, path: &str) -> Result<Value, RequestError> {
    let content_path = format!("{path}.content");
    let blocks = match content {
        Some(text @ Value::String(_)) => {
            return Ok(json!({ "role": "assistant", "content": text }))
        }
        Some(Value::Array(blocks)) => blocks,
        _ => {
            return Err(invalid(
                &content_path,
                "a string or an array of content blocks",
            ))
        }
    };
    let mut text: Option<String> = None;
    let mut calls = Vec::new();
    for (i, block) in blocks.into_iter().enumerate() {
        let block_path = format!("{content_path}[{i}]");
        let Value::Object(mut block) = block else {
            return Err(invalid(&block_path, "an object"));
        };
        match block_type(&block, &block_path)? {
            "text" => text
                .get_or_insert_with(String::new)
                .push_str(&text_field(&mut block, &block_path)?),
            "tool_use" => calls.push(tool_call(&mut block, &block_path)?),
            "thinking" | "redacted_thinking" => {}
            other => {
                return Err(RequestError::UnsupportedContentBlock {
                    kind: other.to_owned(),
                    path: block_path,
                })
            }
        }
    }
    let mut message = json!({ "role": "assistant", "content": text });
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    Ok(message)
}

fn tool_call(block: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    let id = match block.get_mut("id").map(Value::take) {
        Some(id @ Value::String(_)) => id,
        _ => return Err(invalid(&format!("{path}.id"), "a string")),
    };
    let name = match block.get_mut("name").map(Value::take) {
        Some(name @ Value::String(_)) => name,
        _ => return Err(invalid(&format!("{path}.name"), "a string")),
    };
    let arguments = match block.get("input") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(input @ Value::Object(_)) => input.to_string(),
        Some(_) => return Err(invalid(&format!("{path}.input"), "an object")),
    };
    Ok(
        json!({ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } }),
    )
}
