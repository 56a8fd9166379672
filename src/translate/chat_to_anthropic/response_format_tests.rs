//! Golden tests of `response_format` through the synthetic JSON tool: requests,
//! the message and the stream coming back, in tests/fixtures/translate/response-format.

use std::path::PathBuf;

use serde_json::Value;

use super::{
    translate_message, translate_request, AnthropicToOpenAiStream, StreamOptions, JSON_TOOL_NAME,
};
use crate::sse::SseScanner;

const CREATED: u64 = 1_700_000_000;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/translate/response-format")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn requests_become_a_forced_tool_unless_the_client_has_tools() {
    for (name, want_tool) in [
        ("request-json-schema", Some("calendar_event")),
        ("request-json-object", Some(JSON_TOOL_NAME)),
        ("request-tools-and-format", None),
    ] {
        let got = translate_request(
            &fixture(&format!("{name}.openai.json")),
            "claude-sonnet-4-5",
        )
        .unwrap();
        let want = json(&fixture(&format!("{name}.anthropic.json")));
        assert_eq!(json(&got.body), want, "{name}");
        assert_eq!(got.json_tool.as_deref(), want_tool, "{name}");
    }
}

#[test]
fn the_json_tool_answer_comes_back_as_content_with_stop() {
    let body = fixture("message-json-tool.anthropic.json");
    let got = translate_message(&body, CREATED, true).unwrap();
    assert_eq!(json(&got), json(&fixture("message-json-tool.openai.json")));
    // Without the flag the same body is an ordinary tool call.
    let plain = json(&translate_message(&body, CREATED, false).unwrap());
    assert_eq!(plain["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(plain["choices"][0]["message"]["content"], Value::Null);
}

fn translate_stream(input: &[u8], json_tool: bool) -> Vec<u8> {
    let mut translator = AnthropicToOpenAiStream::new(StreamOptions {
        created: CREATED,
        include_usage: true,
        json_tool,
        ..StreamOptions::default()
    });
    let mut out = Vec::new();
    SseScanner::new().feed(input, |event| {
        translator
            .push_event(event.event, event.data, &mut out)
            .unwrap();
    });
    out
}

fn client_events(stream: &[u8]) -> Vec<Value> {
    let mut events = Vec::new();
    SseScanner::new().feed(stream, |event| {
        events.push(match event.data {
            b"[DONE]" => Value::String("[DONE]".into()),
            data => json(data),
        });
    });
    events
}

#[test]
fn the_streamed_json_tool_input_arrives_as_content_deltas() {
    let input = fixture("stream-json-tool.anthropic.sse");
    let got = client_events(&translate_stream(&input, true));
    let want = client_events(&fixture("stream-json-tool.openai.sse"));
    assert_eq!(want.len(), 7);
    assert_eq!(got, want);
    let joined: String = got
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        json(joined.as_bytes()),
        serde_json::json!({ "colours": ["red", "green", "blue"] })
    );
}

#[test]
fn a_json_tool_with_no_input_fragments_streams_an_empty_object() {
    let input = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"json_response\",\"input\":{}}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
    let got = client_events(&translate_stream(input, true));
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1]["choices"][0]["delta"],
        serde_json::json!({ "content": "{}" })
    );
}

#[test]
fn the_json_tool_stream_is_the_same_however_the_upstream_bytes_are_split() {
    let input = fixture("stream-json-tool.anthropic.sse");
    let whole = translate_stream(&input, true);
    assert!(whole.len() > 500);
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        let mut translator = AnthropicToOpenAiStream::new(StreamOptions {
            created: CREATED,
            include_usage: true,
            json_tool: true,
            ..StreamOptions::default()
        });
        let mut scanner = SseScanner::new();
        let mut out = Vec::new();
        for piece in [a, b] {
            scanner.feed(piece, |event| {
                translator
                    .push_event(event.event, event.data, &mut out)
                    .unwrap();
            });
        }
        assert_eq!(out, whole, "split at {cut}");
    }
}

#[test]
fn text_beside_the_json_tool_is_left_out_of_the_content() {
    let body = fixture("message-json-tool-with-text.anthropic.json");
    let got = json(&translate_message(&body, CREATED, true).unwrap());
    assert_eq!(
        got,
        json(&fixture("message-json-tool-with-text.openai.json"))
    );
    let content = got["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        json(content.as_bytes()),
        serde_json::json!({ "city": "Paris" })
    );
    // Without the flag the text is the content and the call a tool call.
    let plain = json(&translate_message(&body, CREATED, false).unwrap());
    assert_eq!(
        plain["choices"][0]["message"]["content"],
        "Hello Anything else?"
    );
    assert_eq!(
        plain["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        r#"{"city":"Paris"}"#
    );
}

#[test]
fn a_json_tool_reply_without_the_tool_has_null_content() {
    let body = br#"{"id":"m","model":"c","content":[{"type":"text","text":"I cannot."}],"stop_reason":"max_tokens","usage":{}}"#;
    let got = json(&translate_message(body, CREATED, true).unwrap());
    assert_eq!(got["choices"][0]["message"]["content"], Value::Null);
    assert_eq!(got["choices"][0]["finish_reason"], "length");
}

#[test]
fn streamed_text_beside_the_json_tool_is_not_sent_as_content() {
    let input = fixture("stream-json-tool-with-text.anthropic.sse");
    let got = client_events(&translate_stream(&input, true));
    assert_eq!(
        got,
        client_events(&fixture("stream-json-tool-with-text.openai.sse"))
    );
    let joined: String = got
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        json(joined.as_bytes()),
        serde_json::json!({ "city": "Paris" })
    );
    // Without the flag the text streams, and both tools are tool calls.
    let plain = client_events(&translate_stream(&input, false));
    let text: String = plain
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello Anything else?");
    let calls = plain
        .iter()
        .filter(|e| e["choices"][0]["delta"]["tool_calls"][0]["id"].is_string())
        .count();
    assert_eq!(calls, 2);
}
