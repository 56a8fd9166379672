//! Helpers of `tests/admin.rs`: an observed server on loopback and a temp
//! data_dir, a one-shot HTTP client, and sample log entries.
#![allow(dead_code)]

use serde_json::Value;
use sluice::config::Settings;
use sluice::observe::{LogEntry, LogId};
use sluice::server::Server;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(10);
pub const T0: i64 = 1_714_564_800_000; // 2024-05-01T12:00:00Z

pub fn start(data_dir: &Path, extra_server_toml: &str) -> Server {
    let toml = format!("[server]\nworkers = 2\n{extra_server_toml}\n");
    let mut settings = Settings::from_toml_str(&toml, "admin test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.server.data_dir = data_dir.to_string_lossy().into_owned();
    Server::start_observed(Arc::new(settings)).unwrap()
}

pub fn stop(server: Server) {
    server.shutdown();
    server.join();
}

pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection (`Connection: close`, so the body ends at EOF).
pub fn call(
    addr: SocketAddr,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: &str,
) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: admin\r\n{auth}Connection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    Answer {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

pub fn get(addr: SocketAddr, target: &str) -> Answer {
    call(addr, "GET", target, None, "")
}

/// The log id of sample entry `n` (a UUIDv7 of its millisecond, ending in `n`).
pub fn log_id(n: i64) -> String {
    let ms = T0 + n * 1000;
    format!("{:08x}-{:04x}-7000-8000-{n:012}", ms >> 16, ms & 0xffff)
}

pub fn entry(n: i64, gateway: &str) -> LogEntry {
    LogEntry {
        id: LogId::parse(&log_id(n)).unwrap(),
        event_id: Some(format!("event-{n}")),
        created_at: T0 + n * 1000,
        gateway: gateway.into(),
        provider: if n % 2 == 0 { "openai" } else { "anthropic" }.into(),
        // Even entries came through `/compat` (asked as `provider/model`), odd ones
        // through a native path (asked as sent).
        model: if n % 2 == 0 {
            "openai/gpt-4o-mini"
        } else {
            "claude-3-5-haiku"
        }
        .into(),
        upstream_model: if n % 2 == 0 {
            "gpt-4o-mini"
        } else {
            "claude-3-5-haiku"
        }
        .into(),
        path: "/v1/acct/gw/compat/chat/completions".into(),
        status: if n == 3 { 500 } else { 200 },
        success: n != 3,
        cached: n == 4,
        stream: n == 2,
        duration_ms: 100 + 10 * (n as u64 % 3),
        ttft_ms: Some(20),
        tokens_in: Some(n as u64),
        tokens_out: Some(10 * n as u64),
        cost: Some(0.25 * n as f64),
        custom_cost: false,
        metadata: format!(r#"{{"user":"u{}","tier":{}}}"#, n % 2, n),
        request_size: 100,
        response_size: 200,
        user_agent: "test".into(),
        // Entry 5 took a route.
        route: if n == 5 { "support" } else { "" }.into(),
        route_version: if n == 5 { "v1" } else { "" }.into(),
        route_path: if n == 5 {
            r#"["start","small","end"]"#
        } else {
            ""
        }
        .into(),
        access_token: String::new(),
        feedback: None,
        score: None,
        request_body: Some(format!(r#"{{"model":"m","n":{n}}}"#).into_bytes()),
        response_body: (n != 5).then(|| b"data: {\"x\":1}\n\ndata: [DONE]\n\n".to_vec()),
    }
}

/// Logs entries 1..=5 of gateway "default" and one of "other".
pub fn log_sample(server: &Server) {
    let sender = server.log_sender().unwrap();
    for n in 1..=5 {
        assert!(sender.try_log(entry(n, "default"), 1000));
    }
    assert!(sender.try_log(entry(9, "other"), 1000));
}

pub fn ids(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let id = e["id"].as_str().unwrap();
            id[id.len() - 3..].to_string()
        })
        .collect()
}

pub fn list(addr: SocketAddr, query: &str) -> Vec<String> {
    ids(&get(
        addr,
        &format!("/api/v1/gateways/default/logs?{query}"),
    ))
}
