//! Spend limits and cost `rate` elements through a real gateway: requests are charged
//! their cost once the usage is known (JSON and streamed), refused once the budget is
//! spent (429 2013 with rule, spent, limit and Retry-After), and a restart keeps it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;

use admin_support::get;
use common::*;
use sluice::config::Settings;
use sluice::server::Server;
use std::path::Path;
use std::sync::Arc;

/// $0.003 a request: 1000 tokens in at $1e-6 and 1000 out at $2e-6 (the price table below).
const COST: f64 = 0.003;

/// Answers every model with usage of 1000 tokens each way; a stream for `"stream": true`.
fn upstream() -> Upstream {
    Upstream::start(|seen, w| {
        let model = seen.model();
        let body = String::from_utf8_lossy(&seen.body).into_owned();
        if body.contains(r#""stream":true"#) {
            let events = format!(
                "data: {{\"model\":\"{model}\",\"choices\":[{{\"delta\":{{\"content\":\"hi\"}}}}]}}\n\n\
                 data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":1000,\"completion_tokens\":1000,\"total_tokens\":2000}}}}\n\n\
                 data: [DONE]\n\n"
            );
            write!(
                w,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{events}",
                events.len()
            )
            .unwrap();
        } else {
            let json = format!(
                r#"{{"answered_by":"{model}","usage":{{"prompt_tokens":1000,"completion_tokens":1000,"total_tokens":2000}}}}"#
            );
            write_json(w, 200, &json);
        }
        After::KeepAlive
    })
}

/// An observed gateway (log, admin, `data_dir`) with `gateway_toml` under its one gateway.
fn start(up: &Upstream, data_dir: &Path, gateway_toml: &str) -> Server {
    let toml = format!(
        "[provider.openai]\nbase_url = \"http://{}/v1\"\nkeys = {{ default = \"sk-stored\" }}\n\
         [price.openai]\n\"main\" = {{ in = 1e-6, out = 2e-6 }}\n\"spare\" = {{ in = 1e-6, out = 2e-6 }}\n\
         [[gateway]]\nid = \"default\"\n{gateway_toml}\n",
        up.addr
    );
    let mut settings = Settings::from_toml_str(&toml, "spend test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.server.workers = 2;
    settings.server.data_dir = data_dir.to_string_lossy().into_owned();
    Server::start_observed(Arc::new(settings)).unwrap()
}

fn stop(server: Server) {
    server.shutdown();
    server.join();
}

/// One request on `client` (a keep-alive connection: each request is charged before the
/// next one on it is read, so the sequence is exact).
fn ask(client: &mut Client, model: &str, user: &str, stream: bool) -> Response {
    let body = format!(
        r#"{{"model":"{model}","stream":{stream},"messages":[{{"role":"user","content":"hi"}}]}}"#
    );
    let header = format!("cf-aig-metadata: {{\"user\":\"{user}\"}}\r\n");
    client.write(&post("/v1/chat/completions", &header, &body));
    client.response()
}

const DAILY: &str = r#"spend_limits = { enabled = true, rules = [
  { id = "per-user", limit = 0.007, limitType = "cost", window = 86400, technique = "sliding",
    metadata = { user = { mode = "partition" } } },
  { id = "spare-only", limit = 0.001, limitType = "cost", window = 86400,
    model = { mode = "filter", values = ["openai/spare"] } },
] }"#;

#[test]
fn a_spend_rule_refuses_once_spent_per_user_and_survives_a_restart() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&up, dir.path(), DAILY);
    let mut a = Client::connect(server.local_addrs()[0]);
    // 0.003, 0.006: below 0.007, admitted (a streamed one among them); 0.009 then.
    assert_eq!(ask(&mut a, "openai/main", "a", false).status, 200);
    let streamed = ask(&mut a, "openai/main", "a", true);
    assert_eq!(streamed.status, 200);
    assert!(streamed.text().contains("[DONE]"), "{}", streamed.text());
    assert_eq!(ask(&mut a, "openai/main", "a", false).status, 200);
    let refused = ask(&mut a, "openai/main", "a", false);
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.code(), 2013);
    let error = &refused.json()["error"];
    assert_eq!(error["message"], "Spending limit exceeded");
    assert_eq!(error["rule"], "per-user");
    assert!(
        (error["spent"].as_f64().unwrap() - 3.0 * COST).abs() < 1e-9,
        "{error}"
    );
    assert_eq!(error["limit"], 0.007);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400 + 1440).contains(&wait), "{wait}");
    assert_eq!(
        up.drain_seen().len(),
        3,
        "the refused request reached no upstream"
    );
    // Another user has a budget of their own; the filtered rule counts only `spare`.
    let mut b = Client::connect(server.local_addrs()[0]);
    assert_eq!(ask(&mut b, "openai/main", "b", false).status, 200);
    assert_eq!(ask(&mut b, "openai/spare", "b", false).status, 200);
    let spare = ask(&mut b, "openai/spare", "b", false);
    assert_eq!(
        spare.json()["error"]["rule"],
        "spare-only",
        "{}",
        spare.text()
    );
    let metrics = get(server.admin_addr().unwrap(), "/metrics").text();
    let gauge = metrics
        .lines()
        .find(|l| l.starts_with("sluice_spend_usd{gateway=\"default\",rule=\"per-user\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    let usd: f64 = gauge.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((usd - 5.0 * COST).abs() < 1e-9, "{gauge}");
    drop((a, b));
    stop(server);

    // A restart reads the spend back: user a is still over budget.
    let server = start(&up, dir.path(), DAILY);
    let mut a = Client::connect(server.local_addrs()[0]);
    let again = ask(&mut a, "openai/main", "a", false);
    assert_eq!(again.status, 429, "{}", again.text());
    assert_eq!(again.json()["error"]["rule"], "per-user");
    let mut c = Client::connect(server.local_addrs()[0]);
    assert_eq!(ask(&mut c, "openai/main", "c", false).status, 200);
    drop((a, c));
    stop(server);
}

const BUDGETED: &str = r#"[
  {"id": "start", "type": "start", "outputs": {"next": {"elementId": "budget"}}},
  {"id": "budget", "type": "rate",
   "properties": {"key": "metadata.user", "limit": 0.005, "window": 86400, "limitType": "cost", "technique": "fixed"},
   "outputs": {"success": {"elementId": "main"}, "fallback": {"elementId": "spare"}}},
  {"id": "main", "type": "model", "properties": {"provider": "openai", "model": "main"},
   "outputs": {"success": {"elementId": "end"}}},
  {"id": "spare", "type": "model", "properties": {"provider": "openai", "model": "spare"},
   "outputs": {"success": {"elementId": "end"}}},
  {"id": "end", "type": "end", "outputs": {}}
]"#;

fn route_toml(dir: &Path, fallback: bool) -> String {
    let mut elements: serde_json::Value = serde_json::from_str(BUDGETED).unwrap();
    if !fallback {
        let outputs = elements[1]["outputs"].as_object_mut().unwrap();
        outputs.remove("fallback");
    }
    let file = dir.join("budgeted.json");
    std::fs::write(&file, elements.to_string()).unwrap();
    format!(
        "[[gateway.route]]\nname = \"budgeted\"\nfile = \"{}\"\n",
        file.display()
    )
}

#[test]
fn a_cost_bucket_takes_its_fallback_once_spent_and_keeps_its_spend_across_a_restart() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let toml = route_toml(dir.path(), true);
    let server = start(&up, dir.path(), &toml);
    let mut a = Client::connect(server.local_addrs()[0]);
    let answered = |r: &Response| r.header("cf-aig-model").unwrap_or_default().to_string();
    // 0.003 spent after the first, 0.006 after the second (a stream): then the fallback.
    assert_eq!(
        answered(&ask(&mut a, "dynamic/budgeted", "a", false)),
        "main"
    );
    assert_eq!(
        answered(&ask(&mut a, "dynamic/budgeted", "a", true)),
        "main"
    );
    let over = ask(&mut a, "dynamic/budgeted", "a", false);
    assert_eq!(over.body, br#"{"answered_by":"spare","usage":{"prompt_tokens":1000,"completion_tokens":1000,"total_tokens":2000}}"#);
    let mut b = Client::connect(server.local_addrs()[0]);
    assert_eq!(
        answered(&ask(&mut b, "dynamic/budgeted", "b", false)),
        "main"
    );
    drop((a, b));
    stop(server);

    // Without the fallback, after a restart: 429 2013 for user a, still.
    let toml = route_toml(dir.path(), false);
    let server = start(&up, dir.path(), &toml);
    let mut a = Client::connect(server.local_addrs()[0]);
    let refused = ask(&mut a, "dynamic/budgeted", "a", false);
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.code(), 2013);
    assert!(refused.header("retry-after").is_some());
    assert!(refused.text().contains("budget"), "{}", refused.text());
    drop(a);
    stop(server);
}
