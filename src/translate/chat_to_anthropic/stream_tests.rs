//! Stream translator behaviour beyond the recorded fixtures: one upstream event
//! gives its chunks at once, options, usage with cache tokens, bad input.

use serde_json::{json, Value};

use super::{AnthropicToOpenAiStream, StreamError, StreamOptions};

const START: &str = r#"{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":12,"cache_creation_input_tokens":3,"cache_read_input_tokens":40,"output_tokens":1}}}"#;

fn translator(include_usage: bool) -> AnthropicToOpenAiStream {
    AnthropicToOpenAiStream::new(StreamOptions {
        id: None,
        model: None,
        created: 7,
        include_usage,
        json_tool: false,
    })
}

/// Pushes one event and returns the chunks it produced, parsed.
fn push(t: &mut AnthropicToOpenAiStream, event: Option<&str>, data: &str) -> Vec<Value> {
    let mut out = Vec::new();
    t.push_event(event, data.as_bytes(), &mut out).unwrap();
    let text = std::str::from_utf8(&out).unwrap();
    text.split_terminator("\n\n")
        .map(|e| {
            let data = e
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("bad framing: {e:?}"));
            if data == "[DONE]" {
                Value::String("[DONE]".into())
            } else {
                serde_json::from_str(data).unwrap()
            }
        })
        .collect()
}

fn text_delta(text: &str) -> String {
    json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": text } }).to_string()
}

#[test]
fn every_text_delta_is_sent_at_once_with_its_text_escaped() {
    let mut t = translator(false);
    assert_eq!(push(&mut t, Some("message_start"), START).len(), 1);
    let tricky = "quote \" backslash \\ newline \n tab \t bell \u{7} é 🦤";
    for text in ["a", tricky, ""] {
        let chunks = push(&mut t, Some("content_block_delta"), &text_delta(text));
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0]["choices"][0]["delta"]["content"], text);
        assert_eq!(chunks[0]["object"], "chat.completion.chunk");
        assert_eq!(chunks[0]["created"], 7);
    }
}

#[test]
fn usage_counts_cache_tokens_as_prompt_and_reads_as_cached() {
    let mut t = translator(true);
    push(&mut t, Some("message_start"), START);
    let delta = r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}"#;
    let finish = push(&mut t, Some("message_delta"), delta);
    assert_eq!(finish[0]["choices"][0]["finish_reason"], "length");
    let end = push(&mut t, Some("message_stop"), r#"{"type":"message_stop"}"#);
    assert_eq!(end.len(), 2);
    assert_eq!(end[0]["choices"], json!([]));
    assert_eq!(
        end[0]["usage"],
        json!({ "prompt_tokens": 55, "completion_tokens": 9, "total_tokens": 64, "prompt_tokens_details": { "cached_tokens": 40 } })
    );
    assert_eq!(end[1], "[DONE]");
    assert!(t.is_finished());
}

#[test]
fn without_include_usage_the_stream_ends_with_done_only() {
    let mut t = translator(false);
    push(&mut t, Some("message_start"), START);
    let end = push(&mut t, Some("message_stop"), r#"{"type":"message_stop"}"#);
    assert_eq!(end, vec![Value::String("[DONE]".into())]);
}

#[test]
fn caller_id_and_model_override_the_upstream_ones() {
    let mut t = AnthropicToOpenAiStream::new(StreamOptions {
        id: Some("chatcmpl-abc".into()),
        model: Some("anthropic/claude-x".into()),
        created: 1,
        include_usage: false,
        json_tool: false,
    });
    let first = push(&mut t, Some("message_start"), START);
    assert_eq!(first[0]["id"], "chatcmpl-abc");
    assert_eq!(first[0]["model"], "anthropic/claude-x");
    assert_eq!(
        first[0]["choices"][0]["delta"],
        json!({ "role": "assistant", "content": "" })
    );
}

#[test]
fn pings_unknown_events_and_thinking_produce_nothing() {
    let mut t = translator(false);
    push(&mut t, Some("message_start"), START);
    assert!(push(&mut t, Some("ping"), r#"{"type": "ping"}"#).is_empty());
    assert!(push(
        &mut t,
        Some("future_event"),
        r#"{"type":"future_event","x":[1]}"#
    )
    .is_empty());
    let thinking = r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#;
    assert!(push(&mut t, Some("content_block_start"), thinking).is_empty());
    let delta = r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#;
    assert!(push(&mut t, Some("content_block_delta"), delta).is_empty());
    assert!(push(
        &mut t,
        Some("content_block_stop"),
        r#"{"type":"content_block_stop","index":0}"#
    )
    .is_empty());
}

#[test]
fn unnamed_events_are_dispatched_by_their_type() {
    let mut t = translator(false);
    assert_eq!(push(&mut t, None, START)[0]["id"], "msg_1");
    assert_eq!(
        push(&mut t, None, &text_delta("x"))[0]["choices"][0]["delta"]["content"],
        "x"
    );
}

#[test]
fn a_malformed_event_is_an_error_and_changes_nothing() {
    let mut t = translator(false);
    push(&mut t, Some("message_start"), START);
    for bad in [
        "{not json",
        r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#,
        "[DONE]",
    ] {
        let mut out = Vec::new();
        let err = t
            .push_event(Some("content_block_delta"), bad.as_bytes(), &mut out)
            .unwrap_err();
        assert!(
            matches!(&err, StreamError::MalformedEvent { event, .. } if event == "content_block_delta")
        );
        assert!(out.is_empty());
    }
    assert_eq!(
        push(&mut t, Some("content_block_delta"), &text_delta("ok"))[0]["choices"][0]["delta"]
            ["content"],
        "ok"
    );
}

#[test]
fn an_error_event_ends_the_stream_without_done() {
    let mut t = translator(true);
    push(&mut t, Some("message_start"), START);
    let error = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let out = push(&mut t, Some("error"), error);
    assert_eq!(
        out,
        vec![
            json!({ "error": { "message": "Overloaded", "type": "overloaded_error", "param": null, "code": null } })
        ]
    );
    assert!(t.is_finished());
    assert!(push(&mut t, Some("message_stop"), r#"{"type":"message_stop"}"#).is_empty());
}

#[test]
fn tool_indexes_count_tool_blocks_only() {
    let mut t = translator(false);
    push(&mut t, Some("message_start"), START);
    push(
        &mut t,
        Some("content_block_start"),
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    );
    let start = r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"#;
    let call = push(&mut t, Some("content_block_start"), start);
    assert_eq!(
        call[0]["choices"][0]["delta"]["tool_calls"],
        json!([{ "index": 0, "id": "toolu_1", "type": "function", "function": { "name": "f", "arguments": "" } }])
    );
    let args = r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}"#;
    let delta = push(&mut t, Some("content_block_delta"), args);
    assert_eq!(
        delta[0]["choices"][0]["delta"]["tool_calls"],
        json!([{ "index": 0, "function": { "arguments": "{\"a\":1}" } }])
    );
    // Arguments were sent, so the block's end adds no `{}`.
    assert!(push(
        &mut t,
        Some("content_block_stop"),
        r#"{"type":"content_block_stop","index":1}"#
    )
    .is_empty());
}

#[test]
fn events_before_message_start_still_make_valid_chunks() {
    let mut t = translator(false);
    let chunks = push(&mut t, Some("content_block_delta"), &text_delta("early"));
    assert_eq!(chunks[0]["id"], "");
    assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "early");
}
