//! The request fields a Responses object repeats back (`ResponseEcho`): read from the
//! client's request, written into every response object with OpenAI's defaults.

use serde_json::{json, Map, Value};

/// What a Responses object echoes of its request. Each field holds the client's JSON
/// value as sent (Responses shapes, e.g. flat function tools), or `None` when the
/// client left it out or sent null; the response then carries OpenAI's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseEcho {
    /// `instructions` (default null).
    pub instructions: Option<Value>,
    /// `max_output_tokens` (default null).
    pub max_output_tokens: Option<Value>,
    /// `metadata` (default `{}`).
    pub metadata: Option<Value>,
    /// `parallel_tool_calls` (default true).
    pub parallel_tool_calls: Option<Value>,
    /// `previous_response_id` (default null).
    pub previous_response_id: Option<Value>,
    /// `reasoning` (default `{"effort": null, "summary": null}`).
    pub reasoning: Option<Value>,
    /// `store` (default true).
    pub store: Option<Value>,
    /// `temperature` (default 1.0).
    pub temperature: Option<Value>,
    /// `text`, with its `format` (default `{"format": {"type": "text"}}`).
    pub text: Option<Value>,
    /// `tool_choice` (default "auto").
    pub tool_choice: Option<Value>,
    /// `tools` (default `[]`).
    pub tools: Option<Value>,
    /// `top_p` (default 1.0).
    pub top_p: Option<Value>,
    /// `user` (default null).
    pub user: Option<Value>,
}

impl ResponseEcho {
    /// The echoed fields of a request (already checked by the request translator).
    pub(super) fn of_request(req: &Map<String, Value>) -> Self {
        let field = |key: &str| req.get(key).filter(|v| !v.is_null()).cloned();
        ResponseEcho {
            instructions: field("instructions"),
            max_output_tokens: field("max_output_tokens"),
            metadata: field("metadata"),
            parallel_tool_calls: field("parallel_tool_calls"),
            previous_response_id: field("previous_response_id"),
            reasoning: field("reasoning"),
            store: field("store"),
            temperature: field("temperature"),
            text: field("text"),
            tool_choice: field("tool_choice"),
            tools: field("tools"),
            top_p: field("top_p"),
            user: field("user"),
        }
    }

    /// Writes every echoed field into a response object, a default where unset.
    pub(super) fn write_into(&self, response: &mut Map<String, Value>) {
        let fields = [
            ("instructions", &self.instructions, Value::Null),
            ("max_output_tokens", &self.max_output_tokens, Value::Null),
            ("metadata", &self.metadata, json!({})),
            (
                "parallel_tool_calls",
                &self.parallel_tool_calls,
                json!(true),
            ),
            (
                "previous_response_id",
                &self.previous_response_id,
                Value::Null,
            ),
            ("store", &self.store, json!(true)),
            ("temperature", &self.temperature, json!(1.0)),
            ("tool_choice", &self.tool_choice, json!("auto")),
            ("tools", &self.tools, json!([])),
            ("top_p", &self.top_p, json!(1.0)),
            ("user", &self.user, Value::Null),
        ];
        for (key, value, default) in fields {
            response.insert(key.into(), value.clone().unwrap_or(default));
        }
        response.insert("reasoning".into(), self.reasoning());
        response.insert("text".into(), self.text());
    }

    /// `reasoning` with both of its members, as OpenAI always sends them.
    fn reasoning(&self) -> Value {
        let member = |key| {
            self.reasoning
                .as_ref()
                .and_then(|r| r.get(key))
                .cloned()
                .unwrap_or(Value::Null)
        };
        json!({ "effort": member("effort"), "summary": member("summary") })
    }

    /// `text` as sent, with the default `format` where it has none.
    fn text(&self) -> Value {
        let mut text = match &self.text {
            Some(Value::Object(text)) => text.clone(),
            _ => Map::new(),
        };
        if text.get("format").is_none_or(Value::is_null) {
            text.insert("format".into(), json!({ "type": "text" }));
        }
        Value::Object(text)
    }
}
