//! The real `sluice-mock` binary answering in each provider's wire format: Anthropic
//! Messages and Gemini (JSON, SSE, errors) next to OpenAI, all from one mock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::exchange::{exchange, sse_events};
use common::Mock;

const ANTHROPIC_BODY: &str =
    r#"{"model":"claude-mock","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn anthropic_messages_json_echoes_the_model_with_usage() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let response = exchange(
        &mut conn,
        "/v1/messages",
        &["x-mock-chunks: 3", "anthropic-version: 2023-06-01"],
        ANTHROPIC_BODY,
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "application/json");
    let json = response.json();
    assert_eq!(json["type"], "message");
    assert_eq!(json["role"], "assistant");
    assert_eq!(json["model"], "claude-mock");
    assert_eq!(
        json["content"],
        serde_json::json!([{ "type": "text", "text": "tok0 tok1 tok2 " }])
    );
    assert_eq!(json["stop_reason"], "end_turn");
    let prompt = ANTHROPIC_BODY.len().div_ceil(4);
    assert_eq!(
        json["usage"],
        serde_json::json!({ "input_tokens": prompt, "output_tokens": 3 })
    );
    assert!(json["id"].as_str().unwrap().starts_with("msg_"));
}

#[test]
fn anthropic_messages_stream_is_the_full_event_sequence_one_event_per_write() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let body = ANTHROPIC_BODY.replace("\"max_tokens\"", "\"stream\":true,\"max_tokens\"");
    let response = exchange(&mut conn, "/v1/messages", &["x-mock-chunks: 2"], &body);
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "text/event-stream");
    let events = sse_events(&response.body(), "\n\n");
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(response.chunks.len(), names.len(), "one event per write");
    for (name, data) in &events {
        assert_eq!(data["type"], name.as_deref().unwrap());
    }
    let start = &events[0].1["message"];
    assert_eq!(start["model"], "claude-mock");
    assert_eq!(start["usage"]["input_tokens"], body.len().div_ceil(4));
    assert_eq!(
        events[3].1["delta"],
        serde_json::json!({ "type": "text_delta", "text": "tok0 " })
    );
    assert_eq!(events[6].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(events[6].1["usage"]["output_tokens"], 2);
}

#[test]
fn anthropic_errors_have_anthropic_shape() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let response = exchange(
        &mut conn,
        "/v1/messages",
        &["x-mock-status: 429"],
        ANTHROPIC_BODY,
    );
    assert_eq!(response.status, 429);
    let json = response.json();
    assert_eq!(json["type"], "error");
    assert_eq!(json["error"]["type"], "rate_limit_error");
    assert!(json["error"]["message"].is_string());
    let missing_model = exchange(
        &mut conn,
        "/v1/messages",
        &[],
        r#"{"max_tokens":1,"messages":[]}"#,
    );
    assert_eq!(missing_model.status, 400);
    assert_eq!(
        missing_model.json()["error"]["type"],
        "invalid_request_error"
    );
}

const GEMINI_BODY: &str = r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;

#[test]
fn gemini_generate_content_json_names_the_model_from_the_path() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let path = "/v1beta/models/gemini-mock:generateContent";
    let response = exchange(
        &mut conn,
        path,
        &["x-mock-chunks: 2", "x-goog-api-key: k"],
        GEMINI_BODY,
    );
    assert_eq!(response.status, 200);
    let json = response.json();
    let candidate = &json["candidates"][0];
    assert_eq!(candidate["content"]["parts"][0]["text"], "tok0 tok1 ");
    assert_eq!(candidate["content"]["role"], "model");
    assert_eq!(candidate["finishReason"], "STOP");
    assert_eq!(json["modelVersion"], "gemini-mock");
    let prompt = GEMINI_BODY.len().div_ceil(4);
    assert_eq!(
        json["usageMetadata"],
        serde_json::json!({ "promptTokenCount": prompt, "candidatesTokenCount": 2, "totalTokenCount": prompt + 2 })
    );
}

#[test]
fn gemini_stream_is_crlf_separated_with_running_usage_and_a_final_finish_reason() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let path = "/v1beta/models/gemini-mock:streamGenerateContent?alt=sse";
    let response = exchange(&mut conn, path, &["x-mock-chunks: 3"], GEMINI_BODY);
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "text/event-stream");
    let body = response.body();
    assert!(
        !String::from_utf8_lossy(&body)
            .replace("\r\n\r\n", "")
            .contains('\n'),
        "CRLF only"
    );
    let events = sse_events(&body, "\r\n\r\n");
    assert_eq!(events.len(), 3);
    assert_eq!(response.chunks.len(), 3, "one event per write");
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(*name, None, "Gemini names no events");
        let candidate = &data["candidates"][0];
        assert_eq!(candidate["content"]["parts"][0]["text"], format!("tok{i} "));
        assert_eq!(data["usageMetadata"]["candidatesTokenCount"], i + 1);
        assert_eq!(candidate.get("finishReason").is_some(), i == 2, "event {i}");
        assert_eq!(data["modelVersion"], "gemini-mock");
    }

    // No content at all still ends with a finish reason.
    let empty = exchange(&mut conn, path, &["x-mock-chunks: 0"], GEMINI_BODY);
    let events = sse_events(&empty.body(), "\r\n\r\n");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1["candidates"][0]["finishReason"], "STOP");
}

#[test]
fn gemini_errors_have_google_shape_and_unknown_methods_are_404() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let path = "/v1beta/models/gemini-mock:generateContent";
    let response = exchange(&mut conn, path, &["x-mock-status: 404"], GEMINI_BODY);
    assert_eq!(response.status, 404);
    assert_eq!(
        response.json()["error"],
        serde_json::json!({ "code": 404, "message": "mock error status 404", "status": "NOT_FOUND" })
    );
    let bad_json = exchange(&mut conn, path, &[], "{not json");
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.json()["error"]["status"], "INVALID_ARGUMENT");
    let unknown = exchange(
        &mut conn,
        "/v1beta/models/gemini-mock:countTokens",
        &[],
        GEMINI_BODY,
    );
    assert_eq!(unknown.status, 404);
}

#[test]
fn one_connection_serves_all_three_formats_in_turn() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let openai =
        r#"{"model":"gpt-mock","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    for _ in 0..2 {
        let response = exchange(
            &mut conn,
            "/v1/chat/completions",
            &["x-mock-chunks: 1"],
            openai,
        );
        let events = sse_events(&response.body(), "\n\n");
        assert_eq!(
            events.len(),
            3,
            "role, token, finish (then [DONE], not JSON)"
        );
        assert_eq!(events[0].1["object"], "chat.completion.chunk");
        let response = exchange(&mut conn, "/v1/messages", &[], ANTHROPIC_BODY);
        assert_eq!(response.json()["type"], "message");
        let path = "/v1beta/models/g:generateContent";
        let response = exchange(&mut conn, path, &[], GEMINI_BODY);
        assert_eq!(response.json()["modelVersion"], "g");
    }
}
