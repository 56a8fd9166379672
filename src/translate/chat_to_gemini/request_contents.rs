//! OpenAI `messages` -> Gemini `systemInstruction` + `contents`: roles, text and
//! image parts, assistant tool calls as `functionCall`, tool results as `functionResponse`.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::error::RequestError;
use crate::translate::openai_messages::{self as openai, Content, Message, Part};
pub(super) use crate::translate::request_error::invalid;

/// The Gemini view of an OpenAI conversation.
pub(super) struct Contents {
    /// System and developer messages, wherever they appeared, as one
    /// `systemInstruction` with a text part each.
    pub system_instruction: Option<Value>,
    pub contents: Vec<Value>,
}

pub(super) fn convert_messages(messages: Option<Value>) -> Result<Contents, RequestError> {
    let messages = openai::messages(messages)?;
    let mut system_parts: Vec<Value> = Vec::new();
    let mut contents: Vec<Value> = Vec::with_capacity(messages.size_hint().0);
    // Gemini's functionResponse names the function; OpenAI's tool message only has
    // the call id, so the names of earlier calls are remembered by id.
    let mut call_names: HashMap<String, String> = HashMap::new();
    for message in messages {
        let mut message = message?;
        let content = message.content.take();
        let content_path = format!("{}.content", message.path);
        match message.role.as_str() {
            "system" | "developer" => system_parts.extend(text_parts(content, &content_path)?),
            "user" => push_turn(&mut contents, "user", user_parts(content, &content_path)?),
            "assistant" => {
                let parts = model_parts(content, &mut message, &mut call_names)?;
                push_turn(&mut contents, "model", parts);
            }
            "tool" => {
                let response = function_response(content, &message, &call_names)?;
                push_turn(&mut contents, "user", vec![response]);
            }
            _ => {
                return Err(RequestError::UnsupportedRole {
                    path: message.path,
                    role: message.role,
                })
            }
        }
    }
    let system_instruction = (!system_parts.is_empty()).then(|| json!({ "parts": system_parts }));
    Ok(Contents {
        system_instruction,
        contents,
    })
}

/// Gemini wants user and model turns to alternate, so a turn with the same role as
/// the one before joins it (this also gathers the responses to one model turn's
/// calls into one user turn, as Gemini expects).
fn push_turn(contents: &mut Vec<Value>, role: &str, parts: Vec<Value>) {
    if let Some(last) = contents.last_mut().filter(|c| c["role"] == role) {
        if let Some(existing) = last["parts"].as_array_mut() {
            existing.extend(parts);
            return;
        }
    }
    contents.push(json!({ "role": role, "parts": parts }));
}

fn text_part(text: Value) -> Value {
    json!({ "text": text })
}

/// Content that may only hold text (system, developer, tool, assistant): a string
/// or an array of `text` parts (an assistant `refusal` part counts as text).
fn text_parts(content: Option<Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    let texts = openai::texts(content, path, &["text", "refusal"])?;
    Ok(texts.into_iter().map(text_part).collect())
}

/// A user turn: text parts, and images as `inlineData` (base64) or `fileData` (URL).
fn user_parts(content: Option<Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    let parts = match openai::content(content, path)? {
        Content::Text(text) => return Ok(vec![text_part(text)]),
        Content::Parts(parts) => parts,
    };
    openai::parts(parts, path)
        .map(|part| {
            let mut part = part?;
            match part.kind.as_str() {
                "text" => Ok(text_part(part.take_text()?)),
                "image_url" => image_part(&mut part),
                _ => Err(part.unsupported()),
            }
        })
        .collect()
}

fn image_part(part: &mut Part) -> Result<Value, RequestError> {
    let url = part.take_image_url()?;
    if openai::is_remote(&url) {
        // Gemini wants a MIME type with file data; guess it from the extension and
        // leave it out where there is none to guess from.
        let mut file = json!({ "fileUri": url });
        if let Some(mime) = mime_from_extension(&url) {
            file["mimeType"] = Value::from(mime);
        }
        return Ok(json!({ "fileData": file }));
    }
    let (mime, data) =
        openai::base64_data_url(&url).ok_or_else(|| RequestError::UnsupportedImageUrl {
            path: format!("{}.image_url.url", part.path),
        })?;
    Ok(json!({ "inlineData": { "mimeType": mime, "data": data } }))
}

fn mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next()?;
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}

/// An assistant turn -> `model` parts: text, then one `functionCall` part per tool
/// call (their ids are remembered for the tool results that follow).
fn model_parts(
    content: Option<Value>,
    message: &mut Message,
    call_names: &mut HashMap<String, String>,
) -> Result<Vec<Value>, RequestError> {
    let mut parts = match content {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if text.is_empty() => Vec::new(),
        other => text_parts(other, &format!("{}.content", message.path))?,
    };
    for (i, call) in openai::tool_calls(message)?.into_iter().enumerate() {
        let call = openai::tool_call(call, &format!("{}.tool_calls[{i}]", message.path))?;
        call_names.insert(call.id, call.name.clone());
        parts.push(json!({ "functionCall": { "name": call.name, "args": call.arguments } }));
    }
    if parts.is_empty() {
        // Gemini refuses a turn without parts; an empty assistant turn said nothing.
        parts.push(text_part(Value::String(String::new())));
    }
    Ok(parts)
}

/// A `tool` message -> a `functionResponse` part. Gemini's `response` must be an
/// object: a result that is a JSON object goes as is, anything else as `{"content": text}`.
fn function_response(
    content: Option<Value>,
    message: &Message,
    call_names: &HashMap<String, String>,
) -> Result<Value, RequestError> {
    let path = &message.path;
    let name = match message.fields.get("tool_call_id") {
        Some(Value::String(id)) => call_names
            .get(id)
            .ok_or_else(|| RequestError::UnknownToolCall { path: path.clone() })?,
        _ => return Err(invalid(&format!("{path}.tool_call_id"), "a string")),
    };
    let text: String = text_parts(content, &format!("{path}.content"))?
        .iter()
        .filter_map(|part| part["text"].as_str())
        .collect();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(obj @ Value::Object(_)) => obj,
        _ => json!({ "content": text }),
    };
    Ok(json!({ "functionResponse": { "name": name, "response": response } }))
}
