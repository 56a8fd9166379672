//! The OpenAI Responses API through the gateway: passed through to OpenAI, translated for
//! Anthropic, Gemini and Chat-only providers (whole and streamed), its errors, an alias
//! across APIs, and the other model-bearing OpenAI paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod responses_support;

use common::*;
use responses_support::*;
use serde_json::{json, Value};
use std::sync::{mpsc, Mutex};

#[test]
fn anthropic_answers_a_responses_request_whole_with_usage_logged() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::fixed(200, "application/json", anthropic_text());
    let server = observed(&up, dir.path(), "");
    let body = json!({
        "model": "anthropic/claude-3-5-sonnet",
        "instructions": "Be brief.",
        "input": "Tell me a joke",
        "max_output_tokens": 300,
        "temperature": 0.5,
        "metadata": {"team": "a"},
    });
    for path in ["/v1/responses", "/v1/acct/default/compat/responses"] {
        let resp = send(&server, &post(path, "", &body.to_string()));
        assert_eq!(resp.status, 200, "{}", resp.text());
        let got = resp.json();
        assert_eq!(got["object"], "response");
        assert_eq!(got["status"], "completed");
        assert_eq!(got["model"], "anthropic/claude-3-5-sonnet");
        assert_eq!(got["instructions"], "Be brief.");
        assert_eq!(got["metadata"], json!({"team": "a"}));
        assert!(got["id"].as_str().unwrap().starts_with("resp_"), "{got}");
        let anthropic: Value = serde_json::from_slice(anthropic_text()).unwrap();
        assert_eq!(output_text(&got), anthropic["content"][0]["text"]);
        assert_eq!(
            got["usage"]["input_tokens"],
            anthropic["usage"]["input_tokens"]
        );
        assert_eq!(
            got["usage"]["output_tokens"],
            anthropic["usage"]["output_tokens"]
        );

        let seen = up.next_request();
        assert_eq!(seen.target, "/v1/messages");
        assert_eq!(seen.header("x-api-key"), Some("sk-ant-stored"));
        let sent: Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(sent["model"], "claude-3-5-sonnet");
        assert_eq!(sent["system"], "Be brief.");
        assert_eq!(sent["max_tokens"], 300);
        assert_eq!(
            sent["messages"],
            json!([{"role": "user", "content": "Tell me a joke"}])
        );
    }
    let anthropic: Value = serde_json::from_slice(anthropic_text()).unwrap();
    let resp = send(&server, &post("/v1/responses", "", &body.to_string()));
    let entry = logged(&server, &resp);
    assert_eq!(entry["provider"], "anthropic", "{entry}");
    assert_eq!(entry["model"], "anthropic/claude-3-5-sonnet", "{entry}");
    assert_eq!(
        entry["tokens_out"], anthropic["usage"]["output_tokens"],
        "{entry}"
    );
    assert!(entry["cost"].is_number(), "a priced model: {entry}");
    // The response's id is its log id: the log finds the conversation again.
    let log_id = resp.header("cf-aig-log-id").unwrap().replace('-', "");
    assert_eq!(resp.json()["id"], format!("resp_{log_id}"));
}

#[test]
fn an_anthropic_tool_stream_becomes_responses_events_as_it_arrives() {
    // The upstream holds back the rest of its stream until the client has read the
    // first translated delta: nothing may wait for the end of the upstream.
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let body: &'static [u8] = include_bytes!("fixtures/anthropic/stream-tool-use.sse");
    let up = Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        let text = std::str::from_utf8(body).unwrap();
        let events: Vec<&str> = text.split_inclusive("\n\n").collect();
        // message_start, content_block_start, ping, the first text delta.
        chunk(w, events[..4].concat().as_bytes());
        gate.lock().unwrap().recv_timeout(WAIT).unwrap();
        for event in &events[4..] {
            chunk(w, event.as_bytes());
        }
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let dir = tempfile::tempdir().unwrap();
    let server = observed(&up, dir.path(), "");
    let tools = json!([{"type": "function", "name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}]);
    let body = json!({"model": "anthropic/claude-3-5-sonnet", "input": "Weather?", "tools": tools, "stream": true});
    let mut client = Client::connect(server.local_addrs()[0]);
    client.write(&post("/v1/responses", "", &body.to_string()));
    let head = client.response_head();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("response.output_text.delta") {
        seen.extend(
            client
                .chunk()
                .expect("a translated chunk before the upstream's end"),
        );
    }
    release.send(()).unwrap();
    let resp = client.finish(head);
    let mut whole = seen;
    whole.extend_from_slice(&resp.body);
    let (names, response) = checked_stream(&whole);
    let expected_start = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ];
    assert_eq!(names[..5], expected_start, "{names:?}");
    for name in [
        "response.output_text.done",
        "response.content_part.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing: {names:?}");
    }
    let calls: Vec<&Value> = response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "function_call")
        .collect();
    assert_eq!(calls.len(), 2, "{response}");
    for (call, name) in calls.iter().zip(["get_weather", "get_time"]) {
        assert_eq!(call["name"], name);
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert!(args.is_object(), "{args}");
        assert!(call["call_id"].as_str().unwrap().starts_with("toolu_"));
    }
    assert!(
        response["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{response}"
    );
    let sent: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    assert_eq!(sent["stream"], true);
}

#[test]
fn gemini_and_chat_only_providers_answer_responses_streams() {
    let dir = tempfile::tempdir().unwrap();
    let gemini = sse_upstream(include_bytes!("fixtures/gemini/stream-sse-text.sse"));
    let server = observed(&gemini, dir.path(), "");
    let body = json!({"model": "google-ai-studio/gemini-2.0-flash", "input": "Hi", "stream": true});
    let resp = send(&server, &post("/v1/responses", "", &body.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let (_, response) = checked_stream(&resp.body);
    assert!(!output_text(&response).is_empty(), "{response}");
    let seen = gemini.next_request();
    assert!(
        seen.target.contains(":streamGenerateContent"),
        "{}",
        seen.target
    );
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let chat = sse_upstream(include_bytes!(
        "fixtures/openai/chat-stream-include-usage-tool-call.sse"
    ));
    let server = observed(&chat, dir.path(), "");
    let body = json!({"model": "mock/gpt-4o-mini", "input": [{"role": "user", "content": [{"type": "input_text", "text": "Capital?"}]}],
        "tools": [{"type": "function", "name": "get_capital", "parameters": {"type": "object"}}], "stream": true});
    let resp = send(&server, &post("/v1/responses", "", &body.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let (_, response) = checked_stream(&resp.body);
    let call = &response["output"][0];
    assert_eq!(call["type"], "function_call", "{response}");
    assert_eq!(call["name"], "get_capital");
    assert!(response["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let seen = chat.next_request();
    assert_eq!(seen.target, "/v1/chat/completions");
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_eq!(sent["tools"][0]["function"]["name"], "get_capital");
}

#[test]
fn openai_gets_the_responses_body_with_only_the_model_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let answer = r#"{"id":"resp_abc","object":"response","status":"completed","output":[],"usage":{"input_tokens":11,"output_tokens":5,"total_tokens":16}}"#;
    let up = Upstream::start(move |_, w| {
        write_json(w, 200, answer);
        After::KeepAlive
    });
    let server = observed(&up, dir.path(), "");
    let body = r#"{"model":"openai/gpt-4.1","input":"Hi","previous_response_id":"resp_from_openai","store":true}"#;
    let resp = send(&server, &post("/v1/responses", "", body));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.text(), answer, "passed through byte for byte");
    let seen = up.next_request();
    assert_eq!(seen.target, "/v1/responses");
    assert_eq!(seen.header("authorization"), Some("Bearer sk-openai"));
    assert_eq!(
        String::from_utf8(seen.body).unwrap(),
        body.replace("openai/gpt-4.1", "gpt-4.1")
    );
    let entry = logged(&server, &resp);
    assert_eq!(
        (entry["tokens_in"].clone(), entry["tokens_out"].clone()),
        (json!(11), json!(5))
    );
    // A response OpenAI made is asked of OpenAI.
    let got = get(&server, "/v1/responses/resp_abc");
    assert_eq!(got.text(), answer);
    let seen_get = up.next_request();
    assert_eq!(
        (seen_get.method.as_str(), seen_get.target.as_str()),
        ("GET", "/v1/responses/resp_abc")
    );
    assert_eq!(seen_get.header("authorization"), Some("Bearer sk-openai"));
}

#[test]
fn responses_errors_take_the_openai_shape() {
    let up = Upstream::fixed(
        529,
        "application/json",
        include_bytes!("fixtures/translate/error-overloaded.anthropic.json"),
    );
    let gw = Gateway::start(&providers(&up));
    let body = json!({"model": "anthropic/claude-3-opus", "input": "x"});
    let resp = gw.send(&post("/v1/responses", "", &body.to_string()));
    assert_eq!(resp.status, 529, "{}", resp.text());
    let error = &resp.json()["error"];
    assert!(
        error["message"].as_str().unwrap().contains("verloaded"),
        "{error}"
    );
    assert!(error.get("type").is_some(), "{error}");

    let builtin = json!({"model": "anthropic/claude-3-opus", "input": "x", "tools": [{"type": "web_search"}]});
    let resp = gw.send(&post("/v1/responses", "", &builtin.to_string()));
    assert_eq!((resp.status, resp.code()), (400, 2003), "{}", resp.text());
    assert!(resp.text().contains("web_search"), "{}", resp.text());
    let resp = gw.send(&post("/v1/responses", "", "{\"model\":1"));
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.json()["error"]["message"].is_string());
}

#[test]
fn other_model_bearing_openai_paths_go_to_the_provider_with_the_model_rewritten() {
    let up = Upstream::start(|_, w| {
        write_json(w, 200, r#"{"ok":true}"#);
        After::KeepAlive
    });
    let gw = Gateway::start(&providers(&up));
    for (path, upstream) in [
        ("/v1/completions", "/v1/completions"),
        ("/v1/moderations", "/v1/moderations"),
        ("/v1/images/generations", "/v1/images/generations"),
        ("/v1/audio/speech", "/v1/audio/speech"),
        ("/v1/acct/default/compat/completions", "/v1/completions"),
    ] {
        let resp = gw.send(&post(path, "", r#"{"model":"mock/m-1","prompt":"x"}"#));
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        assert_eq!(resp.header("cf-aig-model"), Some("m-1"));
        let seen = up.next_request();
        assert_eq!(seen.target, upstream);
        assert_eq!(seen.body, br#"{"model":"m-1","prompt":"x"}"#);
        assert_eq!(seen.header("authorization"), Some("Bearer sk-stored"));
    }
    let resp = gw.send(&post(
        "/v1/audio/speech",
        "",
        r#"{"model":"anthropic/claude-3-opus","input":"x"}"#,
    ));
    assert_eq!((resp.status, resp.code()), (400, 2014), "{}", resp.text());

    let form = "--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\
                Content-Type: audio/wav\r\n\r\nRIFF....\r\n--B0undary\r\n\
                Content-Disposition: form-data; name=\"model\"\r\n\r\nmock/whisper-1\r\n--B0undary--\r\n";
    for path in ["/v1/audio/transcriptions", "/v1/audio/translations"] {
        let raw = format!(
            "POST {path} HTTP/1.1\r\nhost: gw\r\ncontent-type: multipart/form-data; boundary=B0undary\r\ncontent-length: {}\r\n\r\n{form}",
            form.len()
        );
        let resp = gw.send(raw.as_bytes());
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        let seen = up.next_request();
        assert_eq!(seen.target, path);
        assert_eq!(
            String::from_utf8(seen.body.clone()).unwrap(),
            form.replace("mock/whisper-1", "whisper-1")
        );
        assert_eq!(
            seen.header("content-length"),
            Some((form.len() - 5).to_string().as_str())
        );
    }
}

/// `custom/NAME` on the Responses API: an alias's targets in order, each in its own API
/// (a failing Anthropic step falls over to a Chat-only provider, translated both ways).
#[test]
fn an_alias_falls_over_between_providers_of_different_apis() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start(|seen, w| {
        match seen.target.as_str() {
            "/v1/messages" => write_json(
                w,
                503,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
            ),
            _ => write_json(
                w,
                200,
                std::str::from_utf8(include_bytes!("fixtures/openai/chat-completion-text.json"))
                    .unwrap(),
            ),
        }
        After::KeepAlive
    });
    let alias = "[[gateway.alias]]\nname = \"any\"\nmodels = [\"anthropic/claude-3-5-sonnet\", \"mock/gpt-4o-mini\"]\n";
    let server = observed(&up, dir.path(), alias);
    let body = json!({"model": "custom/any", "input": "Hi"});
    let resp = send(&server, &post("/v1/responses", "", &body.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("cf-aig-provider"), Some("mock"));
    assert_eq!(resp.json()["model"], "custom/any");
    assert!(!output_text(&resp.json()).is_empty());
    assert_eq!(up.next_request().target, "/v1/messages");
    assert_eq!(up.next_request().target, "/v1/chat/completions");
}
