//! Responses request translation, rule by rule: input items and content parts, history,
//! instructions, tools, tool_choice, text.format, sampling fields, and every refusal.

use serde_json::{json, Value};

use super::*;

fn chat(body: Value, history: &[Value]) -> Value {
    let translated = translate_request(body.to_string().as_bytes(), "gpt-x", history).unwrap();
    serde_json::from_slice(&translated.body).unwrap()
}

fn error(body: Value) -> String {
    translate_request(body.to_string().as_bytes(), "m", &[])
        .unwrap_err()
        .to_string()
}

#[test]
fn a_string_input_is_one_user_message_after_the_instructions() {
    let out = chat(
        json!({ "model": "openai/x", "input": "hi", "instructions": "be brief" }),
        &[],
    );
    assert_eq!(
        out,
        json!({ "model": "gpt-x", "messages": [
            { "role": "system", "content": "be brief" },
            { "role": "user", "content": "hi" },
        ] })
    );
}

#[test]
fn message_items_keep_their_roles_and_parts() {
    let input = json!([
        { "role": "developer", "content": "rules" },
        { "type": "message", "role": "system", "content": [{ "type": "input_text", "text": "a" }, { "type": "input_text", "text": "b" }] },
        { "role": "user", "content": [
            { "type": "input_text", "text": "look" },
            { "type": "input_image", "image_url": "https://x/a.png", "detail": "low" },
            { "type": "input_image", "image_url": "data:image/png;base64,AAAA" },
        ] },
        { "type": "message", "role": "assistant", "id": "msg_1", "status": "completed", "content": [
            { "type": "output_text", "text": "I see ", "annotations": [] },
            { "type": "refusal", "refusal": "no" },
        ] },
        { "type": "reasoning", "id": "rs_1", "summary": [] },
    ]);
    let out = chat(json!({ "input": input }), &[]);
    assert_eq!(
        out["messages"],
        json!([
            { "role": "system", "content": "rules" },
            { "role": "system", "content": "ab" },
            { "role": "user", "content": [
                { "type": "text", "text": "look" },
                { "type": "image_url", "image_url": { "url": "https://x/a.png", "detail": "low" } },
                { "type": "image_url", "image_url": { "url": "data:image/png;base64,AAAA" } },
            ] },
            { "role": "assistant", "content": "I see no" },
        ])
    );
}

#[test]
fn function_calls_merge_into_one_assistant_turn_and_outputs_become_tool_messages() {
    let call = |id: &str| json!({ "type": "function_call", "id": format!("fc_{id}"), "call_id": id, "name": "f", "arguments": "{\"a\":1}", "status": "completed" });
    let input = json!([
        { "role": "user", "content": "go" },
        { "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "calling" }] },
        call("c1"),
        call("c2"),
        { "type": "function_call_output", "call_id": "c1", "output": "one" },
        { "type": "function_call_output", "call_id": "c2", "output": [{ "type": "input_text", "text": "t" }, { "type": "input_text", "text": "wo" }] },
        call("c3"),
    ]);
    let out = chat(json!({ "input": input }), &[]);
    let tool_call = |id: &str| json!({ "id": id, "type": "function", "function": { "name": "f", "arguments": "{\"a\":1}" } });
    assert_eq!(
        out["messages"],
        json!([
            { "role": "user", "content": "go" },
            { "role": "assistant", "content": "calling", "tool_calls": [tool_call("c1"), tool_call("c2")] },
            { "role": "tool", "tool_call_id": "c1", "content": "one" },
            { "role": "tool", "tool_call_id": "c2", "content": "two" },
            { "role": "assistant", "content": null, "tool_calls": [tool_call("c3")] },
        ])
    );
}

#[test]
fn history_goes_between_the_instructions_and_the_input() {
    let history = [
        json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "first" }] }),
        json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": "reply" }] }),
    ];
    let out = chat(
        json!({ "input": "second", "instructions": "sys" }),
        &history,
    );
    let roles: Vec<&str> = out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(out["messages"][1]["content"], "first");
    assert_eq!(out["messages"][3]["content"], "second");
}

#[test]
fn sampling_limits_stream_and_reasoning_map_and_the_rest_stays_home() {
    let body = json!({
        "input": "hi", "max_output_tokens": 50, "temperature": 0.2, "top_p": 0.9,
        "parallel_tool_calls": false, "user": "u1", "reasoning": { "effort": "low", "summary": "auto" },
        "stream": true, "store": false, "metadata": { "k": "v" }, "previous_response_id": "resp_prev",
        "truncation": "auto", "include": ["reasoning.encrypted_content"], "service_tier": "auto",
        "background": false,
    });
    let translated = translate_request(body.to_string().as_bytes(), "gpt-x", &[]).unwrap();
    let out: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(
        out,
        json!({
            "model": "gpt-x", "messages": [{ "role": "user", "content": "hi" }],
            "max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "parallel_tool_calls": false,
            "user": "u1", "reasoning_effort": "low",
            "stream": true, "stream_options": { "include_usage": true },
        })
    );
    assert!(translated.stream);
    assert!(!translated.store);
    assert_eq!(
        translated.previous_response_id.as_deref(),
        Some("resp_prev")
    );
    assert_eq!(translated.echo.metadata, Some(json!({ "k": "v" })));
    assert_eq!(translated.echo.max_output_tokens, Some(json!(50)));
    let plain = translate_request(br#"{"input":"hi"}"#, "m", &[]).unwrap();
    assert!(plain.store && !plain.stream && plain.previous_response_id.is_none());
    assert_eq!(plain.echo, ResponseEcho::default());
}

#[test]
fn function_tools_and_tool_choice_take_the_chat_shape() {
    let tool = json!({ "type": "function", "name": "get", "description": "d", "parameters": { "type": "object" }, "strict": true });
    let out = chat(
        json!({ "input": "hi", "tools": [tool.clone()], "tool_choice": { "type": "function", "name": "get" } }),
        &[],
    );
    assert_eq!(
        out["tools"],
        json!([{ "type": "function", "function": { "name": "get", "description": "d", "parameters": { "type": "object" }, "strict": true } }])
    );
    assert_eq!(
        out["tool_choice"],
        json!({ "type": "function", "function": { "name": "get" } })
    );
    for mode in ["auto", "none", "required"] {
        let out = chat(
            json!({ "input": "hi", "tools": [tool.clone()], "tool_choice": mode }),
            &[],
        );
        assert_eq!(out["tool_choice"], mode);
    }
    let bare = chat(
        json!({ "input": "hi", "tools": [{ "type": "function", "name": "n", "parameters": null }] }),
        &[],
    );
    assert_eq!(
        bare["tools"],
        json!([{ "type": "function", "function": { "name": "n" } }])
    );
}

#[test]
fn text_format_becomes_response_format() {
    let schema = json!({ "type": "json_schema", "name": "s", "schema": { "type": "object" }, "strict": true, "description": "d" });
    let out = chat(json!({ "input": "hi", "text": { "format": schema } }), &[]);
    assert_eq!(
        out["response_format"],
        json!({ "type": "json_schema", "json_schema": { "name": "s", "schema": { "type": "object" }, "strict": true, "description": "d" } })
    );
    let out = chat(
        json!({ "input": "hi", "text": { "format": { "type": "json_object" } } }),
        &[],
    );
    assert_eq!(out["response_format"], json!({ "type": "json_object" }));
    let out = chat(
        json!({ "input": "hi", "text": { "format": { "type": "text" }, "verbosity": "low" } }),
        &[],
    );
    assert!(out.get("response_format").is_none());
}

#[test]
fn input_items_are_the_input_as_items() {
    let items = input_items(br#"{"input":"hi","instructions":"x"}"#).unwrap();
    assert_eq!(
        items,
        [
            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "hi" }] })
        ]
    );
    let list = json!([{ "role": "user", "content": "a" }, { "type": "function_call_output", "call_id": "c", "output": "o" }]);
    let body = json!({ "input": list.clone() }).to_string();
    assert_eq!(Value::Array(input_items(body.as_bytes()).unwrap()), list);
    assert!(input_items(b"{}").unwrap().is_empty());
    assert!(matches!(
        input_items(b"nope"),
        Err(RequestError::InvalidJson(_))
    ));
}

#[test]
fn requests_chat_cannot_carry_are_typed_errors_naming_the_field() {
    let cases = [
        (json!({}), "`input` must be"),
        (json!({ "input": 5 }), "`input` must be"),
        (json!({ "input": [5] }), "`input[0]` must be an object"),
        (
            json!({ "input": [{ "type": "file_search_call", "id": "x" }] }),
            "`input[0].type` = \"file_search_call\"",
        ),
        (
            json!({ "input": [{ "type": "item_reference", "id": "x" }] }),
            "\"item_reference\" is not supported",
        ),
        (
            json!({ "input": [{ "role": "tool", "content": "x" }] }),
            "`input[0].role` = \"tool\"",
        ),
        (
            json!({ "input": [{ "role": "user", "content": [{ "type": "input_file", "file_id": "f" }] }] }),
            "`input[0].content[0].type` = \"input_file\"",
        ),
        (
            json!({ "input": [{ "role": "user", "content": [{ "type": "input_image", "file_id": "f" }] }] }),
            "`input[0].content[0].file_id` is not supported",
        ),
        (
            json!({ "input": [{ "role": "user", "content": [{ "type": "input_image" }] }] }),
            "`input[0].content[0].image_url` must be a string",
        ),
        (
            json!({ "input": [{ "role": "system", "content": [{ "type": "input_image", "image_url": "u" }] }] }),
            "content[0].type` = \"input_image\"",
        ),
        (
            json!({ "input": [{ "type": "function_call", "call_id": "c", "name": "f" }] }),
            "`input[0].arguments` must be a string",
        ),
        (
            json!({ "input": [{ "type": "function_call_output", "call_id": "c", "output": 3 }] }),
            "`input[0].output` must be a string or an array of input_text parts",
        ),
        (
            json!({ "input": [{ "type": "function_call_output", "call_id": "c", "output": [{ "type": "input_image", "image_url": "u" }] }] }),
            "`input[0].output[0].type` = \"input_image\"",
        ),
        (
            json!({ "input": "x", "tools": [{ "type": "web_search" }] }),
            "`tools[0].type` = \"web_search\" is not supported",
        ),
        (
            json!({ "input": "x", "tools": [{ "type": "mcp", "server_label": "s" }] }),
            "\"mcp\" is not supported",
        ),
        (
            json!({ "input": "x", "tools": [{ "type": "function" }] }),
            "`tools[0].name` must be a string",
        ),
        (
            json!({ "input": "x", "tools": [{ "type": "function", "name": "f", "parameters": "{}" }] }),
            "`tools[0].parameters` must be an object",
        ),
        (
            json!({ "input": "x", "tool_choice": { "type": "file_search" } }),
            "`tool_choice.type` = \"file_search\"",
        ),
        (
            json!({ "input": "x", "tool_choice": "sometimes" }),
            "`tool_choice` must be",
        ),
        (
            json!({ "input": "x", "text": { "format": { "type": "json_schema", "schema": {} } } }),
            "`text.format.name` must be a string",
        ),
        (
            json!({ "input": "x", "text": { "format": { "type": "grammar" } } }),
            "`text.format.type` must be",
        ),
        (
            json!({ "input": "x", "max_output_tokens": 0 }),
            "`max_output_tokens` must be a positive integer",
        ),
        (
            json!({ "input": "x", "temperature": "hot" }),
            "`temperature` must be a number",
        ),
        (
            json!({ "input": "x", "stream": "yes" }),
            "`stream` must be a boolean",
        ),
        (
            json!({ "input": "x", "reasoning": { "effort": 1 } }),
            "`reasoning.effort` must be a string",
        ),
        (
            json!({ "input": "x", "instructions": ["a"] }),
            "`instructions` must be a string",
        ),
        (
            json!({ "input": "x", "background": true }),
            "`background` is not supported",
        ),
        (
            json!({ "input": "x", "conversation": "conv_1" }),
            "`conversation` is not supported",
        ),
    ];
    for (req, needle) in cases {
        let err = error(req.clone());
        assert!(err.contains(needle), "{req}: {err}");
    }
    assert!(matches!(
        translate_request(b"{", "m", &[]),
        Err(RequestError::InvalidJson(_))
    ));
    assert!(error(json!([1])).contains("(request body)"));
    let history_err = translate_request(
        br#"{"input":"x"}"#,
        "m",
        &[json!({ "type": "web_search_call" })],
    )
    .unwrap_err()
    .to_string();
    assert!(history_err.contains("`history[0].type`"), "{history_err}");
}
