//! The Anthropic Messages endpoints (`/v1/messages`, `.../compat/messages`): routed by
//! model, passed through to Anthropic, translated for any other provider, errors in
//! Anthropic's shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::Value;
use std::io::Write;

const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(w: &mut dyn Write, data: &[u8]) {
    write!(w, "{:x}\r\n", data.len()).unwrap();
    w.write_all(data).unwrap();
    w.write_all(b"\r\n").unwrap();
    w.flush().unwrap();
}

fn config(up: &Upstream) -> String {
    format!(
        "[provider.anthropic]\nbase_url = \"http://{a}\"\n\
         [provider.google-ai-studio]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"g-stored\" }}\n\
         [provider.mock]\nbase_url = \"http://{a}/v1\"\nkeys = {{ default = \"sk-stored\" }}\n\
         [provider.keyless]\nbase_url = \"http://{a}/v1\"\n",
        a = up.addr
    )
}

fn sse_upstream(body: &'static [u8]) -> Upstream {
    Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        for lines in body
            .split_inclusive(|&b| b == b'\n')
            .collect::<Vec<_>>()
            .chunks(3)
        {
            chunk(w, &lines.concat());
        }
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    })
}

/// Each SSE event as (`event:` name, parsed `data`).
fn events(body: &[u8]) -> Vec<(Option<String>, Value)> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut name = None;
            let mut data = String::new();
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = Some(n.trim().to_string());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            (
                name,
                serde_json::from_str(&data).unwrap_or(Value::String(data)),
            )
        })
        .collect()
}

fn message(model: &str, extra: &str) -> String {
    format!(
        r#"{{"model":"{model}","max_tokens":100,"messages":[{{"role":"user","content":"Hi"}}]{extra}}}"#
    )
}

const ANTHROPIC_HEADERS: &str = "x-api-key: sk-client\r\nanthropic-version: 2023-06-01\r\n";

#[test]
fn openai_provider_behind_messages_non_streaming() {
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!("fixtures/openai/chat-completion-text.json"),
    );
    let gw = Gateway::start(&config(&up));
    for path in ["/v1/messages", "/v1/acct/default/compat/messages"] {
        let resp = gw.send(&post(
            path,
            ANTHROPIC_HEADERS,
            &message("mock/gpt-4o-mini", ""),
        ));
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        let expected: Value = serde_json::from_slice(include_bytes!(
            "fixtures/translate/messages/chat-completion-text.anthropic.json"
        ))
        .unwrap();
        assert_eq!(resp.json(), expected);
        let seen = up.next_request();
        assert_eq!(seen.target, "/v1/chat/completions");
        // The provider has a stored key: it wins over the client's (stored-first).
        assert_eq!(seen.header("authorization"), Some("Bearer sk-stored"));
        assert_eq!(seen.header("x-api-key"), None);
        assert_eq!(seen.header("anthropic-version"), None);
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(body["model"], "gpt-4o-mini");
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["messages"][0]["content"], "Hi");
    }
}

#[test]
fn openai_provider_behind_messages_streaming() {
    let up = sse_upstream(include_bytes!(
        "fixtures/openai/chat-stream-include-usage-tool-call.sse"
    ));
    let gw = Gateway::start(&config(&up));
    let resp = gw.send(&post(
        "/v1/messages",
        "authorization: Bearer sk-client\r\n",
        &message("mock/gpt-4o-mini", r#","stream":true"#),
    ));
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let expected = include_bytes!(
        "fixtures/translate/messages/chat-stream-include-usage-tool-call.anthropic.sse"
    );
    assert_eq!(events(&resp.body), events(expected));
    let seen = up.next_request();
    // The provider has a stored key: it wins over the client's (stored-first).
    assert_eq!(seen.header("authorization"), Some("Bearer sk-stored"));
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[test]
fn anthropic_provider_passes_through_byte_for_byte() {
    let fixture: &'static [u8] = include_bytes!("fixtures/anthropic/stream-tool-use.sse");
    let up = sse_upstream(fixture);
    let gw = Gateway::start(&config(&up));
    let sent = message("anthropic/claude-3-5-sonnet", r#","stream":true"#);
    let resp = gw.send(&post(
        "/v1/acct/default/compat/v1/messages",
        ANTHROPIC_HEADERS,
        &sent,
    ));
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    assert_eq!(resp.body, fixture);
    let seen = up.next_request();
    assert_eq!(seen.target, "/v1/messages");
    assert_eq!(seen.header("x-api-key"), Some("sk-client"));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    // Only the model is rewritten; every other byte is the client's.
    assert_eq!(
        seen.body,
        sent.replace("anthropic/claude-3-5-sonnet", "claude-3-5-sonnet")
            .as_bytes()
    );
}

#[test]
fn gateway_errors_are_anthropic_shaped() {
    let up = Upstream::fixed(200, "application/json", b"{}");
    let gw = Gateway::start(&config(&up));
    let cases = [
        (
            message("nope/x", ""),
            "",
            400,
            2008,
            "invalid_request_error",
        ),
        (
            message("keyless/m", ""),
            "",
            401,
            2005,
            "authentication_error",
        ),
        (
            "{".to_string(),
            ANTHROPIC_HEADERS,
            400,
            2003,
            "invalid_request_error",
        ),
        (
            r#"{"model":"mock/gpt","messages":[]}"#.to_string(),
            ANTHROPIC_HEADERS,
            400,
            2003,
            "invalid_request_error",
        ),
    ];
    for (body, headers, status, code, kind) in cases {
        let resp = gw.send(&post("/v1/messages", headers, &body));
        assert_eq!(resp.status, status, "{body}");
        let v = resp.json();
        assert_eq!(v["type"], "error", "{body}");
        assert_eq!(v["error"]["type"], kind, "{body}");
        assert_eq!(v["error"]["code"], code, "{body}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    assert!(up.saw_nothing());
    // The next request on the same endpoint family of another kind is OpenAI-shaped again.
    let resp = gw.send(&post("/v1/chat/completions", "", r#"{"model":"nope/x"}"#));
    assert_eq!(resp.code(), 2008);
}

#[test]
fn openai_upstream_errors_come_back_anthropic_shaped() {
    let up = Upstream::fixed(
        404,
        "application/json",
        include_bytes!("fixtures/openai/error-404-model-not-found.json"),
    );
    let gw = Gateway::start(&config(&up));
    let resp = gw.send(&post(
        "/v1/messages",
        ANTHROPIC_HEADERS,
        &message("mock/x", ""),
    ));
    assert_eq!(resp.status, 404);
    let expected: Value = serde_json::from_slice(include_bytes!(
        "fixtures/translate/messages/error-404-model-not-found.anthropic.json"
    ))
    .unwrap();
    assert_eq!(resp.json(), expected);
}

#[test]
fn gemini_provider_behind_messages() {
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!("fixtures/gemini/generate-content-text.json"),
    );
    let gw = Gateway::start(&config(&up));
    let resp = gw.send(&post(
        "/v1/messages",
        "",
        &message("google-ai-studio/gemini-2.5-flash", ""),
    ));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let v = resp.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["content"][0]["type"], "text");
    assert!(v["content"][0]["text"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["usage"]["output_tokens"].as_u64().is_some_and(|n| n > 0));
    let seen = up.next_request();
    assert_eq!(
        seen.target,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(seen.header("x-goog-api-key"), Some("g-stored"));

    let up = sse_upstream(include_bytes!("fixtures/gemini/stream-sse-text-usage.sse"));
    let gw = Gateway::start(&config(&up));
    let resp = gw.send(&post(
        "/v1/messages",
        "",
        &message("google-ai-studio/gemini-2.5-flash", r#","stream":true"#),
    ));
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    let names: Vec<String> = events(&resp.body)
        .into_iter()
        .filter_map(|(name, _)| name)
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("message_start"));
    assert_eq!(names.last().map(String::as_str), Some("message_stop"));
    assert!(names.iter().any(|n| n == "content_block_delta"));
    assert!(names.iter().any(|n| n == "message_delta"));
}
