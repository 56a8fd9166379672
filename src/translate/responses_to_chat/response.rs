//! Chat `chat.completion` -> Responses `response` object, any upstream error body ->
//! the Responses error body, and a response object's output items for later turns.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ResponseError;
use super::object::{
    content_part, function_call_item, message_item, response_object, ChatUsage, Ending,
    ResponseOptions, ITEM_DONE,
};

#[derive(Deserialize)]
struct Completion<'a> {
    #[serde(borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    message: ReplyMessage<'a>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ReplyMessage<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    refusal: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    function: Function<'a>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Cow<'a, str>,
}

/// Translates a whole Chat Completion (a 2xx body) into a Responses `response`
/// object: a message item for the text or refusal, then one `function_call` item per
/// tool call. Only the first choice is read.
pub fn translate_response(
    chat_body: &[u8],
    options: &ResponseOptions,
) -> Result<Vec<u8>, ResponseError> {
    let completion: Completion<'_> =
        serde_json::from_slice(chat_body).map_err(|source| ResponseError::Malformed {
            expected: "chat.completion",
            source,
        })?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or(ResponseError::NoChoices)?;
    let ending = Ending::of_finish_reason(choice.finish_reason.as_deref());
    let message = choice.message;
    let mut content = Vec::new();
    for (refusal, text) in [(false, &message.content), (true, &message.refusal)] {
        if let Some(text) = text.as_deref().filter(|t| !t.is_empty()) {
            content.push(content_part(refusal, text));
        }
    }
    let mut output = Vec::new();
    if !content.is_empty() {
        output.push(message_item(&options.message_id(0), ITEM_DONE, content));
    }
    for (n, call) in message.tool_calls.iter().flatten().enumerate() {
        output.push(function_call_item(
            &options.function_call_id(n),
            ITEM_DONE,
            &call.id,
            &call.function.name,
            &call.function.arguments,
        ));
    }
    let response = response_object(options, Some(ending), output, completion.usage);
    serde_json::to_vec(&response).map_err(ResponseError::Encode)
}

/// The Responses error `type` for an HTTP status when the upstream named none, as
/// OpenAI's own API pairs them.
pub fn error_type(status: u16) -> &'static str {
    match status {
        429 => "rate_limit_exceeded",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    }
}

/// Translates a non-2xx upstream body sent with HTTP `status` into the Responses
/// error body `{"error":{"message","type","param","code"}}`. A Chat-style error keeps
/// its members; any other body (`{"error": "..."}`, `{"message": ...}`, HTML, nothing)
/// still gives a well-formed error, its message naming the status.
pub fn translate_error(body: &[u8], status: u16) -> Result<Vec<u8>, ResponseError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let detail: Option<&Map<String, Value>> = match &parsed {
        Some(Value::Object(top)) => match top.get("error") {
            Some(Value::Object(error)) => Some(error),
            _ => Some(top),
        },
        _ => None,
    };
    let member = |key: &str| detail.and_then(|d| d.get(key)).filter(|v| !v.is_null());
    let message = member("message")
        .or_else(|| parsed.as_ref().and_then(|p| p.get("error")))
        .and_then(Value::as_str)
        .map_or_else(
            || format!("the upstream provider answered HTTP {status}"),
            str::to_owned,
        );
    let kind = member("type")
        .and_then(Value::as_str)
        .unwrap_or(error_type(status));
    let code = match member("code") {
        Some(code @ Value::String(_)) => code.clone(),
        Some(Value::Number(n)) => Value::String(n.to_string()),
        _ => Value::Null,
    };
    let param = member("param").filter(|p| p.is_string()).cloned();
    let error = json!({ "error": {
        "message": message, "type": kind, "param": param, "code": code,
    } });
    serde_json::to_vec(&error).map_err(ResponseError::Encode)
}

/// The output items of a Responses object (the bytes of [`translate_response`], or a
/// `response.completed` event's `response`; the whole event's data works too), for
/// rebuilding the conversation of a later `previous_response_id`.
pub fn output_items(response_object: &[u8]) -> Result<Vec<Value>, ResponseError> {
    let parsed: Value =
        serde_json::from_slice(response_object).map_err(|source| ResponseError::Malformed {
            expected: "response",
            source,
        })?;
    let Value::Object(mut object) = parsed else {
        return Err(ResponseError::NoOutput);
    };
    if !object.contains_key("output") {
        if let Some(Value::Object(inner)) = object.remove("response") {
            object = inner;
        }
    }
    match object.remove("output") {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(ResponseError::NoOutput),
    }
}
