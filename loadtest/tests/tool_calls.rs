//! The real `sluice-mock` binary calling offered tools in Chat Completions, Anthropic Messages
//! and Gemini (JSON and stream), echoing tool results, and answering JSON for a schema.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::exchange::{exchange, sse_events};
use common::Mock;
use serde_json::{json, Value};

const CHAT: &str = "/v1/chat/completions";
const CHAT_TOOLS: &str = r#"{"model":"gpt-mock","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}]}"#;
const SCHEMA: &str = r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"number"},"ok":{"type":"boolean"}},"required":["name","age","ok"]}"#;

fn want_arguments() -> Value {
    json!({"city": "mock", "days": 1})
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The `data` of every event named `name`, in order.
fn named<'a>(events: &'a [(Option<String>, Value)], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|(n, _)| n.as_deref() == Some(name))
        .map(|(_, d)| d)
        .collect()
}

#[test]
fn chat_calls_the_first_tool_then_echoes_its_result() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let json = exchange(&mut conn, CHAT, &[], CHAT_TOOLS).json();
    let choice = &json["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(
        (&call["type"], &call["function"]["name"]),
        (&json!("function"), &json!("get_weather"))
    );
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(
        parse(call["function"]["arguments"].as_str().unwrap()),
        want_arguments()
    );

    let round_trip = CHAT_TOOLS.replace(
        r#"{"role":"user","content":"weather?"}"#,
        r#"{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"sunny"}"#,
    );
    let json = exchange(&mut conn, CHAT, &[], &round_trip).json();
    assert_eq!(json["choices"][0]["message"]["content"], "tool said: sunny");
    assert_eq!(json["choices"][0]["finish_reason"], "stop");

    let text = exchange(
        &mut conn,
        CHAT,
        &["x-mock-tool-call: false", "x-mock-chunks: 2"],
        CHAT_TOOLS,
    );
    assert_eq!(
        text.json()["choices"][0]["message"]["content"],
        "tok0 tok1 "
    );
    let bad = exchange(&mut conn, CHAT, &["x-mock-tool-call: maybe"], CHAT_TOOLS);
    assert_eq!(bad.status, 400);

    // The flag sets the default; a header still overrides it.
    let texting = Mock::start(&["--tool-call", "false", "--chunks", "1"]);
    let mut conn = texting.connect();
    let json = exchange(&mut conn, CHAT, &[], CHAT_TOOLS).json();
    assert_eq!(json["choices"][0]["message"]["content"], "tok0 ");
    let json = exchange(&mut conn, CHAT, &["x-mock-tool-call: true"], CHAT_TOOLS).json();
    assert_eq!(json["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn chat_stream_sends_the_call_head_then_argument_fragments() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let body = CHAT_TOOLS.replace(
        r#""tools""#,
        r#""stream":true,"stream_options":{"include_usage":true},"tools""#,
    );
    let response = exchange(&mut conn, CHAT, &["x-mock-chunks: 3"], &body);
    assert_eq!(response.content_type, "text/event-stream");
    let body = response.body();
    assert!(String::from_utf8_lossy(&body).ends_with("data: [DONE]\n\n"));
    let events = sse_events(&body, "\n\n");
    assert_eq!(
        response.chunks.len(),
        events.len() + 1,
        "one event per write, then [DONE]"
    );
    let head = &events[0].1["choices"][0]["delta"];
    assert_eq!(head["role"], "assistant");
    let call = &head["tool_calls"][0];
    assert_eq!(
        (&call["index"], &call["function"]["name"]),
        (&json!(0), &json!("get_weather"))
    );
    assert_eq!(call["function"]["arguments"], "");
    let fragments: Vec<&str> = events[1..events.len() - 2]
        .iter()
        .map(|(_, d)| {
            d["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(fragments.len(), 3, "one fragment per chunk");
    assert_eq!(parse(&fragments.concat()), want_arguments());
    let finish = &events[events.len() - 2].1["choices"][0];
    assert_eq!(finish["finish_reason"], "tool_calls");
    assert_eq!(events.last().unwrap().1["usage"]["completion_tokens"], 3);
}

#[test]
fn anthropic_streams_a_tool_use_block_and_echoes_the_tool_result() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let tools = r#""tools":[{"name":"get_weather","description":"d","input_schema":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}]"#;
    let body = format!(
        r#"{{"model":"claude-mock","max_tokens":50,"stream":true,"messages":[{{"role":"user","content":"weather?"}}],{tools}}}"#
    );
    let response = exchange(&mut conn, "/v1/messages", &[], &body);
    let events = sse_events(&response.body(), "\n\n");
    let block = &named(&events, "content_block_start")[0]["content_block"];
    assert_eq!(
        (&block["type"], &block["name"], &block["input"]),
        (&json!("tool_use"), &json!("get_weather"), &json!({}))
    );
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    let partials: Vec<&str> = named(&events, "content_block_delta")
        .iter()
        .map(|d| {
            assert_eq!(d["delta"]["type"], "input_json_delta");
            d["delta"]["partial_json"].as_str().unwrap()
        })
        .collect();
    assert!(partials.len() >= 2);
    assert_eq!(parse(&partials.concat()), want_arguments());
    assert_eq!(
        named(&events, "message_delta")[0]["delta"]["stop_reason"],
        "tool_use"
    );

    let json = exchange(
        &mut conn,
        "/v1/messages",
        &[],
        &body.replace(r#""stream":true,"#, ""),
    )
    .json();
    assert_eq!(json["stop_reason"], "tool_use");
    assert_eq!(json["content"][0]["input"], want_arguments());

    let result = format!(
        r#"{{"model":"claude-mock","max_tokens":50,"messages":[{{"role":"user","content":"weather?"}},{{"role":"assistant","content":[{{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{{}}}}]}},{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_1","content":"rain"}}]}}],{tools}}}"#
    );
    let json = exchange(&mut conn, "/v1/messages", &[], &result).json();
    assert_eq!(
        json["content"],
        json!([{"type": "text", "text": "tool said: rain"}])
    );
    assert_eq!(json["stop_reason"], "end_turn");
}

#[test]
fn gemini_answers_a_whole_function_call_and_echoes_the_function_response() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let tools = r#""tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"},"days":{"type":"INTEGER"}}}}]}]"#;
    let body =
        format!(r#"{{"contents":[{{"role":"user","parts":[{{"text":"weather?"}}]}}],{tools}}}"#);
    let path = "/v1beta/models/gemini-mock:generateContent";
    let json = exchange(&mut conn, path, &[], &body).json();
    let part = &json["candidates"][0]["content"]["parts"][0];
    assert_eq!(
        part["functionCall"],
        json!({"name": "get_weather", "args": want_arguments()})
    );
    assert_eq!(json["candidates"][0]["finishReason"], "STOP");

    let stream = "/v1beta/models/gemini-mock:streamGenerateContent?alt=sse";
    let events = sse_events(&exchange(&mut conn, stream, &[], &body).body(), "\r\n\r\n");
    assert_eq!(events.len(), 1, "Gemini sends a call whole");
    let candidate = &events[0].1["candidates"][0];
    assert_eq!(
        candidate["content"]["parts"][0]["functionCall"]["args"],
        want_arguments()
    );
    assert_eq!(candidate["finishReason"], "STOP");

    let result = format!(
        r#"{{"contents":[{{"role":"user","parts":[{{"text":"weather?"}}]}},{{"role":"model","parts":[{{"functionCall":{{"name":"get_weather","args":{{}}}}}}]}},{{"role":"user","parts":[{{"functionResponse":{{"name":"get_weather","response":{{"temp":22}}}}}}]}}],{tools}}}"#
    );
    let json = exchange(&mut conn, path, &[], &result).json();
    assert_eq!(
        json["candidates"][0]["content"]["parts"][0]["text"],
        r#"tool said: {"temp":22}"#
    );
}

#[test]
fn json_asked_for_is_json_that_fits_the_schema_in_every_api() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let want = json!({"name": "mock", "age": 1, "ok": true});
    let chat = format!(
        r#"{{"model":"gpt-mock","messages":[{{"role":"user","content":"hi"}}],"response_format":{{"type":"json_schema","json_schema":{{"name":"p","strict":true,"schema":{SCHEMA}}}}}}}"#
    );
    let json = exchange(&mut conn, CHAT, &[], &chat).json();
    assert_eq!(
        parse(json["choices"][0]["message"]["content"].as_str().unwrap()),
        want
    );
    let stream = chat.replace(r#""messages""#, r#""stream":true,"messages""#);
    let events = sse_events(
        &exchange(&mut conn, CHAT, &["x-mock-chunks: 5"], &stream).body(),
        "\n\n",
    );
    let content: String = events
        .iter()
        .filter_map(|(_, d)| d["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(parse(&content), want);
    let object = r#"{"model":"gpt-mock","messages":[],"response_format":{"type":"json_object"}}"#;
    let json = exchange(&mut conn, CHAT, &[], object).json();
    assert!(parse(json["choices"][0]["message"]["content"].as_str().unwrap()).is_object());

    let gemini = format!(
        r#"{{"contents":[],"generationConfig":{{"responseMimeType":"application/json","responseSchema":{SCHEMA}}}}}"#
    );
    let json = exchange(&mut conn, "/v1beta/models/g:generateContent", &[], &gemini).json();
    assert_eq!(
        parse(
            json["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        ),
        want
    );

    // How a gateway asks Claude for JSON: a forced tool, answered even with tool calls off.
    let anthropic = format!(
        r#"{{"model":"claude-mock","max_tokens":9,"messages":[{{"role":"user","content":"hi"}}],"tool_choice":{{"type":"tool","name":"json_output"}},"tools":[{{"name":"other","input_schema":{{"type":"object"}}}},{{"name":"json_output","input_schema":{SCHEMA}}}]}}"#
    );
    let json = exchange(
        &mut conn,
        "/v1/messages",
        &["x-mock-tool-call: false"],
        &anthropic,
    )
    .json();
    assert_eq!(json["content"][0]["name"], "json_output");
    assert_eq!(json["content"][0]["input"], want);
}
