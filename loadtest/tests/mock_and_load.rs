//! End-to-end checks of the real `sluice-mock` binary with a plain std client, and of the real
//! `sluice-load` binary against it (counts read back from its `--json` report, exit codes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

mod common;
use common::Mock;

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    /// The body; for a chunked response, every chunk separately.
    chunks: Vec<Vec<u8>>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body()).unwrap()
    }
}

fn send(conn: &mut BufReader<TcpStream>, method: &str, path: &str, headers: &[&str], body: &str) {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: mock\r\ncontent-length: {}\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    conn.get_mut().write_all(request.as_bytes()).unwrap();
}

fn read_line(conn: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    assert!(line.ends_with("\r\n"), "line {line:?} not CRLF-terminated");
    line.truncate(line.len() - 2);
    line
}

fn read_response(conn: &mut BufReader<TcpStream>) -> Response {
    let status_line = read_line(conn);
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let line = read_line(conn);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        chunks: Vec::new(),
    };
    if response.header("transfer-encoding") == Some("chunked") {
        loop {
            let size = usize::from_str_radix(&read_line(conn), 16).unwrap();
            if size == 0 {
                assert_eq!(read_line(conn), "");
                break;
            }
            let mut chunk = vec![0; size];
            conn.read_exact(&mut chunk).unwrap();
            assert_eq!(read_line(conn), "");
            response.chunks.push(chunk);
        }
    } else {
        let len = response.header("content-length").unwrap().parse().unwrap();
        let mut body = vec![0; len];
        conn.read_exact(&mut body).unwrap();
        response.chunks.push(body);
    }
    response
}

fn request(mock: &Mock, method: &str, path: &str, headers: &[&str], body: &str) -> Response {
    let mut conn = mock.connect();
    send(&mut conn, method, path, headers, body);
    read_response(&mut conn)
}

#[test]
fn completion_echoes_model_with_consistent_usage() {
    let mock = Mock::start(&[]);
    let body = r#"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}"#;
    let response = request(
        &mock,
        "POST",
        "/v1/chat/completions",
        &["x-mock-chunks: 5"],
        body,
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let json = response.json();
    assert_eq!(json["object"], "chat.completion");
    assert_eq!(json["model"], "gpt-test");
    let choice = &json["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "tok0 tok1 tok2 tok3 tok4 ");
    assert_eq!(choice["finish_reason"], "stop");
    let prompt = body.len().div_ceil(4) as u64;
    assert_eq!(json["usage"]["prompt_tokens"], prompt);
    assert_eq!(json["usage"]["completion_tokens"], 5);
    assert_eq!(json["usage"]["total_tokens"], prompt + 5);

    let padded = request(
        &mock,
        "POST",
        "/v1/chat/completions",
        &["x-mock-body-bytes: 4000"],
        body,
    );
    let json = padded.json();
    let content = json["choices"][0]["message"]["content"].as_str().unwrap();
    assert!((4000..4020).contains(&content.len()), "{}", content.len());
    assert_eq!(
        json["usage"]["completion_tokens"],
        content.split_whitespace().count()
    );
}

/// Streams with 3 content chunks and returns the SSE payload of each chunked-encoding chunk.
fn stream_events(mock: &Mock, include_usage: bool) -> Vec<String> {
    let body = format!(
        r#"{{"model":"gpt-s","stream":true,"stream_options":{{"include_usage":{include_usage}}}}}"#
    );
    let response = request(
        mock,
        "POST",
        "/v1/chat/completions",
        &["x-mock-chunks: 3"],
        &body,
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    response
        .chunks
        .iter()
        .map(|chunk| {
            let text = String::from_utf8(chunk.clone()).unwrap();
            let payload = text
                .strip_prefix("data: ")
                .unwrap()
                .strip_suffix("\n\n")
                .unwrap();
            assert!(!payload.contains("\n\n"), "one event per chunk: {text:?}");
            payload.to_owned()
        })
        .collect()
}

#[test]
fn stream_sends_one_event_per_chunk_in_order() {
    let mock = Mock::start(&[]);
    for include_usage in [false, true] {
        let events = stream_events(&mock, include_usage);
        assert_eq!(events.len(), if include_usage { 7 } else { 6 });
        assert_eq!(events.last().unwrap(), "[DONE]");
        let json: Vec<serde_json::Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        assert!(json
            .iter()
            .all(|j| j["model"] == "gpt-s" && j["object"] == "chat.completion.chunk"));
        assert_eq!(json[0]["choices"][0]["delta"]["role"], "assistant");
        for i in 0..3 {
            assert_eq!(
                json[1 + i]["choices"][0]["delta"]["content"],
                format!("tok{i} ")
            );
        }
        assert_eq!(json[4]["choices"][0]["finish_reason"], "stop");
        if include_usage {
            assert_eq!(json[5]["choices"], serde_json::json!([]));
            assert_eq!(json[5]["usage"]["completion_tokens"], 3);
        }
    }
}

#[test]
fn status_knob_and_unknown_paths_give_openai_errors() {
    let mock = Mock::start(&[]);
    let body = r#"{"model":"m"}"#;
    for status in [429u16, 500] {
        let header = format!("x-mock-status: {status}");
        let response = request(&mock, "POST", "/v1/chat/completions", &[&header], body);
        assert_eq!(response.status, status);
        assert!(response.json()["error"]["message"].is_string());
    }
    let bad_knob = request(
        &mock,
        "POST",
        "/v1/chat/completions",
        &["x-mock-chunks: lots"],
        body,
    );
    assert_eq!(bad_knob.status, 400);
    assert!(bad_knob.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("x-mock-chunks"));
    let missing = request(&mock, "GET", "/v2/nothing", &[], "");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["type"], "invalid_request_error");
    let not_json = request(&mock, "POST", "/v1/chat/completions", &[], "{nope");
    assert_eq!(not_json.status, 400);
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let mock = Mock::start(&["--workers", "2"]);
    let mut conn = mock.connect();
    for i in 0..5 {
        let body = format!(r#"{{"model":"m{i}"}}"#);
        send(&mut conn, "POST", "/v1/chat/completions", &[], &body);
        assert_eq!(read_response(&mut conn).json()["model"], format!("m{i}"));
    }
    // A chunked request body, with the body split over two chunks.
    let chunked = "POST /v1/chat/completions HTTP/1.1\r\nhost: m\r\ntransfer-encoding: chunked\r\n\r\n6\r\n{\"mode\r\n8\r\nl\":\"ck\"}\r\n0\r\n\r\n";
    conn.get_mut().write_all(chunked.as_bytes()).unwrap();
    let response = read_response(&mut conn);
    assert_eq!(response.json()["model"], "ck");
    assert_eq!(response.header("x-mock-request-bytes"), Some("14"));
    send(&mut conn, "GET", "/v1/models", &["connection: close"], "");
    assert_eq!(read_response(&mut conn).status, 200);
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "the mock closes after connection: close");
}

#[test]
fn a_stream_leaves_nothing_behind_for_the_next_response() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let stream = r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#;
    send(
        &mut conn,
        "POST",
        "/v1/chat/completions",
        &["x-mock-chunks: 2"],
        stream,
    );
    assert_eq!(read_response(&mut conn).status, 200);
    send(
        &mut conn,
        "POST",
        "/v1/embeddings",
        &[],
        r#"{"model":"e","input":"x"}"#,
    );
    assert_eq!(read_response(&mut conn).json()["object"], "list");
    send(
        &mut conn,
        "POST",
        "/v1/chat/completions",
        &["x-mock-chunks: 2"],
        stream,
    );
    assert_eq!(read_response(&mut conn).status, 200);
    send(
        &mut conn,
        "POST",
        "/v1/chat/completions",
        &[],
        r#"{"model":"m"}"#,
    );
    assert_eq!(read_response(&mut conn).json()["model"], "m");
}

#[test]
fn echo_headers_reports_what_was_received() {
    let mock = Mock::start(&[]);
    let body = r#"{"model":"m"}"#;
    let headers = ["x-mock-echo-headers: true", "authorization: Bearer sk-test"];
    let response = request(&mock, "POST", "/v1/chat/completions", &headers, body);
    assert_eq!(response.header("x-mock-request-bytes"), Some("13"));
    let content = response.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let echoed: serde_json::Value = serde_json::from_str(&content).unwrap();
    assert_eq!(echoed["authorization"], "Bearer sk-test");
    assert_eq!(echoed["content-length"], "13");
}

#[test]
fn embeddings_and_models_have_openai_shapes() {
    let mock = Mock::start(&[]);
    let response = request(
        &mock,
        "POST",
        "/v1/embeddings",
        &["x-mock-dims: 4"],
        r#"{"model":"e","input":["a","b","c"]}"#,
    );
    let json = response.json();
    assert_eq!(json["object"], "list");
    assert_eq!(json["model"], "e");
    let data = json["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(data[2]["index"], 2);
    assert_eq!(data[2]["embedding"].as_array().unwrap().len(), 4);
    assert!(json["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let single = request(
        &mock,
        "POST",
        "/v1/embeddings",
        &[],
        r#"{"model":"e","input":"x"}"#,
    )
    .json();
    assert_eq!(single["data"].as_array().unwrap().len(), 1);
    assert_eq!(single["data"][0]["embedding"].as_array().unwrap().len(), 8);
    let models = request(&mock, "GET", "/v1/models", &[], "").json();
    assert_eq!(models["object"], "list");
    assert!(models["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["object"] == "model"));
}

/// Runs `sluice-load --quiet ARGS`, checks its exit code and returns its JSON report.
fn load(args: &[&str], code: i32) -> serde_json::Value {
    let mut all = vec!["--quiet"];
    all.extend_from_slice(args);
    let run = common::load::sluice_load(&all);
    assert_eq!(run.code, code, "{}{}", run.stdout, run.stderr);
    run.json
}

#[test]
fn load_counts_closed_loop_requests() {
    let mock = Mock::start(&[]);
    let url = format!("http://{}/v1/chat/completions", mock.addr);
    let report = load(
        &[
            "--url",
            &url,
            "--requests",
            "200",
            "--concurrency",
            "8",
            "--workers",
            "2",
        ],
        0,
    );
    assert_eq!(report["ok"], 200);
    assert_eq!(report["errors"]["total"], 0);
    assert_eq!(report["latency_us"]["count"], 200);
    assert!(report["latency_us"]["p50"].as_u64().unwrap() > 0);
}

#[test]
fn load_times_streams() {
    let mock = Mock::start(&[]);
    let url = format!("http://{}/v1/chat/completions", mock.addr);
    let report = load(
        &[
            "--url",
            &url,
            "--stream",
            "--requests",
            "20",
            "--concurrency",
            "4",
            "--header",
            "x-mock-chunks: 5",
            "--expect-chunks",
            "5",
        ],
        0,
    );
    assert_eq!(report["ok"], 20);
    assert_eq!(report["errors"]["total"], 0);
    assert_eq!(report["chunks"], 100);
    assert_eq!(report["ttft_us"]["count"], 20);
    assert_eq!(report["inter_chunk_us"]["count"], 80);
    assert_eq!(report["total_us"]["count"], 20);
}

#[test]
fn load_flags_streams_missing_content() {
    let mock = Mock::start(&[]);
    let url = format!("http://{}/v1/chat/completions", mock.addr);
    // The mock sends 5 tokens; a check for 6 must call every stream corrupt.
    let report = load(
        &[
            "--url",
            &url,
            "--stream",
            "--requests",
            "4",
            "--header",
            "x-mock-chunks: 5",
            "--expect-chunks",
            "6",
        ],
        1,
    );
    assert_eq!(report["ok"], 0);
    assert_eq!(report["errors"]["corrupt_stream"], 4);
}

#[test]
fn load_counts_open_loop_and_status_errors() {
    let mock = Mock::start(&[]);
    let url = format!("http://{}/v1/chat/completions", mock.addr);
    let report = load(
        &[
            "--url",
            &url,
            "--rate",
            "500",
            "--requests",
            "30",
            "--header",
            "x-mock-status: 503",
        ],
        1,
    );
    assert_eq!(report["ok"], 0);
    assert_eq!(report["errors"]["status"]["503"], 30);
    assert_eq!(report["offered_rate"], 500.0);
    let short = load(
        &[
            "--url",
            &url,
            "--stream",
            "--requests",
            "3",
            "--method",
            "GET",
        ],
        1,
    );
    assert_eq!(
        short["errors"]["status"]["404"], 3,
        "GET on a POST path is a 404"
    );
}
