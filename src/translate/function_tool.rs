//! OpenAI function tools, read and checked once for every translator: a tool's name,
//! optional description and optional JSON Schema parameters, and the `tool_choice`,
//! with the path of any fault.

use serde_json::{Map, Value};

pub struct FunctionTool {
    /// Always a JSON string.
    pub name: Value,
    pub description: Option<Value>,
    /// A JSON Schema object, if the client gave one.
    pub parameters: Option<Value>,
}

/// What is wrong with a tool; each translator turns it into its own `RequestError`.
pub enum ToolFault {
    Invalid {
        path: String,
        expected: &'static str,
    },
    UnsupportedType {
        path: String,
        kind: String,
    },
}

pub fn read_function_tool(tool: Value, path: &str) -> Result<FunctionTool, ToolFault> {
    let invalid = |field: &str, expected| ToolFault::Invalid {
        path: format!("{path}{field}"),
        expected,
    };
    let Value::Object(mut tool) = tool else {
        return Err(invalid("", "an object"));
    };
    match tool.get("type").and_then(Value::as_str) {
        Some("function") => {}
        Some(other) => {
            return Err(ToolFault::UnsupportedType {
                path: path.to_owned(),
                kind: other.to_owned(),
            })
        }
        None => return Err(invalid(".type", "\"function\"")),
    }
    let Some(Value::Object(mut function)) = tool.get_mut("function").map(Value::take) else {
        return Err(invalid(".function", "an object"));
    };
    let name = match function.get_mut("name").map(Value::take) {
        Some(name @ Value::String(_)) => name,
        _ => return Err(invalid(".function.name", "a string")),
    };
    let description = match function.get_mut("description").map(Value::take) {
        None | Some(Value::Null) => None,
        Some(d @ Value::String(_)) => Some(d),
        Some(_) => return Err(invalid(".function.description", "a string")),
    };
    let parameters = match function.get_mut("parameters").map(Value::take) {
        None | Some(Value::Null) => None,
        Some(schema @ Value::Object(_)) => Some(schema),
        Some(_) => return Err(invalid(".function.parameters", "an object")),
    };
    Ok(FunctionTool {
        name,
        description,
        parameters,
    })
}

/// The client's `tool_choice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolChoice<'a> {
    Auto,
    None,
    Required,
    /// `{"type": "function", "function": {"name": ...}}`.
    Function(&'a str),
}

/// `req["tool_choice"]`, `None` when absent or null.
pub fn read_tool_choice(req: &Map<String, Value>) -> Result<Option<ToolChoice<'_>>, ToolFault> {
    let invalid = |expected| ToolFault::Invalid {
        path: "tool_choice".to_owned(),
        expected,
    };
    Ok(Some(match req.get("tool_choice") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(mode)) => match mode.as_str() {
            "auto" => ToolChoice::Auto,
            "none" => ToolChoice::None,
            "required" => ToolChoice::Required,
            _ => return Err(invalid("\"auto\", \"none\", \"required\" or a function")),
        },
        Some(Value::Object(named)) => named
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .filter(|_| named.get("type").and_then(Value::as_str) == Some("function"))
            .map(ToolChoice::Function)
            .ok_or_else(|| invalid("{\"type\": \"function\", \"function\": {\"name\": ...}}"))?,
        Some(_) => return Err(invalid("a string or an object")),
    }))
}
