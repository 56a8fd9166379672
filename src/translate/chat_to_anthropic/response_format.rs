//! OpenAI `response_format` -> Anthropic: Anthropic has no JSON mode, so the schema
//! becomes one forced tool whose `input` the response side hands back as content.

use serde_json::{json, Map, Value};

use super::error::RequestError;
use super::request_messages::invalid;

/// The synthetic tool's name when the client's schema name is not a valid tool name.
pub const JSON_TOOL_NAME: &str = "json_response";

/// The synthetic tool's description: it is all the model is told about the tool.
pub const JSON_TOOL_DESCRIPTION: &str = "Respond with JSON matching this schema.";

/// Adds the synthetic JSON tool to `out` when the client asked for JSON output, and
/// returns its name. `None` when nothing was added: no `response_format`, `text`,
/// or the request already carries the client's own `tools` (call after the tools are
/// translated). With tools of its own, forcing our tool would stop the model from
/// calling the client's, and offering both would let it answer with either, so the
/// format is dropped as Anthropic cannot honour both at once.
pub fn apply_response_format(
    req: &mut Map<String, Value>,
    out: &mut Map<String, Value>,
) -> Result<Option<String>, RequestError> {
    let format = match req.get_mut("response_format").map(Value::take) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(format)) => format,
        Some(_) => return Err(invalid("response_format", "an object")),
    };
    if out.contains_key("tools") {
        return Ok(None);
    }
    let (name, schema) = match format.get("type").and_then(Value::as_str) {
        Some("text") => return Ok(None),
        Some("json_object") => (JSON_TOOL_NAME.to_owned(), any_object()),
        Some("json_schema") => json_schema_tool(format)?,
        _ => {
            return Err(invalid(
                "response_format.type",
                "\"text\", \"json_object\" or \"json_schema\"",
            ))
        }
    };
    out.insert(
        "tools".into(),
        json!([{ "name": name, "description": JSON_TOOL_DESCRIPTION, "input_schema": schema }]),
    );
    out.insert(
        "tool_choice".into(),
        json!({ "type": "tool", "name": name }),
    );
    Ok(Some(name))
}

/// `{"json_schema": {"name", "schema", ...}}`: OpenAI requires the name but not the
/// schema; a missing schema allows any object, as `json_object` does.
fn json_schema_tool(mut format: Map<String, Value>) -> Result<(String, Value), RequestError> {
    let Some(Value::Object(mut spec)) = format.get_mut("json_schema").map(Value::take) else {
        return Err(invalid("response_format.json_schema", "an object"));
    };
    let name = match spec.get("name") {
        Some(Value::String(name)) if is_tool_name(name) => name.clone(),
        _ => JSON_TOOL_NAME.to_owned(),
    };
    let schema = match spec.get_mut("schema").map(Value::take) {
        None | Some(Value::Null) => any_object(),
        Some(schema @ Value::Object(_)) => schema,
        Some(_) => return Err(invalid("response_format.json_schema.schema", "an object")),
    };
    Ok((name, schema))
}

fn any_object() -> Value {
    json!({ "type": "object" })
}

/// Anthropic's rule for tool names: `^[a-zA-Z0-9_-]{1,64}$`.
fn is_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(format: Value, tools: bool) -> (Result<Option<String>, RequestError>, Value) {
        let mut req = Map::new();
        req.insert("response_format".into(), format);
        let mut out = Map::new();
        if tools {
            out.insert("tools".into(), json!([{ "name": "mine" }]));
        }
        let result = apply_response_format(&mut req, &mut out);
        (result, Value::Object(out))
    }

    #[test]
    fn schema_names_that_are_not_tool_names_fall_back_to_json_response() {
        for (name, want) in [
            (json!("weather_report-2"), "weather_report-2"),
            (json!("has space"), JSON_TOOL_NAME),
            (json!(""), JSON_TOOL_NAME),
            (json!("x".repeat(65)), JSON_TOOL_NAME),
            (json!(7), JSON_TOOL_NAME),
        ] {
            let format = json!({ "type": "json_schema", "json_schema": { "name": name, "schema": { "type": "object" } } });
            let (result, out) = apply(format, false);
            assert_eq!(result.unwrap().as_deref(), Some(want));
            assert_eq!(out["tool_choice"], json!({ "type": "tool", "name": want }));
            assert_eq!(out["tools"][0]["name"], want);
        }
    }

    #[test]
    fn text_format_and_client_tools_leave_the_request_alone() {
        let (result, out) = apply(json!({ "type": "text" }), false);
        assert_eq!(result.unwrap(), None);
        assert_eq!(out, json!({}));
        let (result, out) = apply(json!({ "type": "json_object" }), true);
        assert_eq!(result.unwrap(), None);
        assert_eq!(out, json!({ "tools": [{ "name": "mine" }] }));
    }

    #[test]
    fn malformed_formats_are_typed_errors() {
        for format in [
            json!("json_object"),
            json!({ "type": "yaml" }),
            json!({ "type": "json_schema" }),
            json!({ "type": "json_schema", "json_schema": { "name": "n", "schema": [] } }),
        ] {
            let (result, _) = apply(format.clone(), false);
            assert!(
                matches!(result, Err(RequestError::InvalidField { .. })),
                "{format}"
            );
        }
    }
}
