//! Translation through the gateway: OpenAI clients on `/compat` and `/v1` reaching
//! Anthropic and Gemini upstreams, and Anthropic Messages clients reaching any provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use sluice::proxy::ControlState;
use std::io::Write;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// The `created` the golden OpenAI files carry.
const CREATED: u64 = 1_700_000_000;
const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(w: &mut dyn Write, data: &[u8]) {
    write!(w, "{:x}\r\n", data.len()).unwrap();
    w.write_all(data).unwrap();
    w.write_all(b"\r\n").unwrap();
    w.flush().unwrap();
}

/// Config with `anthropic`, `google-ai-studio` and `mock` (OpenAI) all at `up`.
fn config(up: &Upstream) -> String {
    format!(
        "[provider.anthropic]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"sk-ant-stored\" }}\n\
         [provider.google-ai-studio]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"g-stored\" }}\n\
         [provider.mock]\nbase_url = \"http://{a}/v1\"\nkeys = {{ default = \"sk-stored\" }}\n",
        a = up.addr
    )
}

/// A gateway whose clock stamps `created` = [`CREATED`], as in the golden files.
fn gateway(up: &Upstream) -> Gateway {
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(CREATED));
    Gateway::start_with(&config(up), move |s| Some(ControlState::new(s, clock)))
}

/// Answers with `body` as one SSE response, its events split into chunks of two lines.
fn sse_upstream(body: &'static [u8]) -> Upstream {
    Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        for lines in body
            .split_inclusive(|&b| b == b'\n')
            .collect::<Vec<_>>()
            .chunks(2)
        {
            chunk(w, &lines.concat());
        }
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    })
}

/// The `data` of each SSE event (`[DONE]` as a string), with its `event:` name if any.
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
            let value = serde_json::from_str(&data).unwrap_or(Value::String(data));
            (name, value)
        })
        .collect()
}

fn chat(model: &str, extra: &str) -> String {
    format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"Hi"}}]{extra}}}"#)
}

#[test]
fn openai_client_reaches_anthropic_non_streaming() {
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!("fixtures/translate/anthropic/message-text.json"),
    );
    let gw = gateway(&up);
    for path in [
        "/v1/acct/default/compat/chat/completions",
        "/v1/chat/completions",
    ] {
        let resp = gw.send(&post(
            path,
            "authorization: Bearer sk-ant-client\r\naccept-encoding: gzip\r\n",
            &chat(
                "anthropic/claude-3-opus",
                r#","temperature":0.5,"stop":"END""#,
            ),
        ));
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        let expected: Value = serde_json::from_slice(include_bytes!(
            "fixtures/translate/message-text.openai.json"
        ))
        .unwrap();
        assert_eq!(resp.json(), expected);
        assert_eq!(resp.header("cf-aig-model"), Some("claude-3-opus"));
        assert_eq!(resp.header("cf-aig-provider"), Some("anthropic"));
        let seen = up.next_request();
        assert_eq!(seen.target, "/v1/messages");
        // The stored key wins over the client's (stored-first).
        assert_eq!(seen.header("x-api-key"), Some("sk-ant-stored"));
        assert_eq!(seen.header("authorization"), None);
        assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(seen.header("accept-encoding"), Some("identity"));
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(body["model"], "claude-3-opus");
        assert_eq!(body["max_tokens"], 4096, "the documented default");
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert_eq!(body["messages"], json!([{"role":"user","content":"Hi"}]));
    }
}

#[test]
fn openai_response_format_reaches_anthropic_as_a_forced_tool_and_returns_as_content() {
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!("fixtures/translate/response-format/message-json-tool.anthropic.json"),
    );
    let gw = gateway(&up);
    let format = r#","response_format":{"type":"json_schema","json_schema":{"name":"calendar_event","schema":{"type":"object","properties":{"name":{"type":"string"}}}}}"#;
    let resp = gw.send(&post(
        "/v1/acct/default/compat/chat/completions",
        "authorization: Bearer sk-ant-client\r\n",
        &chat("anthropic/claude-sonnet-4-5", format),
    ));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let expected: Value = serde_json::from_slice(include_bytes!(
        "fixtures/translate/response-format/message-json-tool.openai.json"
    ))
    .unwrap();
    let got = resp.json();
    assert_eq!(got, expected);
    assert!(got["choices"][0]["message"].get("tool_calls").is_none());
    let seen: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    assert_eq!(
        seen["tools"],
        json!([{
            "name": "calendar_event",
            "description": "Respond with JSON matching this schema.",
            "input_schema": {"type":"object","properties":{"name":{"type":"string"}}},
        }])
    );
    assert_eq!(
        seen["tool_choice"],
        json!({"type": "tool", "name": "calendar_event"})
    );
    assert!(seen.get("response_format").is_none());
}

/// Anthropic may write text beside the forced tool ("Hello" before its `tool_use`):
/// the client still gets only the tool's input as content, so its JSON parse succeeds.
#[test]
fn text_beside_the_forced_json_tool_never_reaches_the_client_content() {
    let format = r#","response_format":{"type":"json_object"}"#;
    let parsed = |content: &str| serde_json::from_str::<Value>(content).ok();
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!(
            "fixtures/translate/response-format/message-json-tool-with-text.anthropic.json"
        ),
    );
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("anthropic/claude-sonnet-4-5", format),
    ));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let message = &resp.json()["choices"][0]["message"];
    let content = message["content"].as_str().unwrap_or_default();
    assert_eq!(parsed(content), Some(json!({"city": "Paris"})), "{content}");
    assert!(message.get("tool_calls").is_none());

    let up = sse_upstream(include_bytes!(
        "fixtures/translate/response-format/stream-json-tool-with-text.anthropic.sse"
    ));
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat(
            "anthropic/claude-sonnet-4-5",
            &format!(r#"{format},"stream":true"#),
        ),
    ));
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    let chunks = events(&resp.body);
    let content: String = chunks
        .iter()
        .filter_map(|(_, e)| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        parsed(&content),
        Some(json!({"city": "Paris"})),
        "{content}"
    );
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|(_, e)| &e["choices"][0]["finish_reason"])
        .filter(|f| f.is_string())
        .collect();
    assert_eq!(finish, [&json!("stop")]);
    assert!(chunks
        .iter()
        .all(|(_, e)| e["choices"][0]["delta"].get("tool_calls").is_none()));
}

#[test]
fn anthropic_errors_come_back_openai_shaped_with_their_status() {
    let up = Upstream::fixed(
        529,
        "application/json",
        include_bytes!("fixtures/translate/error-overloaded.anthropic.json"),
    );
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("anthropic/claude-x", ""),
    ));
    assert_eq!(resp.status, 529);
    let expected: Value = serde_json::from_slice(include_bytes!(
        "fixtures/translate/error-overloaded.openai.json"
    ))
    .unwrap();
    assert_eq!(resp.json(), expected);
    assert_eq!(up.next_request().header("x-api-key"), Some("sk-ant-stored"));
}

#[test]
fn anthropic_stream_translates_to_the_golden_chunks() {
    let cases: [(&[u8], &[u8]); 3] = [
        (
            include_bytes!("fixtures/anthropic/stream-text.sse"),
            include_bytes!("fixtures/translate/stream-text.openai.sse"),
        ),
        (
            include_bytes!("fixtures/anthropic/stream-tool-use.sse"),
            include_bytes!("fixtures/translate/stream-tool-use.openai.sse"),
        ),
        (
            include_bytes!("fixtures/translate/stream-error.anthropic.sse"),
            include_bytes!("fixtures/translate/stream-error.openai.sse"),
        ),
    ];
    for (upstream_body, expected) in cases {
        let up = sse_upstream(upstream_body);
        let gw = gateway(&up);
        let resp = gw.send(&post(
            "/v1/chat/completions",
            "",
            &chat(
                "anthropic/claude-3-5-sonnet",
                r#","stream":true,"stream_options":{"include_usage":true}"#,
            ),
        ));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-type"), Some("text/event-stream"));
        assert!(resp.complete, "the stream ends with its last chunk");
        assert_eq!(events(&resp.body), events(expected));
        let body: Value = serde_json::from_slice(&up.next_request().body).unwrap();
        assert_eq!(body["stream"], true);
    }
}

#[test]
fn translated_events_arrive_one_by_one() {
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let ack_rx = Mutex::new(ack_rx);
    let up = Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        chunk(w, b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n");
        chunk(w, b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
        for i in 0..3 {
            // Sent only once the client saw the previous text: buffering would deadlock.
            ack_rx.lock().unwrap().recv_timeout(WAIT).unwrap();
            let delta = format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"t{i}\"}}}}\n\n");
            chunk(w, delta.as_bytes());
        }
        ack_rx.lock().unwrap().recv_timeout(WAIT).unwrap();
        chunk(w, b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4}}\n\n");
        chunk(
            w,
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let gw = gateway(&up);
    let mut c = gw.connect();
    c.write(&post(
        "/v1/chat/completions",
        "",
        &chat("anthropic/claude-x", r#","stream":true"#),
    ));
    assert_eq!(c.response_head().status, 200);
    let role = events(&c.chunk().unwrap());
    assert_eq!(role[0].1["choices"][0]["delta"]["role"], "assistant");
    ack_tx.send(()).unwrap();
    for i in 0..3 {
        let got = events(&c.chunk().unwrap());
        assert_eq!(got[0].1["choices"][0]["delta"]["content"], format!("t{i}"));
        ack_tx.send(()).unwrap();
    }
    let mut rest = Vec::new();
    while let Some(piece) = c.chunk() {
        if piece.is_empty() {
            break;
        }
        rest.extend_from_slice(&piece);
    }
    let rest = events(&rest);
    assert_eq!(rest[0].1["choices"][0]["finish_reason"], "stop");
    assert_eq!(rest.last().unwrap().1, "[DONE]");
}

#[test]
fn a_whole_body_read_in_pieces_translates_and_one_cut_short_is_a_502() {
    let message = include_bytes!("fixtures/translate/error-overloaded.anthropic.json");
    let up = Upstream::start(move |req, w| {
        let cut = String::from_utf8_lossy(&req.body).contains("cut-short");
        w.write_all(b"HTTP/1.1 529 x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
            .unwrap();
        let (a, b) = message.split_at(message.len() / 2);
        chunk(w, a);
        if cut {
            return After::Close;
        }
        chunk(w, b);
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("anthropic/claude-x", ""),
    ));
    assert_eq!(resp.status, 529);
    let expected: Value = serde_json::from_slice(include_bytes!(
        "fixtures/translate/error-overloaded.openai.json"
    ))
    .unwrap();
    assert_eq!(resp.json(), expected);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        r#"{"model":"anthropic/claude-x","messages":[{"role":"user","content":"cut-short"}]}"#,
    ));
    assert_eq!(resp.status, 502);
    assert_eq!(resp.code(), 2010);
    assert!(resp.text().contains("mid-body"), "{}", resp.text());
}

#[test]
fn upstream_cut_mid_stream_cuts_the_client_stream() {
    let up = Upstream::start(|_, w| {
        w.write_all(SSE_HEAD).unwrap();
        chunk(w, b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{}}}\n\n");
        After::Close
    });
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("anthropic/m", r#","stream":true"#),
    ));
    assert_eq!(resp.status, 200);
    assert!(!resp.complete, "no last chunk after an upstream cut");
    assert_eq!(events(&resp.body).len(), 1, "the role chunk got through");
}

#[test]
fn openai_client_reaches_gemini_non_streaming_and_streaming() {
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!("fixtures/gemini/generate-content-text.json"),
    );
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "authorization: Bearer g-client\r\n",
        &chat("google-ai-studio/gemini-2.5-flash", ""),
    ));
    assert_eq!(resp.status, 200);
    let expected: Value = serde_json::from_slice(include_bytes!(
        "fixtures/translate/google/generate-content-text.openai.json"
    ))
    .unwrap();
    assert_eq!(resp.json(), expected);
    let seen = up.next_request();
    assert_eq!(
        seen.target,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(seen.header("x-goog-api-key"), Some("g-stored"));
    assert_eq!(seen.header("authorization"), None);

    let up = sse_upstream(include_bytes!(
        "fixtures/gemini/stream-sse-function-calls.sse"
    ));
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/acct/default/compat/chat/completions",
        "",
        &chat(
            "google-ai-studio/gemini-2.5-flash",
            r#","stream":true,"stream_options":{"include_usage":true}"#,
        ),
    ));
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    let expected = include_bytes!("fixtures/translate/google/stream-sse-function-calls.openai.sse");
    assert_eq!(events(&resp.body), events(expected));
    let seen = up.next_request();
    assert_eq!(
        seen.target,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(seen.header("x-goog-api-key"), Some("g-stored"));
}

#[test]
fn gemini_errors_come_back_openai_shaped() {
    let up = Upstream::fixed(
        404,
        "application/json",
        include_bytes!("fixtures/gemini/error-404-model-not-found.json"),
    );
    let gw = gateway(&up);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("google-ai-studio/nope", r#","stream":true"#),
    ));
    assert_eq!(resp.status, 404);
    let expected: Value = serde_json::from_slice(include_bytes!(
        "fixtures/translate/google/error-404-model-not-found.openai.json"
    ))
    .unwrap();
    assert_eq!(resp.json(), expected);
}
