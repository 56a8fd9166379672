//! A value that fits a JSON Schema (OpenAI/Anthropic) or Gemini's OpenAPI subset, for the
//! mock's tool-call arguments and structured outputs: `"mock"`, 1, true, [], nested objects.

use serde_json::{Map, Value};

/// Deepest nesting sampled; a recursive schema ends in `null` there.
const MAX_DEPTH: usize = 8;

/// A value matching `schema`: every property (and every `required` name) present, strings
/// `"mock"` (or the first `enum` value), numbers 1, booleans true, arrays empty.
pub fn sample(schema: &Value) -> Value {
    sample_at(schema, schema, 0)
}

/// `sample(schema)` when it is an object, else `{}`: tool arguments are always an object.
pub fn sample_object(schema: Option<&Value>) -> Value {
    match schema.map(sample) {
        Some(value @ Value::Object(_)) => value,
        _ => Value::Object(Map::new()),
    }
}

fn sample_at(schema: &Value, root: &Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    // `#/$defs/Name` (pydantic, zod) points into the root schema.
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        return sample_at(target, root, depth + 1);
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        let alternatives = schema.get(key).and_then(Value::as_array);
        if let Some(choice) = alternatives.and_then(|a| a.iter().find(|s| !is_null_type(s))) {
            return sample_at(choice, root, depth + 1);
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    match type_name(schema).as_deref() {
        Some("string") => Value::from("mock"),
        Some("number" | "integer") => Value::from(1),
        Some("boolean") => Value::Bool(true),
        Some("array") => Value::Array(Vec::new()),
        Some("null") => Value::Null,
        Some("object") => object(schema, properties, root, depth),
        _ if properties.is_some() => object(schema, properties, root, depth),
        _ => Value::from("mock"),
    }
}

fn object(
    schema: &Value,
    properties: Option<&Map<String, Value>>,
    root: &Value,
    depth: usize,
) -> Value {
    let mut out = Map::new();
    for (name, property) in properties.into_iter().flatten() {
        out.insert(name.clone(), sample_at(property, root, depth + 1));
    }
    let required = schema.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        if !out.contains_key(name) {
            out.insert(name.to_owned(), Value::from("mock"));
        }
    }
    Value::Object(out)
}

/// The schema's type, lower-cased (Gemini writes `STRING`); of a type list, the first non-null.
fn type_name(schema: &Value) -> Option<String> {
    let name = match schema.get("type")? {
        Value::String(name) => name.as_str(),
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .find(|n| !n.eq_ignore_ascii_case("null"))?,
        _ => return None,
    };
    Some(name.to_ascii_lowercase())
}

fn is_null_type(schema: &Value) -> bool {
    type_name(schema).as_deref() == Some("null")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_property_gets_a_value_of_its_type() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"}, "age": {"type": "integer"}, "score": {"type": "number"},
                "ok": {"type": "boolean"}, "tags": {"type": "array", "items": {"type": "string"}},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "maybe": {"type": ["string", "null"]},
                "nested": {"type": "object", "properties": {"x": {"type": "number"}}},
                "loose": {"type": "object"}
            },
            "required": ["name", "extra"]
        });
        assert_eq!(
            sample(&schema),
            json!({"name": "mock", "age": 1, "score": 1, "ok": true, "tags": [],
                   "unit": "celsius", "maybe": "mock", "nested": {"x": 1}, "loose": {},
                   "extra": "mock"})
        );
    }

    #[test]
    fn refs_gemini_types_and_unions_are_followed() {
        let schema = json!({
            "$defs": {"City": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "type": "object",
            "properties": {"city": {"$ref": "#/$defs/City"},
                           "n": {"anyOf": [{"type": "null"}, {"type": "integer"}]}}
        });
        assert_eq!(sample(&schema), json!({"city": {"name": "mock"}, "n": 1}));
        let gemini = json!({"type": "OBJECT", "properties": {"b": {"type": "BOOLEAN"}}});
        assert_eq!(sample(&gemini), json!({"b": true}));
        let endless = json!({"type": "object", "properties": {"me": {"$ref": "#"}}});
        assert!(sample(&endless).is_object(), "recursion ends");
        assert_eq!(sample_object(Some(&json!({"type": "string"}))), json!({}));
        assert_eq!(sample_object(None), json!({}));
    }
}
