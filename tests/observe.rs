//! Per-request logs and metrics through a real gateway: entries with usage and cost for
//! JSON and SSE answers, the collect-log headers, metadata, ids, /metrics and restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;

use admin_support::{get, Answer};
use common::{post, write_json, After, Response, Upstream};
use serde_json::Value;
use sluice::config::Settings;
use sluice::server::Server;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHAT: &str = r#"{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#;
const STREAM_CHAT: &str =
    r#"{"model":"mock/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}}"#;
const SSE: [&str; 3] = [
    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
    "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}\n\n",
    "data: [DONE]\n\n",
];
const PATH: &str = "/v1/acct/default/compat/chat/completions";
/// USD per token for `mock/gpt-4o-mini`, from the test config's `[price.mock]`.
const PRICE_IN: f64 = 1e-6;
const PRICE_OUT: f64 = 2e-6;

/// JSON answers with usage; `stream: true` requests get a chunked SSE stream, with the
/// usage-only chunk only when the request asks for it (as OpenAI does).
fn upstream() -> Upstream {
    Upstream::start(|seen, w| {
        if !contains(&seen.body, "\"stream\":true") {
            write_json(w, 200, COMPLETION);
            return After::KeepAlive;
        }
        let with_usage = contains(&seen.body, "\"include_usage\":true");
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        for (i, event) in SSE.iter().enumerate() {
            if i == 1 && !with_usage {
                continue;
            }
            let _ = write!(w, "{:x}\r\n{event}\r\n", event.len());
            let _ = w.flush();
        }
        let _ = write!(w, "0\r\n\r\n");
        After::KeepAlive
    })
}

fn contains(body: &[u8], needle: &str) -> bool {
    body.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The stream a client that did not ask for usage gets from the provider directly.
fn direct_stream() -> String {
    format!("{}{}", SSE[0], SSE[2])
}

fn start(up: &Upstream, data_dir: &Path, gateway_toml: &str) -> Server {
    start_tuned(up, data_dir, gateway_toml, |_| {})
}

fn start_with_queue(up: &Upstream, data_dir: &Path, gateway_toml: &str, queue: usize) -> Server {
    start_tuned(up, data_dir, gateway_toml, |settings| {
        settings.server.log_queue_entries = queue
    })
}

/// Two workers and a 65536-entry log queue unless `tune` says otherwise.
fn start_tuned(
    up: &Upstream,
    data_dir: &Path,
    gateway_toml: &str,
    tune: impl FnOnce(&mut Settings),
) -> Server {
    let toml = format!(
        "{}\n[price.mock]\n\"gpt-4o-mini\" = {{ in = {PRICE_IN:e}, out = {PRICE_OUT:e} }}\n\
         [[gateway]]\nid = \"default\"\n{gateway_toml}\n",
        common::config_for(up, "")
    );
    let mut settings = Settings::from_toml_str(&toml, "observe test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.server.workers = 2;
    settings.server.data_dir = data_dir.to_string_lossy().into_owned();
    tune(&mut settings);
    Server::start_observed(Arc::new(settings)).unwrap()
}

fn send(server: &Server, raw: &[u8]) -> Response {
    let mut client = common::Client::connect(server.local_addrs()[0]);
    client.write(raw);
    client.response()
}

fn admin(server: &Server, target: &str) -> Answer {
    server.flush_logs().unwrap();
    get(admin_addr(server), target)
}

fn admin_addr(server: &Server) -> SocketAddr {
    server.admin_addr().unwrap()
}

/// Polls `check` until it gives a value. The gateway records a request after its last
/// byte went out, so the client can see the answer before the entry is queued.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + admin_support::WAIT;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The stored entry behind a response's `cf-aig-log-id`.
fn logged(server: &Server, resp: &Response) -> Value {
    let id = resp.header("cf-aig-log-id").expect("cf-aig-log-id header");
    let target = format!("/api/v1/gateways/default/logs/{id}");
    let answer = eventually("the log entry", || {
        let answer = admin(server, &target);
        (answer.status != 404).then_some(answer)
    });
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["result"].clone()
}

/// The scrape, once it has this line.
fn metrics_with(server: &Server, line: &str) -> String {
    eventually(line, || {
        let text = get(admin_addr(server), "/metrics").text();
        text.lines().any(|l| l == line).then_some(text)
    })
}

fn stop(server: Server) {
    server.shutdown();
    server.join();
}

fn close_to(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-12)
}

#[test]
fn json_answer_is_logged_with_usage_cost_metadata_and_bodies() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let headers = "user-agent: observe-test/1\r\ncf-aig-event-id: ev-42\r\n\
                   cf-aig-metadata: {\"user\":\"u1\",\"tier\":3,\"beta\":true}\r\n";
    let resp = send(&server, &post(PATH, headers, CHAT));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, COMPLETION.as_bytes());
    assert_eq!(resp.header("cf-aig-event-id"), Some("ev-42"));
    let entry = logged(&server, &resp);
    assert_eq!(entry["event_id"], "ev-42");
    assert_eq!(entry["gateway"], "default");
    assert_eq!(entry["provider"], "mock");
    assert_eq!(entry["model"], "mock/gpt-4o-mini", "the model as asked");
    assert_eq!(entry["upstream_model"], "gpt-4o-mini", "the model as sent");
    assert_eq!(entry["path"], PATH);
    assert_eq!(
        (entry["status"].as_u64(), entry["success"].as_bool()),
        (Some(200), Some(true))
    );
    assert_eq!(
        (entry["stream"].as_bool(), entry["cached"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        (entry["tokens_in"].as_u64(), entry["tokens_out"].as_u64()),
        (Some(12), Some(30))
    );
    assert!(
        close_to(&entry["cost"], 12.0 * PRICE_IN + 30.0 * PRICE_OUT),
        "{entry}"
    );
    assert_eq!(entry["custom_cost"], false);
    assert_eq!(
        entry["metadata"],
        serde_json::json!({"user":"u1","tier":3,"beta":true})
    );
    assert_eq!(entry["user_agent"], "observe-test/1");
    assert_eq!(entry["request_size"].as_u64(), Some(CHAT.len() as u64));
    assert_eq!(
        entry["response_size"].as_u64(),
        Some(COMPLETION.len() as u64)
    );
    let id = entry["id"].as_str().unwrap();
    let base = format!("/api/v1/gateways/default/logs/{id}");
    assert_eq!(
        admin(&server, &format!("{base}/request")).body,
        CHAT.as_bytes()
    );
    assert_eq!(
        admin(&server, &format!("{base}/response")).body,
        COMPLETION.as_bytes()
    );
    let metrics = admin(&server, "/metrics").text();
    // One request in each histogram, the gateway's own overhead included.
    for line in [
        "sluice_tokens_in_total{provider=\"mock\",model=\"gpt-4o-mini\"} 12",
        "sluice_request_duration_seconds_count 1",
        "sluice_time_to_first_token_seconds_count 1",
        "sluice_gateway_overhead_seconds_count 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line:?} in\n{metrics}"
        );
    }
    stop(server);
}

#[test]
fn entries_keep_the_model_as_asked_beside_the_one_sent_and_filter_on_both() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let native_body = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#;
    let native = send(
        &server,
        &post("/v1/acct/default/mock/chat/completions", "", native_body),
    );
    assert_eq!(native.status, 200);
    let entry = logged(&server, &native);
    assert_eq!(
        (&entry["model"], &entry["upstream_model"]),
        (&Value::from("gpt-4o-mini"), &Value::from("gpt-4o-mini")),
        "a native request asks for what it sends"
    );
    let compat = send(&server, &post(PATH, "", STREAM_CHAT));
    assert_eq!(compat.status, 200);
    let entry = logged(&server, &compat);
    assert_eq!(entry["model"], "mock/gpt-4o-mini");
    assert_eq!(entry["upstream_model"], "gpt-4o-mini");
    let found = |query: &str| -> Vec<String> {
        let answer = admin(&server, &format!("/api/v1/gateways/default/logs?{query}"));
        assert_eq!(answer.status, 200, "{}", answer.text());
        let listed = answer.json()["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        listed
            .iter()
            .map(|e| e["id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (native_id, compat_id) = (
        native.header("cf-aig-log-id").unwrap().to_string(),
        compat.header("cf-aig-log-id").unwrap().to_string(),
    );
    assert_eq!(found("model=mock%2Fgpt-4o-mini"), [compat_id.as_str()]);
    assert_eq!(found("model=gpt-4o-mini"), [native_id.as_str()]);
    assert_eq!(
        found("upstream_model=gpt-4o-mini"),
        [compat_id.as_str(), native_id.as_str()]
    );
    assert_eq!(found("stream=true"), [compat_id.as_str()]);
    assert_eq!(found("stream=false"), [native_id.as_str()]);
    stop(server);
}

#[test]
fn stream_usage_is_logged_and_the_client_gets_the_direct_stream() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let resp = send(&server, &post(PATH, "", STREAM_CHAT));
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    // The gateway asked for usage upstream and took the usage chunk out again.
    let seen = up.next_request();
    assert!(contains(
        &seen.body,
        "\"stream_options\":{\"include_usage\":true}"
    ));
    assert_eq!(String::from_utf8_lossy(&resp.body), direct_stream());
    // No event id from the client: the log id serves as one.
    let log_id = resp.header("cf-aig-log-id").unwrap();
    assert_eq!(resp.header("cf-aig-event-id"), Some(log_id));
    let entry = logged(&server, &resp);
    assert_eq!(entry["stream"], true);
    assert_eq!(
        (entry["tokens_in"].as_u64(), entry["tokens_out"].as_u64()),
        (Some(5), Some(7))
    );
    assert!(
        close_to(&entry["cost"], 5.0 * PRICE_IN + 7.0 * PRICE_OUT),
        "{entry}"
    );
    assert!(entry["ttft_ms"].is_u64(), "{entry}");
    let stored = admin(
        &server,
        &format!("/api/v1/gateways/default/logs/{log_id}/response"),
    );
    assert_eq!(
        stored.body,
        SSE.concat().as_bytes(),
        "the log keeps what upstream sent"
    );
    stop(server);
}

#[test]
fn a_client_that_asks_for_usage_keeps_its_usage_chunk() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let body = STREAM_CHAT.replace(
        "\"stream\":true",
        "\"stream\":true,\"stream_options\":{\"include_usage\":true}",
    );
    let resp = send(&server, &post(PATH, "", &body));
    assert_eq!(String::from_utf8_lossy(&resp.body), SSE.concat());
    let seen = up.next_request();
    assert_eq!(
        seen.body,
        body.replace("mock/", "").as_bytes(),
        "body unchanged"
    );
    let entry = logged(&server, &resp);
    assert_eq!(entry["tokens_out"].as_u64(), Some(7));
    stop(server);
}

#[test]
fn http10_client_gets_the_stripped_stream_ended_by_close() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let raw = String::from_utf8(post(PATH, "", STREAM_CHAT))
        .unwrap()
        .replacen("HTTP/1.1", "HTTP/1.0", 1);
    let resp = send(&server, raw.as_bytes());
    assert_eq!(resp.header("transfer-encoding"), None);
    assert_eq!(String::from_utf8_lossy(&resp.body), direct_stream());
    assert_eq!(logged(&server, &resp)["tokens_in"].as_u64(), Some(5));
    stop(server);
}

#[test]
fn collect_log_false_writes_nothing_and_payload_off_keeps_no_bodies() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let skipped = send(&server, &post(PATH, "cf-aig-collect-log: false\r\n", CHAT));
    assert_eq!(skipped.status, 200);
    assert_eq!(skipped.header("cf-aig-log-id"), None);
    assert!(skipped.header("cf-aig-event-id").is_some());
    let bare = send(
        &server,
        &post(PATH, "cf-aig-collect-log-payload: false\r\n", CHAT),
    );
    let entry = logged(&server, &bare);
    assert_eq!(
        entry["tokens_in"].as_u64(),
        Some(12),
        "usage kept without payloads"
    );
    let id = entry["id"].as_str().unwrap();
    let shown = admin(&server, &format!("/api/v1/gateways/default/logs/{id}")).json();
    assert_eq!(shown["result"]["request_body_stored"], false);
    assert_eq!(shown["result"]["response_body_stored"], false);
    let list = admin(&server, "/api/v1/gateways/default/logs").json();
    assert_eq!(
        logged_count(&list),
        Some(1),
        "only the second request: {list}"
    );
    stop(server);
}

#[test]
fn collect_log_switches_take_only_true_or_false() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    for header in ["cf-aig-collect-log", "cf-aig-collect-log-payload"] {
        for value in ["0", "no", "FALSE", "off", ""] {
            let resp = send(
                &server,
                &post(PATH, &format!("{header}: {value}\r\n"), CHAT),
            );
            assert_eq!(resp.status, 400, "{header}: {value}");
            let body = String::from_utf8_lossy(&resp.body);
            assert!(body.contains("2003") && body.contains(header), "{body}");
        }
        let fine = send(&server, &post(PATH, &format!("{header}: true\r\n"), CHAT));
        assert_eq!(fine.status, 200);
        // Wait for its entry: the count below must not race the writer.
        logged(&server, &fine);
    }
    let list = admin(&server, "/api/v1/gateways/default/logs").json();
    assert_eq!(
        logged_count(&list),
        Some(2),
        "refused requests are not logged: {list}"
    );
    stop(server);
}

#[test]
fn a_body_over_the_limit_is_not_stored_but_the_rest_of_the_entry_is() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let filler = "x".repeat(10 * 1024 * 1024);
    let big = format!(
        r#"{{"model":"mock/gpt-4o-mini","messages":[{{"role":"user","content":"{filler}"}}]}}"#
    );
    let resp = send(&server, &post(PATH, "", &big));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let entry = logged(&server, &resp);
    assert_eq!(entry["request_size"].as_u64(), Some(big.len() as u64));
    assert_eq!(entry["tokens_in"].as_u64(), Some(12));
    let id = entry["id"].as_str().unwrap();
    let shown = admin(&server, &format!("/api/v1/gateways/default/logs/{id}")).json();
    assert_eq!(shown["result"]["request_body_stored"], false);
    assert_eq!(shown["result"]["response_body_stored"], true);
    // The next request's entry (which may reuse this one's buffers) has its own body.
    let small = send(&server, &post(PATH, "", CHAT));
    let id = logged(&server, &small)["id"].as_str().unwrap().to_string();
    let body = admin(
        &server,
        &format!("/api/v1/gateways/default/logs/{id}/request"),
    );
    assert_eq!(String::from_utf8_lossy(&body.body), CHAT);
    stop(server);
}

#[test]
fn a_request_refused_before_its_body_is_read_is_logged_without_one() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    // One worker: the refused request's entry is the first one's, handed back for reuse.
    let server = start_tuned(&up, dir.path(), "", |s| s.server.workers = 1);
    logged(&server, &send(&server, &post(PATH, "", CHAT)));
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n\
         content-length: 999999999\r\n\r\n"
    );
    let refused = send(&server, head.as_bytes());
    assert_eq!(refused.status, 413);
    let entry = logged(&server, &refused);
    assert_eq!(entry["status"].as_u64(), Some(413));
    let id = entry["id"].as_str().unwrap();
    let shown = admin(&server, &format!("/api/v1/gateways/default/logs/{id}")).json();
    assert_eq!(shown["result"]["request_body_stored"], false);
    stop(server);
}

/// How many entries the list's filter matched.
fn logged_count(list: &Value) -> Option<u64> {
    list["totals"]["requests"].as_u64()
}

#[test]
fn bad_metadata_is_refused_naming_the_header() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let resp = send(
        &server,
        &post(PATH, "cf-aig-metadata: {\"a\":{\"nested\":1}}\r\n", CHAT),
    );
    assert_eq!(resp.status, 400);
    assert_eq!(resp.code(), 2003);
    let message = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("cf-aig-metadata"), "{message}");
    assert!(up.saw_nothing());
    stop(server);
}

#[test]
fn custom_cost_overrides_the_price_table() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let header = "cf-aig-custom-cost: {\"per_token_in\":0.5,\"per_token_out\":0.25}\r\n";
    let entry = logged(&server, &send(&server, &post(PATH, header, CHAT)));
    assert!(
        close_to(&entry["cost"], 12.0 * 0.5 + 30.0 * 0.25),
        "{entry}"
    );
    assert_eq!(entry["custom_cost"], true);
    stop(server);
}

#[test]
fn gateway_collect_logs_off_writes_nothing_but_metrics_count() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "collect_logs = false");
    let resp = send(&server, &post(PATH, "", CHAT));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("cf-aig-log-id"), None);
    // The worker counts the request and would queue its entry in the same step.
    let line = "sluice_requests_total{gateway=\"default\",provider=\"mock\",status_class=\"2xx\",cache=\"none\"} 1";
    metrics_with(&server, line);
    let list = admin(&server, "/api/v1/gateways/default/logs").json();
    assert_eq!(logged_count(&list), Some(0), "{list}");
    stop(server);
}

/// The value of an unlabelled counter in a scrape.
fn counter(server: &Server, name: &str) -> u64 {
    let text = get(admin_addr(server), "/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// Another connection holds the database's write lock, so the writer is stuck: entries
/// beyond the queue are dropped and counted, and every request is still answered while it
/// is stuck. Once the lock goes, each request is either logged or counted as dropped.
#[test]
fn a_burst_that_outruns_the_writer_is_dropped_and_counted_without_blocking() {
    const BURST: u64 = 50;
    const QUEUE: u64 = 4;
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_queue(&up, dir.path(), "", QUEUE as usize);
    let lock = rusqlite::Connection::open(dir.path().join("logs.db")).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut client = common::Client::connect(server.local_addrs()[0]);
    for _ in 0..BURST {
        client.write(&post(PATH, "", CHAT));
        assert_eq!(client.response().status, 200);
    }
    // The writer holds at most one batch (what was queued when it woke) plus a full queue.
    let dropped = "sluice_log_entries_dropped_total";
    eventually("entries dropped", || {
        (counter(&server, dropped) >= BURST - 2 * QUEUE - 1).then_some(())
    });
    lock.execute_batch("ROLLBACK").unwrap();
    let all = eventually("every request logged or dropped", || {
        let list = admin(&server, "/api/v1/gateways/default/logs").json();
        let logged = logged_count(&list)?;
        (logged + counter(&server, dropped) == BURST).then_some(logged)
    });
    assert!((1..=2 * QUEUE + 1).contains(&all), "{all} logged");
    stop(server);
}

#[test]
fn restart_keeps_the_logs() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let resp = send(&server, &post(PATH, "", CHAT));
    let id = resp.header("cf-aig-log-id").unwrap().to_string();
    logged(&server, &resp);
    stop(server);
    let server = start(&up, dir.path(), "");
    let answer = admin(&server, &format!("/api/v1/gateways/default/logs/{id}"));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["result"]["tokens_out"].as_u64(), Some(30));
    stop(server);
}

#[test]
fn cache_hit_is_logged_as_cached_with_its_own_ids() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "cache_ttl_s = 60");
    let mut client = common::Client::connect(server.local_addrs()[0]);
    client.write(&post(PATH, "", CHAT));
    let miss = client.response();
    client.write(&post(PATH, "cf-aig-event-id: again\r\n", CHAT));
    let hit = client.response();
    assert_eq!(miss.header("cf-aig-cache-status"), Some("MISS"));
    assert_eq!(hit.header("cf-aig-cache-status"), Some("HIT"));
    assert_eq!(hit.body, COMPLETION.as_bytes());
    assert_eq!(hit.header("cf-aig-event-id"), Some("again"));
    assert_ne!(hit.header("cf-aig-log-id"), miss.header("cf-aig-log-id"));
    let (first, second) = (logged(&server, &miss), logged(&server, &hit));
    assert_eq!(
        (first["cached"].as_bool(), second["cached"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(
        second["tokens_out"].as_u64(),
        Some(30),
        "usage read from the stored body"
    );
    assert_eq!(second["provider"], "mock");
    metrics_with(
        &server,
        "sluice_requests_total{gateway=\"default\",provider=\"mock\",status_class=\"2xx\",cache=\"hit\"} 1",
    );
    stop(server);
}

/// A translated answer is logged as the upstream sent it: text that the forced JSON
/// tool's translation leaves out of the client's content is still in the stored body.
#[test]
fn a_translated_answer_is_logged_as_the_upstream_sent_it() {
    let message: &[u8] = include_bytes!(
        "fixtures/translate/response-format/message-json-tool-with-text.anthropic.json"
    );
    let up = Upstream::start(move |_, w| {
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            message.len()
        );
        let _ = w.write_all(message);
        After::KeepAlive
    });
    let dir = tempfile::tempdir().unwrap();
    let anthropic = format!(
        "[provider.anthropic]\nbase_url = \"http://{}\"\nkeys = {{ default = \"sk-ant\" }}\n",
        up.addr
    );
    let server = start(&up, dir.path(), &anthropic);
    let body = r#"{"model":"anthropic/claude-x","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = send(&server, &post(PATH, "", body));
    assert_eq!(resp.status, 200);
    let client: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        client["choices"][0]["message"]["content"],
        r#"{"city":"Paris"}"#
    );
    let entry = logged(&server, &resp);
    assert_eq!(
        (entry["tokens_in"].as_u64(), entry["tokens_out"].as_u64()),
        (Some(40), Some(12))
    );
    let id = entry["id"].as_str().unwrap();
    let stored = admin(
        &server,
        &format!("/api/v1/gateways/default/logs/{id}/response"),
    );
    assert_eq!(stored.body, message);
    stop(server);
}

#[test]
fn translated_stream_is_logged_with_the_providers_usage() {
    let up = Upstream::start(|_, w| {
        let body = include_bytes!("fixtures/anthropic/stream-text.sse");
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let _ = w.write_all(body);
        After::KeepAlive
    });
    let dir = tempfile::tempdir().unwrap();
    let anthropic = format!(
        "[provider.anthropic]\nbase_url = \"http://{}\"\nkeys = {{ default = \"sk-ant\" }}\n",
        up.addr
    );
    let server = start(&up, dir.path(), &anthropic);
    let body = r#"{"model":"anthropic/claude-x","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = send(&server, &post(PATH, "", body));
    assert_eq!(resp.status, 200);
    assert!(resp.complete);
    let entry = logged(&server, &resp);
    assert_eq!(
        (entry["provider"].as_str(), entry["stream"].as_bool()),
        (Some("anthropic"), Some(true))
    );
    assert_eq!(
        (entry["model"].as_str(), entry["upstream_model"].as_str()),
        (Some("anthropic/claude-x"), Some("claude-x"))
    );
    assert_eq!(
        (entry["tokens_in"].as_u64(), entry["tokens_out"].as_u64()),
        (Some(10), Some(4))
    );
    stop(server);
}

#[test]
fn a_request_the_gateway_answers_itself_is_logged_under_its_id() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), "");
    let resp = send(&server, b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(resp.status, 200);
    let entry = logged(&server, &resp);
    assert_eq!(
        (entry["status"].as_u64(), entry["path"].as_str()),
        (Some(200), Some("/v1/models")),
        "{entry}"
    );
    assert!(up.saw_nothing());
}

#[test]
fn log_max_bytes_keeps_the_newest_entries_whose_bodies_fit() {
    const ANSWER: &str =
        r#"{"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#;
    let up = Upstream::start(|_, w| {
        write_json(w, 200, ANSWER);
        After::KeepAlive
    });
    let dir = tempfile::tempdir().unwrap();
    let request = format!(
        r#"{{"model":"mock/gpt-4o-mini","pad":"{}"}}"#,
        "p".repeat(400)
    );
    let per_entry = request.len() + ANSWER.len();
    // Room for three entries' bodies, not four.
    let server = start(
        &up,
        dir.path(),
        &format!("log_max_bytes = {}", 3 * per_entry + 10),
    );
    let ids: Vec<String> = (0..6)
        .map(|_| {
            let resp = send(&server, &post("/v1/chat/completions", "", &request));
            assert_eq!(resp.status, 200, "{}", resp.text());
            logged(&server, &resp)["id"].as_str().unwrap().to_string()
        })
        .collect();
    let list = admin(&server, "/api/v1/gateways/default/logs?direction=asc").json();
    let kept: Vec<&str> = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        kept,
        ids[3..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let target = format!("/api/v1/gateways/default/logs/{}/request", ids[5]);
    assert_eq!(admin(&server, &target).body, request.as_bytes());
}
