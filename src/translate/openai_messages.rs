//! Reading an OpenAI `messages` array for the request translators (Anthropic, Gemini):
//! messages and their roles, content parts, image URLs, tool calls; errors name the path.

use serde_json::{json, Map, Value};

use super::request_error::{invalid, RequestError};

/// One message of the array, taken apart.
pub(super) struct Message {
    /// `messages[i]`, for errors.
    pub path: String,
    pub role: String,
    /// `content`, taken out of `fields`.
    pub content: Option<Value>,
    /// The other members (`tool_calls`, `tool_call_id`, ...).
    pub fields: Map<String, Value>,
}

/// The messages of a request, each checked (in order, as it is reached) to be an
/// object with a string `role`.
pub(super) fn messages(
    messages: Option<Value>,
) -> Result<impl Iterator<Item = Result<Message, RequestError>>, RequestError> {
    let Some(Value::Array(messages)) = messages else {
        return Err(invalid("messages", "an array"));
    };
    Ok(messages.into_iter().enumerate().map(|(i, message)| {
        let path = format!("messages[{i}]");
        let Value::Object(mut fields) = message else {
            return Err(invalid(&path, "an object"));
        };
        let role = match fields.get("role") {
            Some(Value::String(role)) => role.clone(),
            _ => return Err(invalid(&format!("{path}.role"), "a string")),
        };
        let content = fields.get_mut("content").map(Value::take);
        Ok(Message {
            path,
            role,
            content,
            fields,
        })
    }))
}

/// A message's `content`: its text, or its parts.
pub(super) enum Content {
    /// A string (as the JSON value).
    Text(Value),
    Parts(Vec<Value>),
}

/// `content` as a string or an array of parts; anything else is refused.
pub(super) fn content(content: Option<Value>, path: &str) -> Result<Content, RequestError> {
    match content {
        Some(text @ Value::String(_)) => Ok(Content::Text(text)),
        Some(Value::Array(parts)) => Ok(Content::Parts(parts)),
        _ => Err(invalid(path, "a string or an array of content parts")),
    }
}

/// The texts of content that may only hold text: a string, or parts of the `kinds`
/// given (`text`, and `refusal` where a refusal counts as text); other parts are refused.
pub(super) fn texts(
    content: Option<Value>,
    path: &str,
    kinds: &[&str],
) -> Result<Vec<Value>, RequestError> {
    match self::content(content, path)? {
        Content::Text(text) => Ok(vec![text]),
        Content::Parts(list) => parts(list, path)
            .map(|part| {
                let mut part = part?;
                if kinds.contains(&part.kind.as_str()) {
                    part.take_text()
                } else {
                    Err(part.unsupported())
                }
            })
            .collect(),
    }
}

/// The parts of a content array under `path`, each checked (as it is reached) to be an
/// object; with its own path and its `type`.
pub(super) fn parts(
    parts: Vec<Value>,
    path: &str,
) -> impl Iterator<Item = Result<Part, RequestError>> + '_ {
    parts.into_iter().enumerate().map(move |(i, part)| {
        let path = format!("{path}[{i}]");
        let Value::Object(fields) = part else {
            return Err(invalid(&path, "an object"));
        };
        let kind = match fields.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            _ => return Err(invalid(&format!("{path}.type"), "a string")),
        };
        Ok(Part { path, kind, fields })
    })
}

/// One content part.
pub(super) struct Part {
    /// `messages[i].content[j]`, for errors.
    pub path: String,
    /// Its `type`: `text`, `image_url`, `refusal`, ...
    pub kind: String,
    pub fields: Map<String, Value>,
}

impl Part {
    /// The string member named like the part's type (`text` of a text part, `refusal`
    /// of a refusal), taken out.
    pub fn take_text(&mut self) -> Result<Value, RequestError> {
        match self.fields.get_mut(self.kind.as_str()).map(Value::take) {
            Some(text @ Value::String(_)) => Ok(text),
            _ => Err(invalid(&format!("{}.{}", self.path, self.kind), "a string")),
        }
    }

    /// The URL of an `image_url` part: `{"image_url": {"url": ...}}` or the older bare
    /// string.
    pub fn take_image_url(&mut self) -> Result<String, RequestError> {
        match self.fields.get_mut("image_url").map(Value::take) {
            Some(Value::String(url)) => Ok(url),
            Some(Value::Object(mut image)) => match image.get_mut("url").map(Value::take) {
                Some(Value::String(url)) => Ok(url),
                _ => Err(invalid(&format!("{}.image_url.url", self.path), "a string")),
            },
            _ => Err(invalid(
                &format!("{}.image_url", self.path),
                "an object with a url",
            )),
        }
    }

    /// The error for a part of a type the provider has no equivalent for.
    pub fn unsupported(self) -> RequestError {
        RequestError::UnsupportedContentPart {
            path: self.path,
            kind: self.kind,
        }
    }
}

/// A URL that is a remote image (`http`/`https`), as opposed to inline data.
pub(super) fn is_remote(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// `data:image/png;base64,AAAA` -> (`image/png`, `AAAA`); only base64 data URLs
/// qualify (the providers take no percent-encoded data).
pub(super) fn base64_data_url(url: &str) -> Option<(&str, &str)> {
    let (header, data) = url.strip_prefix("data:")?.split_once(',')?;
    let mut params = header.split(';');
    let mime = params.next()?.trim();
    let is_base64 = params.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    let (kind, subtype) = mime.split_once('/')?;
    (is_base64 && !kind.is_empty() && !subtype.is_empty() && !data.is_empty())
        .then_some((mime, data))
}

/// An assistant message's `tool_calls` (none when absent or null), taken out.
pub(super) fn tool_calls(message: &mut Message) -> Result<Vec<Value>, RequestError> {
    match message.fields.get_mut("tool_calls").map(Value::take) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(calls)) => Ok(calls),
        Some(_) => Err(invalid(&format!("{}.tool_calls", message.path), "an array")),
    }
}

/// One OpenAI tool call: `{id, type: function, function: {name, arguments}}`.
pub(super) struct ToolCall {
    pub id: String,
    pub name: String,
    /// `arguments` parsed: always a JSON object (`{}` for none).
    pub arguments: Value,
}

/// Reads a tool call; its arguments string must hold a JSON object (or nothing).
pub(super) fn tool_call(call: Value, path: &str) -> Result<ToolCall, RequestError> {
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
    let arguments = match function.get("arguments") {
        // Models send "" for a call without arguments.
        None | Some(Value::Null) => json!({}),
        Some(Value::String(args)) if args.trim().is_empty() => json!({}),
        Some(Value::String(args)) => match serde_json::from_str::<Value>(args) {
            Ok(obj @ Value::Object(_)) => obj,
            _ => return Err(RequestError::InvalidToolArguments { path: args_path }),
        },
        Some(_) => return Err(RequestError::InvalidToolArguments { path: args_path }),
    };
    Ok(ToolCall {
        id,
        name,
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_data_urls_only() {
        assert_eq!(
            base64_data_url("data:image/png;base64,AAAA"),
            Some(("image/png", "AAAA"))
        );
        assert_eq!(base64_data_url("data:image/png,AAAA"), None);
        assert_eq!(base64_data_url("data:;base64,AAAA"), None);
        assert_eq!(base64_data_url("data:image/png;base64,"), None);
        assert_eq!(base64_data_url("https://x/a.png"), None);
    }

    #[test]
    fn parts_are_checked_as_they_are_reached() {
        let parts_value = json!([{"type": "text", "text": "a"}, 7, {"text": "b"}]);
        let Value::Array(list) = parts_value else {
            unreachable!()
        };
        let read: Vec<_> = parts(list, "m.content").collect();
        let mut first = match &read[0] {
            Ok(part) => Part {
                path: part.path.clone(),
                kind: part.kind.clone(),
                fields: part.fields.clone(),
            },
            Err(e) => panic!("{e}"),
        };
        assert_eq!(first.take_text().ok(), Some(json!("a")));
        let errors: Vec<String> = read[1..]
            .iter()
            .map(|r| {
                r.as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            errors,
            [
                "`m.content[1]` must be an object",
                "`m.content[2].type` must be a string"
            ]
        );
    }
}
