//! The OpenAI Responses API through the gateway: passed through to OpenAI, translated for
//! Anthropic, Gemini and Chat-only providers (whole and streamed), conversation state from
//! the request log, and the other model-bearing OpenAI paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use sluice::config::Settings;
use sluice::server::Server;
use std::io::Write;
use std::sync::{mpsc, Arc, Mutex};

const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(w: &mut dyn Write, data: &[u8]) {
    write!(w, "{:x}\r\n", data.len()).unwrap();
    w.write_all(data).unwrap();
    w.write_all(b"\r\n").unwrap();
    w.flush().unwrap();
}

/// `anthropic`, `google-ai-studio`, `openai` (serves the Responses API) and `mock` (a
/// Chat-only OpenAI-compatible server), all at `up`.
fn providers(up: &Upstream) -> String {
    format!(
        "[provider.anthropic]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"sk-ant-stored\" }}\n\
         [provider.google-ai-studio]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"g-stored\" }}\n\
         [provider.openai]\nbase_url = \"http://{a}/v1\"\nkeys = {{ default = \"sk-openai\" }}\n\
         [provider.mock]\nbase_url = \"http://{a}/v1\"\nkeys = {{ default = \"sk-stored\" }}\n",
        a = up.addr
    )
}

/// A gateway with the request log on (in `dir`) and `gateway_toml` for `default`.
fn observed(up: &Upstream, dir: &std::path::Path, gateway_toml: &str) -> Server {
    let toml = format!(
        "{}\n[[gateway]]\nid = \"default\"\n{gateway_toml}\n",
        providers(up)
    );
    let mut settings = Settings::from_toml_str(&toml, "responses test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.server.workers = 2;
    settings.server.data_dir = dir.to_string_lossy().into_owned();
    Server::start_observed(Arc::new(settings)).unwrap()
}

fn send(server: &Server, raw: &[u8]) -> Response {
    let mut client = Client::connect(server.local_addrs()[0]);
    client.write(raw);
    client.response()
}

fn get(server: &Server, path: &str) -> Response {
    send(
        server,
        format!("GET {path} HTTP/1.1\r\nhost: gw\r\n\r\n").as_bytes(),
    )
}

/// Answers every request with `body` as one SSE response, two lines per chunk.
fn sse_upstream(body: &'static [u8]) -> Upstream {
    Upstream::start(move |_, w| {
        w.write_all(SSE_HEAD).unwrap();
        let lines: Vec<_> = body.split_inclusive(|&b| b == b'\n').collect();
        for pair in lines.chunks(2) {
            chunk(w, &pair.concat());
        }
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    })
}

/// `(event name, data)` of each SSE event.
fn events(body: &[u8]) -> Vec<(String, Value)> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut name = String::new();
            let mut data = String::new();
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_string();
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

/// What a client reads from a Responses stream: each event's type matches its name,
/// sequence numbers count up from 0, and the final object is `response.completed`'s.
fn checked_stream(body: &[u8]) -> (Vec<String>, Value) {
    let events = events(body);
    assert!(!events.is_empty(), "{}", String::from_utf8_lossy(body));
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str(), "event {i}: {data}");
        assert_eq!(data["sequence_number"], i, "event {i}: {data}");
    }
    let names: Vec<String> = events.iter().map(|(n, _)| n.clone()).collect();
    let (last, data) = events.last().unwrap();
    assert!(
        last == "response.completed" || last == "response.incomplete",
        "{names:?}"
    );
    (names, data["response"].clone())
}

fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().unwrap().iter())
        .filter_map(|part| part["text"].as_str())
        .collect()
}

fn anthropic_text() -> &'static [u8] {
    include_bytes!("fixtures/translate/anthropic/message-text.json")
}

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

/// The stored entry behind a response's `cf-aig-log-id`.
fn logged(server: &Server, resp: &Response) -> Value {
    server.flush_logs().unwrap();
    let id = resp.header("cf-aig-log-id").expect("cf-aig-log-id header");
    let mut c = Client::connect(server.admin_addr().unwrap());
    c.write(
        format!("GET /api/v1/gateways/default/logs/{id} HTTP/1.1\r\nhost: a\r\n\r\n").as_bytes(),
    );
    let answer = c.response();
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["result"].clone()
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
fn a_conversation_continues_from_the_log_and_a_stored_response_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::fixed(200, "application/json", anthropic_text());
    let server = observed(&up, dir.path(), "");
    let first = json!({"model": "anthropic/claude-3-opus", "input": "Tell me a joke"});
    let resp = send(&server, &post("/v1/responses", "", &first.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let first_answer = resp.json();
    let id = first_answer["id"].as_str().unwrap().to_string();
    up.next_request();
    // No flush: a client's next turn follows at once.
    let second =
        json!({"model": "anthropic/claude-3-opus", "input": "Another", "previous_response_id": id});
    let resp = send(&server, &post("/v1/responses", "", &second.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let sent: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    let joke = output_text(&first_answer);
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "Tell me a joke"},
            {"role": "assistant", "content": joke},
            {"role": "user", "content": "Another"},
        ]),
    );
    // The conversation goes on past one turn back, and to another provider.
    let third = json!({"model": "mock/gpt-4o-mini", "input": "Thanks", "previous_response_id": resp.json()["id"]});
    // (The upstream answers with the Anthropic body whatever is asked: only what it was
    // sent matters here.)
    send(&server, &post("/v1/responses", "", &third.to_string()));
    let sent: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    assert_eq!(sent["messages"].as_array().unwrap().len(), 5, "{sent}");

    let resp = get(&server, &format!("/v1/responses/{id}"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["id"], id.as_str());
    assert_eq!(output_text(&resp.json()), joke);
    let resp = get(
        &server,
        "/v1/responses/resp_00000000000000000000000000000000",
    );
    assert_eq!((resp.status, resp.code()), (404, 2002), "{}", resp.text());

    let unstored = json!({"model": "anthropic/claude-3-opus", "input": "x", "store": false});
    let resp = send(&server, &post("/v1/responses", "", &unstored.to_string()));
    let unstored_id = resp.json()["id"].as_str().unwrap().to_string();
    server.flush_logs().unwrap();
    let resp = get(&server, &format!("/v1/responses/{unstored_id}"));
    assert_eq!(
        resp.status,
        404,
        "store: false is not read back: {}",
        resp.text()
    );

    let foreign = json!({"model": "anthropic/claude-3-opus", "input": "x", "previous_response_id": "resp_67ccd2bed1ec8190"});
    let resp = send(&server, &post("/v1/responses", "", &foreign.to_string()));
    assert_eq!((resp.status, resp.code()), (400, 2003), "{}", resp.text());
    assert!(
        resp.text().contains("not made by this gateway"),
        "{}",
        resp.text()
    );
}

#[test]
fn without_the_log_previous_response_id_is_a_clear_400() {
    let up = Upstream::fixed(200, "application/json", anthropic_text());
    let gw = Gateway::start(&providers(&up));
    let body = json!({"model": "anthropic/claude-3-opus", "input": "x",
        "previous_response_id": "resp_0193a1b2c3d4e5f60718293a4b5c6d7e"});
    let resp = gw.send(&post("/v1/responses", "", &body.to_string()));
    assert_eq!((resp.status, resp.code()), (400, 2003), "{}", resp.text());
    assert!(resp.text().contains("request log"), "{}", resp.text());
    assert!(up.saw_nothing());
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

/// The Vercel AI SDK sends `item_reference`s to the items of earlier responses instead of
/// the items: the gateway puts its own items back.
#[test]
fn item_references_to_the_gateways_own_items_are_resolved_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!("fixtures/translate/anthropic/message-text-and-tool-use.json"),
    );
    let server = observed(&up, dir.path(), "");
    let tools = json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "function", "name": "get_time", "parameters": {"type": "object"}}]);
    let first = json!({"model": "anthropic/claude-3-5-sonnet", "input": "Weather and time?", "tools": tools});
    let resp = send(&server, &post("/v1/responses", "", &first.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let output = resp.json()["output"].as_array().unwrap().clone();
    up.next_request();
    let call = output
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap();
    let message = output.iter().find(|i| i["type"] == "message").unwrap();
    let second = json!({"model": "anthropic/claude-3-5-sonnet", "tools": tools, "input": [
        {"role": "user", "content": "Weather and time?"},
        {"type": "item_reference", "id": message["id"]},
        {"type": "item_reference", "id": call["id"]},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"},
    ]});
    let resp = send(&server, &post("/v1/responses", "", &second.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let sent: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{sent}");
    let assistant = &messages[1]["content"];
    assert!(
        assistant
            .to_string()
            .contains(call["call_id"].as_str().unwrap()),
        "{sent}"
    );
    assert!(assistant.to_string().contains("tool_use"), "{sent}");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result", "{sent}");

    let dangling = json!({"model": "anthropic/claude-3-5-sonnet", "input": [
        {"type": "item_reference", "id": format!("{}_9", call["id"].as_str().unwrap())}]});
    let resp = send(&server, &post("/v1/responses", "", &dangling.to_string()));
    assert_eq!(resp.status, 400, "{}", resp.text());
}

/// A conversation begun on a translated provider goes on with one that serves the API
/// itself: it gets the whole conversation as `input`, since it cannot know the id.
#[test]
fn a_conversation_moves_to_openai_as_its_whole_input() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start(|seen, w| {
        let body = match seen.target.as_str() {
            "/v1/messages" => String::from_utf8(anthropic_text().to_vec()).unwrap(),
            _ => r#"{"id":"resp_x","object":"response","output":[]}"#.to_string(),
        };
        write_json(w, 200, &body);
        After::KeepAlive
    });
    let server = observed(&up, dir.path(), "");
    let first = json!({"model": "anthropic/claude-3-opus", "input": "Tell me a joke"});
    let resp = send(&server, &post("/v1/responses", "", &first.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let joke = output_text(&resp.json());
    up.next_request();
    let second = json!({"model": "openai/gpt-4.1", "input": "Explain it", "previous_response_id": resp.json()["id"]});
    let resp = send(&server, &post("/v1/responses", "", &second.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.next_request();
    assert_eq!(seen.target, "/v1/responses");
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    assert!(sent.get("previous_response_id").is_none(), "{sent}");
    assert_eq!(sent["model"], "gpt-4.1");
    let input = sent["input"].as_array().unwrap();
    assert_eq!(input.len(), 3, "{sent}");
    assert_eq!(input[0]["role"], "user");
    assert_eq!(input[1]["type"], "message");
    assert_eq!(input[1]["content"][0]["text"], joke.as_str());
    assert_eq!(input[2]["content"][0]["text"], "Explain it");
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
