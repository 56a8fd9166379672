//! What the Responses API tests share: providers at one test upstream, a gateway with the
//! request log on, the raw client calls, and readers of Responses streams and objects.
#![allow(dead_code)]

use crate::common::*;
use serde_json::Value;
use sluice::config::Settings;
use sluice::server::Server;
use std::io::Write;
use std::sync::Arc;

pub const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

pub fn chunk(w: &mut dyn Write, data: &[u8]) {
    write!(w, "{:x}\r\n", data.len()).unwrap();
    w.write_all(data).unwrap();
    w.write_all(b"\r\n").unwrap();
    w.flush().unwrap();
}

/// `anthropic`, `google-ai-studio`, `openai` (serves the Responses API) and `mock` (a
/// Chat-only OpenAI-compatible server), all at `up`.
pub fn providers(up: &Upstream) -> String {
    format!(
        "[provider.anthropic]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"sk-ant-stored\" }}\n\
         [provider.google-ai-studio]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"g-stored\" }}\n\
         [provider.openai]\nbase_url = \"http://{a}/v1\"\nkeys = {{ default = \"sk-openai\" }}\n\
         [provider.mock]\nbase_url = \"http://{a}/v1\"\nkeys = {{ default = \"sk-stored\" }}\n",
        a = up.addr
    )
}

/// A gateway with the request log on (in `dir`) and `gateway_toml` for `default`.
pub fn observed(up: &Upstream, dir: &std::path::Path, gateway_toml: &str) -> Server {
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

pub fn send(server: &Server, raw: &[u8]) -> Response {
    let mut client = Client::connect(server.local_addrs()[0]);
    client.write(raw);
    client.response()
}

pub fn get(server: &Server, path: &str) -> Response {
    send(
        server,
        format!("GET {path} HTTP/1.1\r\nhost: gw\r\n\r\n").as_bytes(),
    )
}

/// Answers every request with `body` as one SSE response, two lines per chunk.
pub fn sse_upstream(body: &'static [u8]) -> Upstream {
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
pub fn events(body: &[u8]) -> Vec<(String, Value)> {
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
pub fn checked_stream(body: &[u8]) -> (Vec<String>, Value) {
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

pub fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().unwrap().iter())
        .filter_map(|part| part["text"].as_str())
        .collect()
}

pub fn anthropic_text() -> &'static [u8] {
    include_bytes!("../fixtures/translate/anthropic/message-text.json")
}

/// The stored entry behind a response's `cf-aig-log-id`.
pub fn logged(server: &Server, resp: &Response) -> Value {
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
