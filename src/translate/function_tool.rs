//! One OpenAI function tool, read and checked once for every translator: its name,
//! optional description and optional JSON Schema parameters, with the path of any fault.

use serde_json::Value;

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
