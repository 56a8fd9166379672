//! OpenAI `messages` -> Anthropic `system` + `messages`: roles, content parts,
//! images, assistant tool calls and tool results.

use serde_json::{json, Value};

use super::error::RequestError;
use crate::translate::openai_messages::{self as openai, Content, Message, Part};
pub(super) use crate::translate::request_error::invalid;

/// The Anthropic view of an OpenAI conversation.
pub(super) struct Conversation {
    /// System and developer messages, wherever they appeared: a string for one
    /// text, an array of text blocks for several (so no boundary is lost).
    pub system: Option<Value>,
    pub messages: Vec<Value>,
}

pub(super) fn convert_messages(messages: Option<Value>) -> Result<Conversation, RequestError> {
    let messages = openai::messages(messages)?;
    let mut system_texts: Vec<Value> = Vec::new();
    let mut out: Vec<Value> = Vec::with_capacity(messages.size_hint().0);
    // Consecutive `tool` messages answer one assistant turn: Anthropic wants all
    // their results in a single user message.
    let mut last_is_tool_results = false;
    for message in messages {
        let mut message = message?;
        let content = message.content.take();
        let content_path = format!("{}.content", message.path);
        match message.role.as_str() {
            "system" | "developer" => {
                system_texts.extend(text_parts(content, &content_path)?);
            }
            "user" => {
                let content = user_content(content, &content_path)?;
                out.push(json!({ "role": "user", "content": content }));
                last_is_tool_results = false;
            }
            "assistant" => {
                out.push(assistant_message(content, &mut message)?);
                last_is_tool_results = false;
            }
            "tool" => {
                let result = tool_result(content, &message)?;
                match out.last_mut().and_then(|m| m["content"].as_array_mut()) {
                    Some(blocks) if last_is_tool_results => blocks.push(result),
                    _ => out.push(json!({ "role": "user", "content": [result] })),
                }
                last_is_tool_results = true;
            }
            _ => {
                return Err(RequestError::UnsupportedRole {
                    path: message.path,
                    role: message.role,
                });
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
    let texts = openai::texts(content, path, &["text"])?;
    Ok(texts.into_iter().map(text_block).collect())
}

/// A user turn: a string stays a string; parts become text and image blocks.
fn user_content(content: Option<Value>, path: &str) -> Result<Value, RequestError> {
    let parts = match openai::content(content, path)? {
        Content::Text(text) => return Ok(text),
        Content::Parts(parts) => parts,
    };
    let blocks = openai::parts(parts, path)
        .map(|part| {
            let mut part = part?;
            match part.kind.as_str() {
                "text" => Ok(text_block(part.take_text()?)),
                "image_url" => image_block(&mut part),
                _ => Err(part.unsupported()),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(blocks))
}

/// `image_url` (an object with `url`, or the older bare string) -> an Anthropic
/// image block with a `url` or `base64` source. `detail` has no equivalent.
fn image_block(part: &mut Part) -> Result<Value, RequestError> {
    let url = part.take_image_url()?;
    let source = if openai::is_remote(&url) {
        json!({ "type": "url", "url": url })
    } else {
        let (media_type, data) =
            openai::base64_data_url(&url).ok_or_else(|| RequestError::UnsupportedImageUrl {
                path: format!("{}.image_url.url", part.path),
            })?;
        json!({ "type": "base64", "media_type": media_type, "data": data })
    };
    Ok(json!({ "type": "image", "source": source }))
}

/// An assistant turn. Without tool calls its content keeps its shape; with them it
/// becomes text blocks followed by `tool_use` blocks.
fn assistant_message(content: Option<Value>, message: &mut Message) -> Result<Value, RequestError> {
    let content_path = format!("{}.content", message.path);
    let tool_calls = openai::tool_calls(message)?;
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
        let call = openai::tool_call(call, &format!("{}.tool_calls[{i}]", message.path))?;
        blocks.push(json!({
            "type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments
        }));
    }
    Ok(json!({ "role": "assistant", "content": blocks }))
}

/// Assistant parts are `text` or `refusal`; a refusal was said to the user, so it
/// is kept as text.
fn assistant_parts(parts: Vec<Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    let texts = openai::texts(Some(Value::Array(parts)), path, &["text", "refusal"])?;
    Ok(texts.into_iter().map(text_block).collect())
}

/// A `tool` message -> a `tool_result` block; text content keeps its shape.
fn tool_result(content: Option<Value>, message: &Message) -> Result<Value, RequestError> {
    let tool_use_id = match message.fields.get("tool_call_id") {
        Some(id @ Value::String(_)) => id.clone(),
        _ => {
            return Err(invalid(
                &format!("{}.tool_call_id", message.path),
                "a string",
            ))
        }
    };
    let content = match content {
        Some(text @ Value::String(_)) => text,
        other => Value::Array(text_parts(other, &format!("{}.content", message.path))?),
    };
    Ok(json!({ "type": "tool_result", "tool_use_id": tool_use_id, "content": content }))
}
