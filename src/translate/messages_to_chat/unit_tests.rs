//! Messages translation behaviour beyond the fixtures: refusals, max_tokens field,
//! odd tool arguments, usage with cached tokens, stream edge cases.

use serde_json::{json, Value};

use super::*;

fn request(body: Value) -> Result<TranslatedRequest, RequestError> {
    translate_request(body.to_string().as_bytes(), "m", MaxTokensField::MaxTokens)
}

#[test]
fn requests_openai_cannot_carry_are_typed_errors() {
    let user = json!([{ "role": "user", "content": "hi" }]);
    let cases = [
        (json!({ "messages": user }), "`max_tokens`"),
        (json!({ "messages": user, "max_tokens": 0 }), "`max_tokens`"),
        (
            json!({ "max_tokens": 5, "messages": [{ "role": "system", "content": "x" }] }),
            "messages[0].role",
        ),
        (
            json!({ "max_tokens": 5, "messages": [{ "role": "user", "content": [{ "type": "document", "source": {} }] }] }),
            "messages[0].content[0].type",
        ),
        (
            json!({ "max_tokens": 5, "messages": [{ "role": "user", "content": [{ "type": "tool_result", "tool_use_id": "t", "content": [{ "type": "image", "source": {} }] }] }] }),
            "content[0].content[0].type",
        ),
        (
            json!({ "max_tokens": 5, "messages": user, "tools": [{ "type": "web_search_20250305", "name": "web_search" }] }),
            "tools[0].type",
        ),
        (
            json!({ "max_tokens": 5, "messages": user, "tools": [{ "name": "f", "input_schema": {} }], "tool_choice": { "type": "tool" } }),
            "`tool_choice`",
        ),
        (
            json!({ "max_tokens": 5, "messages": user, "stop_sequences": "x" }),
            "`stop_sequences`",
        ),
    ];
    for (req, needle) in cases {
        let err = request(req.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{req}: {err}");
    }
    assert!(matches!(
        translate_request(b"[", "m", MaxTokensField::MaxTokens),
        Err(RequestError::InvalidJson(_))
    ));
}

#[test]
fn max_tokens_goes_in_the_field_the_provider_wants() {
    let body = json!({ "max_tokens": 9, "messages": [{ "role": "user", "content": "hi" }] });
    let t = translate_request(
        body.to_string().as_bytes(),
        "o3",
        MaxTokensField::MaxCompletionTokens,
    )
    .unwrap();
    let out: Value = serde_json::from_slice(&t.body).unwrap();
    assert_eq!(out["max_completion_tokens"], 9);
    assert!(out.get("max_tokens").is_none());
}

fn completion(message: Value, finish: &str, usage: Value) -> Value {
    let body = json!({ "id": "c1", "model": "gpt", "choices": [{ "index": 0, "message": message, "finish_reason": finish }], "usage": usage });
    serde_json::from_slice(&translate_completion(body.to_string().as_bytes()).unwrap()).unwrap()
}

#[test]
fn cached_prompt_tokens_become_cache_reads_and_finish_reasons_map() {
    let usage = json!({ "prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": { "cached_tokens": 60 } });
    let out = completion(
        json!({ "role": "assistant", "content": "x" }),
        "length",
        usage,
    );
    assert_eq!(
        out["usage"],
        json!({ "input_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 60, "output_tokens": 5 })
    );
    assert_eq!(out["stop_reason"], "max_tokens");
    for (finish, stop) in [
        ("stop", "end_turn"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ] {
        let out = completion(json!({ "content": "x" }), finish, json!({}));
        assert_eq!(out["stop_reason"], stop, "{finish}");
    }
}

#[test]
fn tool_arguments_that_are_not_an_object_are_kept_whole() {
    let calls = json!([
        { "id": "a", "type": "function", "function": { "name": "f", "arguments": "" } },
        { "id": "b", "type": "function", "function": { "name": "g", "arguments": "{\"x\": [1" } }
    ]);
    let out = completion(
        json!({ "content": null, "tool_calls": calls }),
        "tool_calls",
        json!({}),
    );
    assert_eq!(out["content"][0]["input"], json!({}));
    assert_eq!(
        out["content"][1]["input"],
        json!({ "arguments": "{\"x\": [1" })
    );
}

#[test]
fn bad_upstream_bodies_are_typed_errors() {
    assert!(matches!(
        translate_completion(br#"{"id":"c","model":"m","choices":[]}"#),
        Err(ResponseError::NoChoices)
    ));
    assert!(matches!(
        translate_completion(b"<html>"),
        Err(ResponseError::Malformed { .. })
    ));
    assert!(matches!(
        translate_error(b"oops", 500),
        Err(ResponseError::Malformed {
            expected: "error",
            ..
        })
    ));
    assert_eq!(error_type(429), "rate_limit_error");
    assert_eq!(error_type(529), "overloaded_error");
    assert_eq!(error_type(500), "api_error");
}

fn events(out: &[u8]) -> Vec<(String, Value)> {
    std::str::from_utf8(out)
        .unwrap()
        .split_terminator("\n\n")
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_owned();
            (
                name,
                serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn text_after_a_tool_call_opens_a_new_block_and_options_override_ids() {
    let mut t = OpenAiToAnthropicStream::new(StreamOptions {
        id: Some("msg_x".into()),
        model: Some("openai/gpt".into()),
    });
    let mut out = Vec::new();
    let chunks = [
        r#"{"id":"c","model":"gpt","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","function":{"name":"f","arguments":"{}"}}]}}]}"#,
        r#"{"id":"c","model":"gpt","choices":[{"index":0,"delta":{"content":"done \"ok\""}}]}"#,
        r#"{"id":"c","model":"gpt","choices":[{"index":1,"delta":{"content":"other choice"}}]}"#,
    ];
    for chunk in chunks {
        t.push_event(None, chunk.as_bytes(), &mut out).unwrap();
    }
    t.end_of_stream(&mut out);
    let got = events(&out);
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(got[0].1["message"]["id"], "msg_x");
    assert_eq!(got[0].1["message"]["model"], "openai/gpt");
    assert_eq!(got[4].1["index"], 1);
    assert_eq!(got[5].1["delta"]["text"], "done \"ok\"");
    assert!(t.is_finished());
}

#[test]
fn a_malformed_chunk_is_an_error_and_changes_nothing() {
    let mut t = OpenAiToAnthropicStream::new(StreamOptions::default());
    let mut out = Vec::new();
    assert!(matches!(
        t.push_event(None, b"{oops", &mut out),
        Err(StreamError::MalformedChunk(_))
    ));
    assert!(out.is_empty());
    assert!(!t.is_finished());
    t.push_event(None, b"[DONE]", &mut out).unwrap();
    let got = events(&out);
    assert_eq!(got.len(), 3, "message_start, message_delta, message_stop");
    assert_eq!(got[1].1["delta"]["stop_reason"], "end_turn");
}
