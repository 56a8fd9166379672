//! Dynamic routes (`"model": "dynamic/NAME"`) through a real gateway: a conditional on
//! metadata and on the body, a sticky split, a model's fallback, each provider's own key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;

use common::*;

/// Answers 503 for model `down`, else 200 naming the model it got.
fn upstream() -> Upstream {
    Upstream::start(|seen, w| {
        let model = seen.model();
        match model.as_str() {
            "down" => write_json(w, 503, r#"{"error":{"message":"down"}}"#),
            _ => write_json(w, 200, &format!(r#"{{"answered_by":"{model}"}}"#)),
        }
        After::KeepAlive
    })
}

const ROUTE: &str = r#"{"name": "support", "id": "exported-id", "version": "3", "elements": [
  {"id": "start", "type": "start", "outputs": {"next": {"elementId": "plan"}}},
  {"id": "plan", "type": "conditional",
   "properties": {"conditions": {"$or": [{"metadata.plan": "free"}, {"body.max_tokens": {"$lte": 16}}, {"body.metadata.tier": "trial"}]}},
   "outputs": {"true": {"elementId": "small"}, "false": {"elementId": "split"}}},
  {"id": "split", "type": "percentage", "properties": {"key": "metadata.user"},
   "outputs": {"50%": {"elementId": "big"}, "else": {"elementId": "other"}}},
  {"id": "small", "type": "model", "properties": {"provider": "openai", "model": "mini"},
   "outputs": {"success": {"elementId": "end"}}},
  {"id": "big", "type": "model", "properties": {"provider": "openai", "model": "down", "retries": 0},
   "outputs": {"success": {"elementId": "end"}, "fallback": {"elementId": "small"}}},
  {"id": "other", "type": "model", "properties": {"provider": "groq", "model": "other"},
   "outputs": {"success": {"elementId": "end"}}},
  {"id": "end", "type": "end", "outputs": {}}
]}"#;

/// Two providers on these upstreams and the `support` route, written into `dir`.
fn support_toml(first: &Upstream, second: &Upstream, dir: &std::path::Path) -> String {
    std::fs::write(dir.join("support.json"), ROUTE).unwrap();
    format!(
        "[provider.openai]\nbase_url = \"http://{}/v1\"\nkeys = {{ default = \"sk-first\" }}\n\
         [provider.groq]\nbase_url = \"http://{}/openai/v1\"\nkeys = {{ default = \"gsk-second\" }}\n\
         [[gateway]]\nid = \"default\"\n\
         [[gateway.route]]\nname = \"support\"\nfile = \"{}\"\n",
        first.addr,
        second.addr,
        dir.join("support.json").display()
    )
}

fn gateway(first: &Upstream, second: &Upstream, dir: &std::path::Path) -> Gateway {
    Gateway::start(&support_toml(first, second, dir))
}

fn send(gw: &Gateway, metadata: &str, max_tokens: u32) -> Response {
    let header = match metadata {
        "" => String::new(),
        m => format!("cf-aig-metadata: {m}\r\n"),
    };
    let body = format!(
        r#"{{"model":"dynamic/support","max_tokens":{max_tokens},"messages":[{{"role":"user","content":"hi"}}]}}"#
    );
    gw.send(&post(
        "/v1/chat/completions",
        &format!("{header}authorization: Bearer sk-client-SECRET\r\n"),
        &body,
    ))
}

#[test]
fn conditions_read_metadata_and_the_body() {
    let (first, second) = (upstream(), upstream());
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&first, &second, dir.path());
    let free = send(&gw, r#"{"plan":"free"}"#, 100);
    assert_eq!(free.body, br#"{"answered_by":"mini"}"#);
    assert_eq!(free.header("cf-aig-model"), Some("mini"));
    assert_eq!(free.header("cf-aig-provider"), Some("openai"));
    assert_eq!(
        first.next_request().header("authorization"),
        Some("Bearer sk-first")
    );
    let short = send(&gw, r#"{"plan":"paid","user":"u"}"#, 10);
    assert_eq!(short.body, br#"{"answered_by":"mini"}"#);
    // A nested body field, read from the one scan (the conversation before it skipped).
    let body = r#"{"messages":[{"role":"user","content":"tier: trial"}],"model":"dynamic/support",
        "max_tokens":100,"metadata":{"note":{"tier":"x"},"tier":"trial"}}"#;
    let header = "cf-aig-metadata: {\"plan\":\"paid\",\"user\":\"u\"}\r\n";
    first.drain_seen();
    let nested = gw.send(&post("/v1/chat/completions", header, body));
    assert_eq!(
        nested.body,
        br#"{"answered_by":"mini"}"#,
        "{}",
        nested.text()
    );
    // Straight to `small`: not through the split (whose `big` would have been tried).
    let tried: Vec<String> = first.drain_seen().iter().map(Seen::model).collect();
    assert_eq!(tried, ["mini"]);
    assert!(second.saw_nothing());
}

#[test]
fn a_sticky_split_sends_each_user_one_way_and_a_failing_model_falls_back() {
    let (first, second) = (upstream(), upstream());
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&first, &second, dir.path());
    let mut seen_other = false;
    let mut seen_fallback = false;
    for user in 0..20 {
        let metadata = format!(r#"{{"plan":"paid","user":"user-{user}"}}"#);
        let once = send(&gw, &metadata, 100);
        let again = send(&gw, &metadata, 100);
        assert_eq!(once.status, 200, "{}", once.text());
        assert_eq!(once.body, again.body, "user-{user} moved");
        match once.body.as_slice() {
            // `big` (model `down`) answered 503 and its fallback `small` took over.
            br#"{"answered_by":"mini"}"# => seen_fallback = true,
            br#"{"answered_by":"other"}"# => {
                seen_other = true;
                assert_eq!(once.header("cf-aig-provider"), Some("groq"));
            }
            other => panic!("{}", String::from_utf8_lossy(other)),
        }
    }
    assert!(seen_other && seen_fallback, "20 users all went one way");
    let tried: Vec<String> = first.drain_seen().iter().map(Seen::model).collect();
    assert!(tried.contains(&"down".to_string()), "{tried:?}");
    for seen in second.drain_seen() {
        assert_eq!(seen.header("authorization"), Some("Bearer gsk-second"));
    }
}

#[test]
fn an_unknown_route_is_400_2008() {
    let (first, second) = (upstream(), upstream());
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&first, &second, dir.path());
    let body = r#"{"model":"dynamic/nosuch","messages":[]}"#;
    let resp = gw.send(&post("/v1/chat/completions", "", body));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.code(), 2008);
    assert!(resp.text().contains("support"), "{}", resp.text());
}

const LIMITED: &str = r#"[
  {"id": "start", "type": "start", "outputs": {"next": {"elementId": "per-user"}}},
  {"id": "per-user", "type": "rate",
   "properties": {"key": "metadata.user", "limit": 3, "window": 3600, "limitType": "count", "technique": "fixed"},
   "outputs": {"success": {"elementId": "main"}, "fallback": {"elementId": "spare"}}},
  {"id": "main", "type": "model", "properties": {"provider": "openai", "model": "main"},
   "outputs": {"success": {"elementId": "end"}}},
  {"id": "spare", "type": "model", "properties": {"provider": "openai", "model": "spare"},
   "outputs": {"success": {"elementId": "end"}}},
  {"id": "end", "type": "end", "outputs": {}}
]"#;

fn limited_gateway(up: &Upstream, dir: &std::path::Path, fallback: bool) -> Gateway {
    let mut elements: serde_json::Value = serde_json::from_str(LIMITED).unwrap();
    if !fallback {
        elements[1]["outputs"]
            .as_object_mut()
            .unwrap()
            .remove("fallback");
    }
    std::fs::write(dir.join("limited.json"), elements.to_string()).unwrap();
    Gateway::start(&format!(
        "[provider.openai]\nbase_url = \"http://{}/v1\"\nkeys = {{ default = \"sk-first\" }}\n\
         [[gateway]]\nid = \"default\"\n\
         [[gateway.route]]\nname = \"limited\"\nfile = \"{}\"\n",
        up.addr,
        dir.join("limited.json").display()
    ))
}

fn limited(gw: &Gateway, user: &str) -> Response {
    let body = r#"{"model":"dynamic/limited","messages":[{"role":"user","content":"hi"}]}"#;
    let header = format!("cf-aig-metadata: {{\"user\":\"{user}\"}}\r\n");
    gw.send(&post("/v1/chat/completions", &header, body))
}

#[test]
fn a_count_bucket_is_exact_across_workers_per_key_then_takes_the_fallback() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let gw = limited_gateway(&up, dir.path(), true);
    // Twelve requests of one user at once, over both workers' connections.
    let answers: Vec<Vec<u8>> = std::thread::scope(|s| {
        let sent: Vec<_> = (0..12)
            .map(|_| s.spawn(|| limited(&gw, "a").body))
            .collect();
        sent.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let main = answers
        .iter()
        .filter(|b| b.as_slice() == br#"{"answered_by":"main"}"#)
        .count();
    let spare = answers
        .iter()
        .filter(|b| b.as_slice() == br#"{"answered_by":"spare"}"#)
        .count();
    assert_eq!((main, spare), (3, 9), "exactly the limit went to main");
    // Another user has a bucket of their own.
    assert_eq!(limited(&gw, "b").body, br#"{"answered_by":"main"}"#);
}

#[test]
fn over_a_bucket_without_fallback_is_429_2012_with_retry_after() {
    let up = upstream();
    let dir = tempfile::tempdir().unwrap();
    let gw = limited_gateway(&up, dir.path(), false);
    for _ in 0..3 {
        assert_eq!(limited(&gw, "a").status, 200);
    }
    let refused = limited(&gw, "a");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.code(), 2012);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert_eq!(
        up.drain_seen().len(),
        3,
        "the refused request reached no upstream"
    );
}

/// The request log records the route, its version and the elements each request passed.
#[test]
fn the_log_records_route_version_and_path_and_filters_by_route() {
    use sluice::config::Settings;
    use sluice::server::Server;
    use std::sync::Arc;
    let (first, second) = (upstream(), upstream());
    let dir = tempfile::tempdir().unwrap();
    let toml = support_toml(&first, &second, dir.path());
    let mut settings = Settings::from_toml_str(&toml, "route log test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.server.data_dir = dir.path().join("data").to_string_lossy().into_owned();
    let server = Server::start_observed(Arc::new(settings)).unwrap();
    let mut client = Client::connect(server.local_addrs()[0]);
    let mut routed = 0;
    let mut ask = |metadata: &str| {
        routed += 1;
        let body = r#"{"model":"dynamic/support","max_tokens":100,"messages":[]}"#;
        let header = format!("cf-aig-metadata: {metadata}\r\n");
        client.write(&post("/v1/chat/completions", &header, body));
        client.response()
    };
    let free = ask(r#"{"plan":"free"}"#);
    assert_eq!(free.status, 200);
    // A paid user whose split lands on `big` (which fails and falls back to `small`).
    let fell_back = (0..50)
        .map(|u| ask(&format!(r#"{{"plan":"paid","user":"u{u}"}}"#)))
        .find(|r| r.body == br#"{"answered_by":"mini"}"#)
        .expect("some user lands on big");
    let mut direct = Client::connect(server.local_addrs()[0]);
    let body = r#"{"model":"openai/mini","messages":[]}"#;
    direct.write(&post("/v1/chat/completions", "", body));
    let plain = direct.response();
    assert_eq!(plain.status, 200);
    server.flush_logs().unwrap();
    let admin = server.admin_addr().unwrap();
    let entry = |resp: &Response| {
        let id = resp.header("cf-aig-log-id").unwrap();
        admin_support::get(admin, &format!("/api/v1/gateways/default/logs/{id}")).json()["result"]
            .clone()
    };
    let free = entry(&free);
    assert_eq!(free["route"], "support");
    assert_eq!(free["route_version"].as_str().map(str::len), Some(12));
    assert_eq!(
        free["route_path"],
        serde_json::json!(["start", "plan", "small", "end"])
    );
    assert_eq!(
        entry(&fell_back)["route_path"],
        serde_json::json!(["start", "plan", "split", "big", "small", "end"])
    );
    let plain = entry(&plain);
    assert!(
        plain["route"].is_null() && plain["route_path"].is_null(),
        "{plain}"
    );
    let listed = admin_support::get(
        admin,
        "/api/v1/gateways/default/logs?route=support&per_page=100",
    );
    let listed = listed.json();
    let routes: Vec<&serde_json::Value> = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["route"])
        .collect();
    assert!(routes.iter().all(|r| *r == "support"), "{listed}");
    assert_eq!(routes.len(), routed, "every routed request and only those");
    drop((client, direct));
    server.shutdown();
    server.join();
}

/// The hosted rule: a stream succeeds once it starts. A model whose 200 head comes but
/// whose body does not within its `timeout` takes the fallback; the client gets only the
/// fallback's stream, byte for byte.
#[test]
fn a_stream_that_does_not_start_within_its_timeout_falls_back_byte_exact() {
    const SSE: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";
    let (release, stalled) = std::sync::mpsc::channel::<()>();
    let stalled = std::sync::Mutex::new(stalled);
    let first = Upstream::start(move |_, w| {
        w.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            .unwrap();
        w.flush().unwrap();
        // Holds the stream open, sending nothing, until the test ends.
        let _ = stalled.lock().unwrap().recv_timeout(WAIT);
        After::Close
    });
    let second = Upstream::start(|_, w| {
        write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{SSE}",
            SSE.len()
        )
        .unwrap();
        After::KeepAlive
    });
    let route = r#"[
      {"id": "start", "type": "start", "outputs": {"next": {"elementId": "slow"}}},
      {"id": "slow", "type": "model", "properties": {"provider": "openai", "model": "slow", "timeout": 300},
       "outputs": {"success": {"elementId": "end"}, "fallback": {"elementId": "fast"}}},
      {"id": "fast", "type": "model", "properties": {"provider": "groq", "model": "fast"},
       "outputs": {"success": {"elementId": "end"}}},
      {"id": "end", "type": "end", "outputs": {}}
    ]"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.json"), route).unwrap();
    let gw = Gateway::start(&format!(
        "[provider.openai]\nbase_url = \"http://{}/v1\"\nkeys = {{ default = \"sk-first\" }}\n\
         [provider.groq]\nbase_url = \"http://{}/openai/v1\"\nkeys = {{ default = \"gsk-second\" }}\n\
         [[gateway]]\nid = \"default\"\n[[gateway.route]]\nname = \"r\"\nfile = \"{}\"\n",
        first.addr,
        second.addr,
        dir.path().join("r.json").display()
    ));
    let body = r#"{"model":"dynamic/r","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = gw.send(&post("/v1/chat/completions", "", body));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("cf-aig-model"), Some("fast"));
    // The gateway asked for usage and strips the usage chunk: the stream is what the
    // fallback sent.
    assert_eq!(resp.text(), SSE);
    assert_eq!(first.next_request().model(), "slow");
    assert_eq!(second.next_request().model(), "fast");
    drop(release);
}
