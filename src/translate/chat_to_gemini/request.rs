//! OpenAI Chat Completions request -> Gemini `generateContent` request: the upstream
//! path, generationConfig, tools and toolConfig (messages are in `request_contents`).

use crate::translate::function_tool::{read_function_tool, read_tool_choice, ToolChoice};
use serde_json::{json, Map, Value};

use super::error::RequestError;
use super::request_contents::{convert_messages, invalid};

/// The Gemini request plus what the response side must know about the client's
/// original request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslatedRequest {
    /// The path and query to send to the provider's base URL, e.g.
    /// `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`.
    pub path: String,
    /// The Gemini `GenerateContentRequest` body (JSON).
    pub body: Vec<u8>,
    /// The client asked for a stream (`"stream": true`).
    pub stream: bool,
    /// The client asked for `stream_options.include_usage`.
    pub include_usage: bool,
}

/// The Gemini API path for `model`: Gemini puts the model and the streaming choice
/// in the URL, not the body. A `models/` prefix in the name is not doubled.
pub fn upstream_path(model: &str, stream: bool) -> String {
    let model = model.strip_prefix("models/").unwrap_or(model);
    if stream {
        format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("/v1beta/models/{model}:generateContent")
    }
}

/// Translates an OpenAI Chat Completions request body into a Gemini request for
/// `model` (the caller has already resolved the provider's model name).
///
/// Parameters Gemini has no equivalent for (`logprobs`, `logit_bias`, `user`, ...)
/// are dropped; `n > 1` is refused because only the first candidate is translated back.
pub fn translate_request(
    openai_body: &[u8],
    model: &str,
) -> Result<TranslatedRequest, RequestError> {
    let parsed: Value = serde_json::from_slice(openai_body).map_err(RequestError::InvalidJson)?;
    let Value::Object(mut req) = parsed else {
        return Err(invalid("(request body)", "a JSON object"));
    };
    check_single_choice(&req)?;
    let mut out = Map::new();
    let conversation = convert_messages(req.get_mut("messages").map(Value::take))?;
    out.insert("contents".into(), Value::Array(conversation.contents));
    if let Some(system) = conversation.system_instruction {
        out.insert("systemInstruction".into(), system);
    }
    translate_tools(&mut req, &mut out)?;
    let config = generation_config(&mut req)?;
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    let stream = optional_bool(&req, "stream")?.unwrap_or(false);
    let include_usage = stream_include_usage(&req)?;
    let body = serde_json::to_vec(&Value::Object(out)).map_err(RequestError::Encode)?;
    Ok(TranslatedRequest {
        path: upstream_path(model, stream),
        body,
        stream,
        include_usage,
    })
}

fn check_single_choice(req: &Map<String, Value>) -> Result<(), RequestError> {
    match req.get("n") {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_u64() {
            Some(1) => Ok(()),
            Some(n) if n > 1 => Err(RequestError::MultipleChoices(n)),
            _ => Err(invalid("n", "a positive integer")),
        },
    }
}

fn optional_bool(req: &Map<String, Value>, key: &str) -> Result<Option<bool>, RequestError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(key, "a boolean")),
    }
}

fn stream_include_usage(req: &Map<String, Value>) -> Result<bool, RequestError> {
    match req.get("stream_options") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(options)) => match options.get("include_usage") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(invalid("stream_options.include_usage", "a boolean")),
        },
        Some(_) => Err(invalid("stream_options", "an object")),
    }
}

/// Sampling and limits. `max_completion_tokens` replaced `max_tokens` in the OpenAI
/// API, so it wins when both are present.
fn generation_config(req: &mut Map<String, Value>) -> Result<Map<String, Value>, RequestError> {
    let mut config = Map::new();
    for key in ["max_tokens", "max_completion_tokens"] {
        match req.get(key) {
            None | Some(Value::Null) => {}
            Some(v) => {
                let n = v
                    .as_u64()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| invalid(key, "a positive integer"))?;
                config.insert("maxOutputTokens".into(), Value::from(n));
            }
        }
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
        ("seed", "seed"),
    ] {
        match req.get_mut(from).map(Value::take) {
            None | Some(Value::Null) => {}
            Some(n @ Value::Number(_)) => {
                config.insert(to.into(), n);
            }
            Some(_) => return Err(invalid(from, "a number")),
        }
    }
    match req.get_mut("stop").map(Value::take) {
        None | Some(Value::Null) => {}
        Some(s @ Value::String(_)) => {
            config.insert("stopSequences".into(), Value::Array(vec![s]));
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            if !items.is_empty() {
                config.insert("stopSequences".into(), Value::Array(items));
            }
        }
        Some(_) => return Err(invalid("stop", "a string or an array of strings")),
    }
    response_format(req, &mut config)?;
    Ok(config)
}

/// `json_object` asks for JSON output; `json_schema` also passes the schema, which
/// Gemini's `responseJsonSchema` takes as standard JSON Schema.
fn response_format(
    req: &mut Map<String, Value>,
    config: &mut Map<String, Value>,
) -> Result<(), RequestError> {
    let Some(format) = req.get_mut("response_format").map(Value::take) else {
        return Ok(());
    };
    let expected = "{\"type\": \"text\" | \"json_object\" | \"json_schema\", ...}";
    let Value::Object(mut format) = format else {
        return match format {
            Value::Null => Ok(()),
            _ => Err(invalid("response_format", expected)),
        };
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => {}
        Some("json_object") => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some("json_schema") => {
            let schema = format
                .get_mut("json_schema")
                .and_then(|s| s.get_mut("schema"))
                .map(Value::take)
                .filter(Value::is_object)
                .ok_or_else(|| invalid("response_format.json_schema.schema", "an object"))?;
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseJsonSchema".into(), schema);
        }
        _ => return Err(invalid("response_format.type", expected)),
    }
    Ok(())
}

/// `tools` -> one `functionDeclarations` tool; `tool_choice` -> `toolConfig`.
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
    let mut declarations = Vec::with_capacity(tools.len());
    for (i, tool) in tools.into_iter().enumerate() {
        declarations.push(function_declaration(tool, &format!("tools[{i}]"))?);
    }
    out.insert(
        "tools".into(),
        json!([{ "functionDeclarations": declarations }]),
    );
    let config = match read_tool_choice(req)? {
        None => return Ok(()),
        Some(ToolChoice::Auto) => json!({ "mode": "AUTO" }),
        Some(ToolChoice::None) => json!({ "mode": "NONE" }),
        Some(ToolChoice::Required) => json!({ "mode": "ANY" }),
        Some(ToolChoice::Function(name)) => {
            json!({ "mode": "ANY", "allowedFunctionNames": [name] })
        }
    };
    out.insert(
        "toolConfig".into(),
        json!({ "functionCallingConfig": config }),
    );
    Ok(())
}

/// One OpenAI function tool -> a Gemini function declaration. The schema goes in
/// `parametersJsonSchema`, which takes JSON Schema as OpenAI clients write it
/// (`parameters` takes only an OpenAPI subset and refuses e.g. `additionalProperties`).
fn function_declaration(tool: Value, path: &str) -> Result<Value, RequestError> {
    let tool = read_function_tool(tool, path)?;
    let mut out = Map::new();
    out.insert("name".into(), tool.name);
    if let Some(description) = tool.description {
        out.insert("description".into(), description);
    }
    if let Some(schema) = tool.parameters {
        out.insert("parametersJsonSchema".into(), schema);
    }
    Ok(Value::Object(out))
}
