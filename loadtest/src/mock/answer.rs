//! What one request asks the answer to be: the usual tokens, a call to an offered tool, JSON for
//! a schema, or the echo of a tool result. The body is parsed only when a byte scan says it may.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde_json::Value;

use super::formats::Format;
use super::schema;

/// What the mock answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `tok0 tok1 ...` (or padded, or the echoed headers), as the knobs say.
    Tokens,
    /// This text as the completion: JSON asked for, or `tool said: ...` after a tool result.
    Text(String),
    /// A call to a tool the request offered.
    ToolCall(ToolCall),
}

/// One tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The tool's name, as the request spelled it.
    pub name: String,
    /// The arguments: a JSON object sampled from the tool's parameter schema.
    pub arguments: String,
}

impl Answer {
    /// What a stream sends piece by piece: the text, or the arguments in at least two
    /// fragments; nothing for `Tokens` (those are counted by the chunks knob).
    pub fn pieces(&self, chunks: u32) -> Vec<&str> {
        let chunks = chunks as usize;
        match self {
            Answer::Tokens => Vec::new(),
            Answer::Text(text) => split(text, chunks.max(1)),
            Answer::ToolCall(call) => split(&call.arguments, chunks.max(2)),
        }
    }
}

/// Per format (in `Format` order), the keys that mean a body needs a full read: `"tool`
/// covers `"tools"`, `"tool_choice"`, `"tool_result"` and Chat's `"role":"tool"`. The
/// searchers are built once: building one per request costs more than the search.
static MARKERS: LazyLock<[Vec<Finder<'static>>; 4]> = LazyLock::new(|| {
    let finders = |keys: &[&'static [u8]]| keys.iter().map(|k| Finder::new(*k)).collect();
    [
        finders(&[b"\"tool", b"\"response_format\""]),
        finders(&[b"\"tool", b"\"text\"", b"\"function_call_output\""]),
        finders(&[b"\"tool", b"\"output_"]),
        finders(&[
            b"\"tools\"",
            b"\"generationConfig\"",
            b"\"functionResponse\"",
        ]),
    ]
});

/// Reads what `body` (in `format`) asks for. `tool_calls: false` (the `x-mock-tool-call`
/// knob) answers text even when tools are offered, except to Anthropic's forced tool.
pub fn inspect(format: Format, body: &[u8], tool_calls: bool) -> Answer {
    // The hot path: a plain chat body names none of these, and is never parsed twice.
    let markers = &MARKERS[format as usize];
    if !markers.iter().any(|m| m.find(body).is_some()) {
        return Answer::Tokens;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(request) => decide(format, &request, tool_calls),
        Err(_) => Answer::Tokens,
    }
}

/// A tool as offered: its name and parameter schema.
struct Tool<'a> {
    name: &'a str,
    schema: Option<&'a Value>,
}

impl Tool<'_> {
    fn call(&self) -> Answer {
        Answer::ToolCall(ToolCall {
            name: self.name.to_owned(),
            arguments: schema::sample_object(self.schema).to_string(),
        })
    }
}

/// `tool_choice`, as far as the mock heeds it.
enum Choice<'a> {
    Auto,
    None,
    Named(&'a str),
    /// Anthropic's `{"type":"tool","name":...}`: how a gateway asks Claude for JSON.
    Forced(&'a str),
}

fn decide(format: Format, request: &Value, tool_calls: bool) -> Answer {
    let tools = offered_tools(format, request);
    let choice = tool_choice(format, request);
    let pick = |name: Option<&str>| {
        tools
            .iter()
            .find(|t| name.is_none_or(|n| t.name == n))
            .map(Tool::call)
    };
    if let Choice::Forced(name) = choice {
        if let Some(call) = pick(Some(name)) {
            return call;
        }
    }
    let json = json_format(format, request).map(|v| Answer::Text(v.to_string()));
    if let Some(result) = tool_result(format, request) {
        return json.unwrap_or_else(|| Answer::Text(format!("tool said: {result}")));
    }
    let call = match choice {
        _ if !tool_calls => None,
        Choice::None => None,
        Choice::Named(name) => pick(Some(name)),
        Choice::Auto | Choice::Forced(_) => pick(None),
    };
    call.or(json).unwrap_or(Answer::Tokens)
}

fn offered_tools(format: Format, request: &Value) -> Vec<Tool<'_>> {
    let list = request.get("tools").and_then(Value::as_array);
    let tools = list.into_iter().flatten();
    match format {
        Format::OpenAi => tools
            .filter(|t| t.get("type").is_none_or(|k| k == "function"))
            .filter_map(|t| {
                let function = t.get("function")?;
                named(function.get("name"), function.get("parameters"))
            })
            .collect(),
        Format::Responses => tools
            .filter(|t| t.get("type").is_some_and(|k| k == "function"))
            .filter_map(|t| named(t.get("name"), t.get("parameters")))
            .collect(),
        // Server tools (web search, ...) have no input schema.
        Format::Anthropic => tools
            .filter(|t| t.get("input_schema").is_some())
            .filter_map(|t| named(t.get("name"), t.get("input_schema")))
            .collect(),
        Format::Gemini => tools
            .filter_map(|t| t.get("functionDeclarations").and_then(Value::as_array))
            .flatten()
            .filter_map(|f| {
                let schema = f
                    .get("parameters")
                    .or_else(|| f.get("parametersJsonSchema"));
                named(f.get("name"), schema)
            })
            .collect(),
    }
}

fn named<'a>(name: Option<&'a Value>, schema: Option<&'a Value>) -> Option<Tool<'a>> {
    let name = name?.as_str()?;
    Some(Tool { name, schema })
}

fn tool_choice(format: Format, request: &Value) -> Choice<'_> {
    let Some(choice) = request.get("tool_choice") else {
        return gemini_mode(request);
    };
    let kind = choice.as_str().or_else(|| choice["type"].as_str());
    match (format, kind) {
        (_, Some("none")) => Choice::None,
        (Format::Anthropic, Some("tool")) => {
            choice["name"].as_str().map_or(Choice::Auto, Choice::Forced)
        }
        (Format::OpenAi, Some("function")) => choice["function"]["name"]
            .as_str()
            .map_or(Choice::Auto, Choice::Named),
        (Format::Responses, Some("function")) => {
            choice["name"].as_str().map_or(Choice::Auto, Choice::Named)
        }
        _ => Choice::Auto,
    }
}

/// Gemini's `toolConfig.functionCallingConfig.mode: NONE` turns calling off.
fn gemini_mode(request: &Value) -> Choice<'_> {
    let mode = request["toolConfig"]["functionCallingConfig"]["mode"].as_str();
    match mode {
        Some(mode) if mode.eq_ignore_ascii_case("none") => Choice::None,
        _ => Choice::Auto,
    }
}

/// The content of the tool result(s) the conversation ends with, if it ends with one.
fn tool_result(format: Format, request: &Value) -> Option<String> {
    match format {
        Format::OpenAi => {
            let last = request.get("messages")?.as_array()?.last()?;
            (last["role"] == "tool").then(|| text_of(&last["content"]))
        }
        Format::Responses => {
            let last = request.get("input")?.as_array()?.last()?;
            (last["type"] == "function_call_output").then(|| text_of(&last["output"]))
        }
        Format::Anthropic => {
            let last = request.get("messages")?.as_array()?.last()?;
            let blocks = last.get("content")?.as_array()?;
            let results: Vec<String> = blocks
                .iter()
                .filter(|b| b["type"] == "tool_result")
                .map(|b| text_of(&b["content"]))
                .collect();
            (!results.is_empty()).then(|| results.join(" "))
        }
        Format::Gemini => {
            let last = request.get("contents")?.as_array()?.last()?;
            let parts = last.get("parts")?.as_array()?;
            let results: Vec<String> = parts
                .iter()
                .filter_map(|p| p.get("functionResponse"))
                .map(|r| gemini_result(r.get("response").unwrap_or(r)))
                .collect();
            (!results.is_empty()).then(|| results.join(" "))
        }
    }
}

/// A Gemini `response` object's `content`, `result` or `output` string (the AI SDK sends
/// `{"name":...,"content":...}`), else the object as JSON.
fn gemini_result(response: &Value) -> String {
    ["content", "result", "output"]
        .iter()
        .find_map(|key| response.get(key)?.as_str())
        .map_or_else(|| response.to_string(), str::to_owned)
}

/// A string as is; content parts as their texts joined; anything else as JSON.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| {
                p.as_str()
                    .or_else(|| p["text"].as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(""),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The JSON asked for: a sample of the schema, or `{}` when only "JSON" is asked.
fn json_format(format: Format, request: &Value) -> Option<Value> {
    let empty = || Value::Object(serde_json::Map::new());
    let from_spec = |spec: &Value, schema: &Value| match spec["type"].as_str() {
        Some("json_schema") => Some(schema::sample(schema)),
        Some("json_object") => Some(empty()),
        _ => None,
    };
    match format {
        Format::OpenAi => {
            let spec = request.get("response_format")?;
            from_spec(spec, &spec["json_schema"]["schema"])
        }
        Format::Responses => {
            let spec = request.get("text")?.get("format")?;
            from_spec(spec, &spec["schema"])
        }
        // The structured-outputs beta's `output_format`, or `output_config.format`.
        Format::Anthropic => {
            let spec = (request.get("output_format"))
                .or_else(|| request.get("output_config")?.get("format"))?;
            from_spec(spec, &spec["schema"])
        }
        Format::Gemini => {
            let config = request.get("generationConfig")?;
            let mime = config.get("responseMimeType")?.as_str()?;
            if !mime.eq_ignore_ascii_case("application/json") {
                return None;
            }
            let schema = config
                .get("responseSchema")
                .or_else(|| config.get("responseJsonSchema"));
            Some(schema.map_or_else(empty, schema::sample))
        }
    }
}

/// `text` cut into `n` pieces of about equal length (fewer when it is shorter), on
/// character boundaries.
fn split(text: &str, n: usize) -> Vec<&str> {
    let n = n.clamp(1, text.len().max(1));
    let mut pieces = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..=n {
        let mut end = text.len() * i / n;
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if end > start {
            pieces.push(&text[start..end]);
            start = end;
        }
    }
    if pieces.is_empty() {
        pieces.push(text);
    }
    pieces
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
