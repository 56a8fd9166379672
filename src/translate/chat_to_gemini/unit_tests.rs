//! Gemini translation behaviour beyond the fixtures: refusals, tool-result lookups,
//! blocked prompts, finish reasons, stream options and malformed upstream data.

use serde_json::{json, Value};

use super::*;

fn request(body: Value) -> Result<TranslatedRequest, RequestError> {
    translate_request(body.to_string().as_bytes(), "gemini-x")
}

fn body(t: &TranslatedRequest) -> Value {
    serde_json::from_slice(&t.body).unwrap()
}

#[test]
fn requests_gemini_cannot_serve_are_typed_errors() {
    let user = json!([{ "role": "user", "content": "hi" }]);
    let cases = [
        (json!({ "messages": user, "n": 2 }), "`n` = 2"),
        (
            json!({ "messages": [{ "role": "function", "content": "x" }] }),
            "messages[0].role",
        ),
        (
            json!({ "messages": [{ "role": "user", "content": [{ "type": "input_audio" }] }] }),
            "messages[0].content[0].type",
        ),
        (
            json!({ "messages": [{ "role": "user", "content": [{ "type": "image_url", "image_url": { "url": "ftp://x/y.png" } }] }] }),
            "image_url.url",
        ),
        (
            json!({ "messages": [{ "role": "tool", "tool_call_id": "nope", "content": "r" }] }),
            "messages[0].tool_call_id",
        ),
        (
            json!({ "messages": user, "tools": [{ "type": "web_search" }] }),
            "tools[0].type",
        ),
        (json!({ "messages": user, "stop": 5 }), "`stop`"),
        (json!({ "messages": user, "max_tokens": 0 }), "`max_tokens`"),
        (json!({ "messages": "hi" }), "`messages`"),
    ];
    for (req, needle) in cases {
        let err = request(req.clone()).unwrap_err().to_string();
        assert!(err.contains(needle), "{req}: {err}");
    }
    assert!(matches!(
        translate_request(b"{oops", "m"),
        Err(RequestError::InvalidJson(_))
    ));
}

#[test]
fn models_path_prefix_is_not_doubled() {
    assert_eq!(
        upstream_path("models/gemini-2.5-pro", false),
        "/v1beta/models/gemini-2.5-pro:generateContent"
    );
}

#[test]
fn empty_assistant_turn_still_has_a_part_and_non_object_results_are_wrapped() {
    let t = request(json!({ "messages": [
        { "role": "user", "content": "hi" },
        { "role": "assistant", "content": "", "tool_calls": [] },
        { "role": "user", "content": "again" },
        { "role": "assistant", "content": null, "tool_calls": [{ "id": "c", "type": "function", "function": { "name": "f", "arguments": "{}" } }] },
        { "role": "tool", "tool_call_id": "c", "content": "[1, 2]" }
    ] }))
    .unwrap();
    let contents = &body(&t)["contents"];
    assert_eq!(
        contents[1],
        json!({ "role": "model", "parts": [{ "text": "" }] })
    );
    assert_eq!(
        contents[4]["parts"][0]["functionResponse"],
        json!({ "name": "f", "response": { "content": "[1, 2]" } })
    );
}

fn response(candidates: Value) -> Value {
    let b = json!({ "candidates": candidates, "responseId": "r1", "modelVersion": "g" });
    serde_json::from_slice(&translate_response(b.to_string().as_bytes(), 3).unwrap()).unwrap()
}

#[test]
fn finish_reasons_map_and_thoughts_are_dropped() {
    for (reason, want) in [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("OTHER", "stop"),
    ] {
        let out = response(
            json!([{ "content": { "parts": [{ "text": "hm", "thought": true }, { "text": "a" }] }, "finishReason": reason }]),
        );
        assert_eq!(out["choices"][0]["finish_reason"], want, "{reason}");
        assert_eq!(out["choices"][0]["message"]["content"], "a");
    }
    let blocked = response(json!([]));
    assert_eq!(blocked["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(blocked["choices"][0]["message"]["content"], Value::Null);
}

#[test]
fn gemini_call_ids_are_kept_when_sent() {
    let out = response(
        json!([{ "content": { "parts": [{ "functionCall": { "id": "g-1", "name": "f" } }] }, "finishReason": "STOP" }]),
    );
    let call = &out["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["id"], "g-1");
    assert_eq!(call["function"]["arguments"], "{}");
}

#[test]
fn malformed_bodies_are_typed_errors() {
    assert!(matches!(
        translate_response(b"<html>", 0),
        Err(ResponseError::Malformed {
            expected: "response",
            ..
        })
    ));
    assert!(matches!(
        translate_error(br#"{"candidates":[]}"#),
        Err(ResponseError::Malformed {
            expected: "error",
            ..
        })
    ));
}

fn chunks(out: &[u8]) -> Vec<Value> {
    std::str::from_utf8(out)
        .unwrap()
        .split_terminator("\n\n")
        .map(|e| match e.strip_prefix("data: ").unwrap() {
            "[DONE]" => Value::String("[DONE]".into()),
            data => serde_json::from_str(data).unwrap(),
        })
        .collect()
}

#[test]
fn stream_options_override_ids_and_usage_is_optional() {
    let mut t = GeminiToOpenAiStream::new(StreamOptions {
        id: Some("chatcmpl-1".into()),
        model: Some("google-ai-studio/g".into()),
        created: 9,
        include_usage: false,
        json_tool: false,
    });
    let mut out = Vec::new();
    let event = r#"{"candidates":[{"content":{"parts":[{"text":"hi \"x\""}]},"finishReason":"STOP"}],"responseId":"r","modelVersion":"g"}"#;
    t.push_event(None, event.as_bytes(), &mut out).unwrap();
    let got = chunks(&out);
    assert_eq!(got.len(), 4, "role, text, finish, done: no usage");
    assert_eq!(got[1]["id"], "chatcmpl-1");
    assert_eq!(got[1]["model"], "google-ai-studio/g");
    assert_eq!(got[1]["choices"][0]["delta"]["content"], "hi \"x\"");
    assert_eq!(got[3], "[DONE]");
    assert!(t.is_finished());
    out.clear();
    t.push_event(None, event.as_bytes(), &mut out).unwrap();
    assert!(out.is_empty(), "nothing after the end");
}

#[test]
fn malformed_event_is_an_error_and_a_clean_end_without_finish_still_ends() {
    let mut t = GeminiToOpenAiStream::new(StreamOptions {
        include_usage: true,
        ..StreamOptions::default()
    });
    let mut out = Vec::new();
    assert!(matches!(
        t.push_event(None, b"{nope", &mut out),
        Err(StreamError::MalformedEvent(_))
    ));
    assert!(out.is_empty());
    let event = r#"{"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":1}}"#;
    t.push_event(None, event.as_bytes(), &mut out).unwrap();
    out.clear();
    t.end_of_stream(&mut out);
    let got = chunks(&out);
    assert_eq!(got[0]["usage"]["total_tokens"], 3);
    assert_eq!(got[1], "[DONE]");
}

#[test]
fn a_blocked_prompt_ends_the_stream_with_content_filter() {
    let mut t = GeminiToOpenAiStream::new(StreamOptions::default());
    let mut out = Vec::new();
    let event = r#"{"promptFeedback":{"blockReason":"SAFETY"},"responseId":"r"}"#;
    t.push_event(None, event.as_bytes(), &mut out).unwrap();
    let got = chunks(&out);
    assert_eq!(got[1]["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(got[2], "[DONE]");
}

#[test]
fn consecutive_turns_of_one_role_are_joined() {
    let t = request(json!({ "messages": [
        { "role": "user", "content": "a" },
        { "role": "user", "content": [{ "type": "text", "text": "b" }] },
        { "role": "assistant", "content": "c" },
        { "role": "assistant", "content": "d" }
    ] }))
    .unwrap();
    assert_eq!(
        body(&t)["contents"],
        json!([
            { "role": "user", "parts": [{ "text": "a" }, { "text": "b" }] },
            { "role": "model", "parts": [{ "text": "c" }, { "text": "d" }] }
        ])
    );
}

/// `response_format` asks Gemini for `application/json`: its answer is the text of
/// the non-thought parts, which may be split; thought summaries (`thought: true`,
/// with their signatures) must not be glued onto it, or the client's parse fails.
#[test]
fn a_json_answer_beside_thoughts_is_only_the_json_whole_and_streamed() {
    let parts = json!([
        { "text": "The user wants a city.", "thought": true },
        { "text": "{\"city\": ", "thoughtSignature": "c2ln" },
        { "text": "\"Paris\"}" }
    ]);
    let out = response(json!([{ "content": { "parts": parts }, "finishReason": "STOP" }]));
    let content = out["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(content).unwrap(),
        json!({ "city": "Paris" })
    );
    let mut t = GeminiToOpenAiStream::new(StreamOptions::default());
    let mut out = Vec::new();
    for event in [
        json!({ "candidates": [{ "content": { "parts": [{ "text": "Thinking", "thought": true }] } }] }),
        json!({ "candidates": [{ "content": { "parts": [{ "text": "{\"city\": " }] } }] }),
        json!({ "candidates": [{ "content": { "parts": [{ "text": "\"Paris\"}" }] }, "finishReason": "STOP" }] }),
    ] {
        t.push_event(None, event.to_string().as_bytes(), &mut out)
            .unwrap();
    }
    let joined: String = chunks(&out)
        .iter()
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&joined).unwrap(),
        json!({ "city": "Paris" })
    );
}
