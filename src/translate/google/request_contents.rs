//! OpenAI `messages` -> Gemini `systemInstruction` + `contents`: roles, text and
//! image parts, assistant tool calls as `functionCall`, tool results as `functionResponse`.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::error::RequestError;
pub(super) use crate::translate::request_error::invalid;

/// The Gemini view of an OpenAI conversation.
pub(super) struct Contents {
    /// System and developer messages, wherever they appeared, as one
    /// `systemInstruction` with a text part each.
    pub system_instruction: Option<Value>,
    pub contents: Vec<Value>,
}

pub(super) fn convert_messages(messages: Option<Value>) -> Result<Contents, RequestError> {
    let Some(Value::Array(messages)) = messages else {
        return Err(invalid("messages", "an array"));
    };
    let mut system_parts: Vec<Value> = Vec::new();
    let mut contents: Vec<Value> = Vec::with_capacity(messages.len());
    // Gemini's functionResponse names the function; OpenAI's tool message only has
    // the call id, so the names of earlier calls are remembered by id.
    let mut call_names: HashMap<String, String> = HashMap::new();
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
        let content_path = format!("{path}.content");
        match role.as_str() {
            "system" | "developer" => system_parts.extend(text_parts(content, &content_path)?),
            "user" => push_turn(&mut contents, "user", user_parts(content, &content_path)?),
            "assistant" => {
                let parts = model_parts(content, &mut message, &path, &mut call_names)?;
                push_turn(&mut contents, "model", parts);
            }
            "tool" => {
                let response = function_response(content, &message, &path, &call_names)?;
                push_turn(&mut contents, "user", vec![response]);
            }
            _ => return Err(RequestError::UnsupportedRole { path, role }),
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

fn part_type<'a>(part: &'a Map<String, Value>, path: &str) -> Result<&'a str, RequestError> {
    part.get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{path}.type"), "a string"))
}

fn part_text(part: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
    match part.get_mut("text").map(Value::take) {
        Some(text @ Value::String(_)) => Ok(text),
        _ => Err(invalid(&format!("{path}.text"), "a string")),
    }
}

/// Content that may only hold text (system, developer, tool, assistant): a string
/// or an array of `text` parts (an assistant `refusal` part counts as text).
fn text_parts(content: Option<Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    let parts = match content {
        Some(text @ Value::String(_)) => return Ok(vec![text_part(text)]),
        Some(Value::Array(parts)) => parts,
        _ => return Err(invalid(path, "a string or an array of content parts")),
    };
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{i}]");
        let Value::Object(mut part) = part else {
            return Err(invalid(&part_path, "an object"));
        };
        let text = match part_type(&part, &part_path)? {
            "text" => part_text(&mut part, &part_path)?,
            "refusal" => match part.get_mut("refusal").map(Value::take) {
                Some(text @ Value::String(_)) => text,
                _ => return Err(invalid(&format!("{part_path}.refusal"), "a string")),
            },
            other => {
                return Err(RequestError::UnsupportedContentPart {
                    kind: other.to_owned(),
                    path: part_path,
                })
            }
        };
        out.push(text_part(text));
    }
    Ok(out)
}

/// A user turn: text parts, and images as `inlineData` (base64) or `fileData` (URL).
fn user_parts(content: Option<Value>, path: &str) -> Result<Vec<Value>, RequestError> {
    let parts = match content {
        Some(text @ Value::String(_)) => return Ok(vec![text_part(text)]),
        Some(Value::Array(parts)) => parts,
        _ => return Err(invalid(path, "a string or an array of content parts")),
    };
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}[{i}]");
        let Value::Object(mut part) = part else {
            return Err(invalid(&part_path, "an object"));
        };
        let converted = match part_type(&part, &part_path)? {
            "text" => text_part(part_text(&mut part, &part_path)?),
            "image_url" => image_part(&mut part, &part_path)?,
            other => {
                return Err(RequestError::UnsupportedContentPart {
                    kind: other.to_owned(),
                    path: part_path,
                })
            }
        };
        out.push(converted);
    }
    Ok(out)
}

fn image_part(part: &mut Map<String, Value>, path: &str) -> Result<Value, RequestError> {
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
    if url.starts_with("https://") || url.starts_with("http://") {
        // Gemini wants a MIME type with file data; guess it from the extension and
        // leave it out where there is none to guess from.
        let mut file = json!({ "fileUri": url });
        if let Some(mime) = mime_from_extension(&url) {
            file["mimeType"] = Value::from(mime);
        }
        return Ok(json!({ "fileData": file }));
    }
    let (mime, data) = url
        .strip_prefix("data:")
        .and_then(split_base64_data_url)
        .ok_or(RequestError::UnsupportedImageUrl { path: url_path })?;
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

/// `image/png;base64,AAAA` -> (`image/png`, `AAAA`); only base64 data URLs qualify.
fn split_base64_data_url(rest: &str) -> Option<(&str, &str)> {
    let (header, data) = rest.split_once(',')?;
    let mut params = header.split(';');
    let mime = params.next()?.trim();
    let is_base64 = params.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let (kind, subtype) = mime.split_once('/')?;
    (is_base64 && !kind.is_empty() && !subtype.is_empty() && !data.is_empty())
        .then_some((mime, data))
}

/// An assistant turn -> `model` parts: text, then one `functionCall` part per tool
/// call (their ids are remembered for the tool results that follow).
fn model_parts(
    content: Option<Value>,
    message: &mut Map<String, Value>,
    path: &str,
    call_names: &mut HashMap<String, String>,
) -> Result<Vec<Value>, RequestError> {
    let mut parts = match content {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) if text.is_empty() => Vec::new(),
        other => text_parts(other, &format!("{path}.content"))?,
    };
    let calls = match message.get_mut("tool_calls").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(calls)) => calls,
        Some(_) => return Err(invalid(&format!("{path}.tool_calls"), "an array")),
    };
    for (i, call) in calls.into_iter().enumerate() {
        let call_path = format!("{path}.tool_calls[{i}]");
        let (id, name, args) = tool_call(call, &call_path)?;
        call_names.insert(id, name.clone());
        parts.push(json!({ "functionCall": { "name": name, "args": args } }));
    }
    if parts.is_empty() {
        // Gemini refuses a turn without parts; an empty assistant turn said nothing.
        parts.push(text_part(Value::String(String::new())));
    }
    Ok(parts)
}

fn tool_call(call: Value, path: &str) -> Result<(String, String, Value), RequestError> {
    let Value::Object(mut call) = call else {
        return Err(invalid(path, "an object"));
    };
    let Some(Value::String(id)) = call.get_mut("id").map(Value::take) else {
        return Err(invalid(&format!("{path}.id"), "a string"));
    };
    let Some(Value::Object(mut function)) = call.get_mut("function").map(Value::take) else {
        return Err(invalid(&format!("{path}.function"), "an object"));
    };
    let Some(Value::String(name)) = function.get_mut("name").map(Value::take) else {
        return Err(invalid(&format!("{path}.function.name"), "a string"));
    };
    let args_path = format!("{path}.function.arguments");
    let args = match function.get("arguments") {
        // Models send "" for a call without arguments.
        None | Some(Value::Null) => json!({}),
        Some(Value::String(args)) if args.trim().is_empty() => json!({}),
        Some(Value::String(args)) => match serde_json::from_str::<Value>(args) {
            Ok(obj @ Value::Object(_)) => obj,
            _ => return Err(RequestError::InvalidToolArguments { path: args_path }),
        },
        Some(_) => return Err(RequestError::InvalidToolArguments { path: args_path }),
    };
    Ok((id, name, args))
}

/// A `tool` message -> a `functionResponse` part. Gemini's `response` must be an
/// object: a result that is a JSON object goes as is, anything else as `{"content": text}`.
fn function_response(
    content: Option<Value>,
    message: &Map<String, Value>,
    path: &str,
    call_names: &HashMap<String, String>,
) -> Result<Value, RequestError> {
    let name = match message.get("tool_call_id") {
        Some(Value::String(id)) => {
            call_names
                .get(id)
                .ok_or_else(|| RequestError::UnknownToolCall {
                    path: path.to_owned(),
                })?
        }
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
