//! The admin plane over loopback: probes and metrics, the bearer token, the logs
//! API over entries written through the server's `LogSender`, and restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;

use admin_support::*;
use sluice::config::Settings;
use sluice::server::Server;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

#[test]
fn probes_and_metrics_answer_and_readyz_follows_the_workers() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested/data");
    let server = start(&data_dir, "");
    assert!(
        data_dir.join("logs.db").exists(),
        "data_dir created with the log"
    );
    let admin = server.admin_addr().unwrap();
    assert_ne!(admin.port(), server.local_addrs()[0].port());

    let health = get(admin, "/healthz");
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = get(admin, "/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["workers"], 2);
    assert_eq!(ready.json()["accepting"], 2);

    let metrics = get(admin, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.head.contains("text/plain; version=0.0.4"),
        "{}",
        metrics.head
    );
    let text = metrics.text();
    for line in [
        "# TYPE sluice_requests_total counter",
        "# TYPE sluice_request_duration_seconds histogram",
        "sluice_request_duration_seconds_count 0",
        "sluice_upstream_idle_connections 0",
        "sluice_log_entries_dropped_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    log_sample(&server);
    server.flush_logs().unwrap();
    let text = get(admin, "/metrics").text();
    assert!(
        text.lines()
            .any(|l| l == "sluice_log_entries_written_total 6"),
        "{text}"
    );

    assert_eq!(call(admin, "POST", "/healthz", None, "").status, 405);
    let missing = get(admin, "/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["type"], "not_found_error");

    // Draining workers stop counting as ready while the admin plane still answers.
    server.shutdown();
    let deadline = Instant::now() + WAIT;
    loop {
        let ready = get(admin, "/readyz");
        if ready.status == 503 {
            assert_eq!(ready.json()["status"], "not ready");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readyz stayed 200 after shutdown"
        );
        std::thread::yield_now();
    }
    server.join();
    assert!(
        TcpStream::connect(admin).is_err(),
        "admin closed after join"
    );
}

#[test]
fn the_api_needs_the_admin_token_when_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "admin_token = \"adm-s3cret\"");
    let admin = server.admin_addr().unwrap();
    let logs = "/api/v1/gateways/default/logs";
    let none = call(admin, "GET", logs, None, "");
    assert_eq!(none.status, 401);
    assert_eq!(none.json()["error"]["type"], "authentication_error");
    assert!(none.head.contains("WWW-Authenticate: Bearer"));
    assert_eq!(call(admin, "GET", logs, Some("adm-s3cre"), "").status, 401);
    assert_eq!(
        call(admin, "GET", logs, Some("adm-s3cret!"), "").status,
        401
    );
    assert_eq!(call(admin, "DELETE", logs, Some("wrong"), "").status, 401);
    let ok = call(admin, "GET", logs, Some("adm-s3cret"), "");
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["totals"]["requests"], 0);
    // Probes and metrics stay open.
    assert_eq!(get(admin, "/healthz").status, 200);
    assert_eq!(get(admin, "/readyz").status, 200);
    assert_eq!(get(admin, "/metrics").status, 200);
    assert!(!get(admin, "/metrics").text().contains("adm-s3cret"));
    stop(server);
}

#[test]
fn a_read_token_reads_and_cannot_change_anything() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "admin_token = \"adm-edit\"\nadmin_tokens = [{ token = \"adm-read\", role = \"read\" }]",
    );
    let admin = server.admin_addr().unwrap();
    let logs = "/api/v1/gateways/default/logs";
    let gateways = "/client/v4/accounts/a/ai-gateway/gateways";
    assert_eq!(call(admin, "GET", logs, Some("adm-read"), "").status, 200);
    let listed = call(admin, "GET", gateways, Some("adm-read"), "");
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json()["result"][0]["id"], "default");
    let refused = call(admin, "DELETE", logs, Some("adm-read"), "");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["type"], "permission_error");
    let refused = call(admin, "POST", gateways, Some("adm-read"), r#"{"id":"g"}"#);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["success"], false);
    assert_eq!(refused.json()["errors"][0]["code"], 10000);
    let unknown = call(admin, "GET", gateways, None, "");
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.json()["errors"][0]["code"], 10000);
    // The edit token may change things: the gateway is made, then answers on the data plane.
    let made = call(admin, "POST", gateways, Some("adm-edit"), r#"{"id":"g"}"#);
    assert_eq!(made.status, 200, "{}", made.text());
    assert_eq!(made.json()["result"]["source"], "api");
    stop(server);
}

#[test]
fn with_no_admin_token_the_api_answers_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "[server]\nworkers = 1\n";
    let mut settings = sluice::config::Settings::from_toml_str(toml, "admin test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    // Every address, so not a loopback one; reached here through 127.0.0.1.
    settings.admin_listen = Some("0.0.0.0:0".parse().unwrap());
    settings.server.data_dir = dir.path().to_string_lossy().into_owned();
    let server = sluice::server::Server::start_observed(std::sync::Arc::new(settings)).unwrap();
    let port = server.admin_addr().unwrap().port();
    let admin: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let refused = get(admin, "/api/v1/gateways/default/logs");
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("loopback"), "{}", refused.text());
    assert_eq!(
        get(admin, "/client/v4/accounts/a/ai-gateway/gateways").status,
        403
    );
    assert_eq!(get(admin, "/healthz").status, 200);
    stop(server);

    // On loopback with no token: open.
    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    assert_eq!(get(admin, "/api/v1/gateways/default/logs").status, 200);
    stop(server);
}

#[test]
fn logs_list_filters_orders_pages_and_totals() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    log_sample(&server);

    // Newest first by default; only this gateway's entries.
    assert_eq!(list(admin, ""), ["005", "004", "003", "002", "001"]);
    assert_eq!(list(admin, "provider=openai"), ["004", "002"]);
    assert_eq!(list(admin, "model=claude-3-5-haiku"), ["005", "003", "001"]);
    // `model` is the model as asked; `upstream_model` as sent upstream.
    assert_eq!(list(admin, "model=openai%2Fgpt-4o-mini"), ["004", "002"]);
    assert!(list(admin, "model=gpt-4o-mini").is_empty());
    assert_eq!(list(admin, "upstream_model=gpt-4o-mini"), ["004", "002"]);
    assert_eq!(
        list(admin, "upstream_model=claude-3-5-haiku"),
        ["005", "003", "001"]
    );
    assert!(list(admin, "upstream_model=openai/gpt-4o-mini").is_empty());
    assert_eq!(list(admin, "stream=true"), ["002"]);
    assert_eq!(list(admin, "stream=false"), ["005", "004", "003", "001"]);
    assert!(list(admin, "stream=true&provider=anthropic").is_empty());
    let first = &get(admin, "/api/v1/gateways/default/logs?per_page=1").json()["result"][0];
    assert_eq!(
        (&first["model"], &first["upstream_model"]),
        (
            &serde_json::json!("claude-3-5-haiku"),
            &serde_json::json!("claude-3-5-haiku")
        )
    );
    assert_eq!(
        get(admin, "/api/v1/gateways/default/logs?stream=yes").status,
        400
    );
    assert_eq!(list(admin, "status=500"), ["003"]);
    assert_eq!(list(admin, "success=false"), ["003"]);
    assert_eq!(list(admin, "cached=true"), ["004"]);
    assert_eq!(
        list(
            admin,
            "start_date=2024-05-01T12:00:02Z&end_date=2024-05-01T12:00:04Z"
        ),
        ["003", "002"]
    );
    assert_eq!(
        list(admin, &format!("start_date={}", T0 + 4000)),
        ["005", "004"]
    );
    assert_eq!(list(admin, "metadata.user=u0"), ["004", "002"]);
    assert_eq!(list(admin, "metadata.tier=3"), ["003"]);
    assert_eq!(
        list(admin, "order=asc"),
        ["001", "002", "003", "004", "005"]
    );
    assert_eq!(
        list(admin, "order_by=cost&order=desc&per_page=2"),
        ["005", "004"]
    );
    assert_eq!(
        list(admin, "order_by=cost&order=desc&per_page=2&page=3"),
        ["001"]
    );

    let page = get(
        admin,
        "/api/v1/gateways/default/logs?provider=anthropic&per_page=2",
    );
    let body = page.json();
    assert_eq!(body["result_info"]["count"], 2);
    assert_eq!(body["result_info"]["total_count"], 3);
    assert_eq!(body["totals"]["requests"], 3);
    assert_eq!(body["totals"]["tokens_in"], 1 + 3 + 5);
    assert_eq!(body["totals"]["tokens_out"], 10 + 30 + 50);
    assert_eq!(body["totals"]["cost"], 2.25);
    let first = &body["result"][0];
    assert_eq!(first["created_at"], "2024-05-01T12:00:05.000Z");
    assert_eq!(first["metadata"]["tier"], 5);
    assert!(first.get("request_body").is_none());

    let bad = get(admin, "/api/v1/gateways/default/logs?status=fine");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["param"], "status");
    assert_eq!(
        get(admin, "/api/v1/gateways/default/logs?colour=red").status,
        400
    );
    let other = ids(&get(admin, "/api/v1/gateways/other/logs"));
    assert_eq!(other, ["009"]);
    stop(server);
}

#[test]
fn one_log_its_bodies_patch_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    log_sample(&server);
    let base = "/api/v1/gateways/default/logs";

    let one = get(admin, &format!("{base}/{}", log_id(2)));
    assert_eq!(one.status, 200, "{}", one.text());
    let shown = one.json()["result"].clone();
    assert_eq!(shown["event_id"], "event-2");
    assert_eq!(shown["stream"], true);
    assert_eq!(shown["request_body_stored"], true);
    // Another gateway's entry is not found through this gateway.
    assert_eq!(get(admin, &format!("{base}/{}", log_id(9))).status, 404);
    assert_eq!(get(admin, &format!("{base}/no-such-log")).status, 404);

    let request = get(admin, &format!("{base}/{}/request", log_id(2)));
    assert_eq!(request.status, 200);
    assert_eq!(request.body, br#"{"model":"m","n":2}"#);
    let response = get(admin, &format!("{base}/{}/response", log_id(2)));
    assert!(
        response.head.contains("text/event-stream"),
        "{}",
        response.head
    );
    assert_eq!(response.body, b"data: {\"x\":1}\n\ndata: [DONE]\n\n");
    let unstored = get(admin, &format!("{base}/{}/response", log_id(5)));
    assert_eq!(unstored.status, 404);

    let patched = call(
        admin,
        "PATCH",
        &format!("{base}/{}", log_id(2)),
        None,
        r#"{"feedback": -1, "score": 87.5, "metadata": {"team": "search", "n": 2}}"#,
    );
    assert_eq!(patched.status, 200, "{}", patched.text());
    let result = patched.json()["result"].clone();
    assert_eq!(result["feedback"], -1);
    assert_eq!(result["score"], 87.5);
    assert_eq!(
        result["metadata"],
        serde_json::json!({"team": "search", "n": 2})
    );
    let again = get(admin, &format!("{base}/{}", log_id(2))).json();
    assert_eq!(again["result"]["feedback"], -1);
    assert_eq!(list(admin, "metadata.team=search"), ["002"]);

    let path = format!("{base}/{}", log_id(2));
    for bad in [
        r#"{"feedback": 2}"#,
        r#"{"score": 101}"#,
        r#"{"metadata": {"nested": {"a": 1}}}"#,
        r#"{"rating": 1}"#,
        "not json",
    ] {
        assert_eq!(call(admin, "PATCH", &path, None, bad).status, 400, "{bad}");
    }
    let missing = call(
        admin,
        "PATCH",
        &format!("{base}/nope"),
        None,
        r#"{"score": 1}"#,
    );
    assert_eq!(missing.status, 404);

    let deleted = call(
        admin,
        "DELETE",
        &format!("{base}?provider=anthropic&success=true"),
        None,
        "",
    );
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(deleted.json()["result"]["deleted"], 2);
    assert_eq!(list(admin, ""), ["004", "003", "002"]);
    assert_eq!(
        call(admin, "DELETE", &format!("{base}?page=1"), None, "").status,
        400
    );
    let all = call(admin, "DELETE", base, None, "");
    assert_eq!(all.json()["result"]["deleted"], 3);
    assert!(list(admin, "").is_empty());
    // Deleting one gateway's logs leaves the others'.
    assert_eq!(ids(&get(admin, "/api/v1/gateways/other/logs")).len(), 1);
    stop(server);
}

#[test]
fn an_unknown_gateway_is_404_2001_on_every_logs_route() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    log_sample(&server);
    let base = "/api/v1/gateways/nope/logs";
    let one = format!("{base}/{}", log_id(1));
    for (method, target, body) in [
        ("GET", base.to_string(), ""),
        ("DELETE", base.to_string(), ""),
        ("GET", one.clone(), ""),
        ("PATCH", one.clone(), r#"{"score": 1}"#),
        ("GET", format!("{one}/request"), ""),
        ("GET", format!("{one}/response"), ""),
        ("GET", format!("{base}?model=x"), ""),
    ] {
        let answer = call(admin, method, &target, None, body);
        assert_eq!(answer.status, 404, "{method} {target}: {}", answer.text());
        let error = answer.json()["error"].clone();
        assert_eq!(error["code"], 2001, "{method} {target}");
        assert_eq!(error["message"], "gateway \"nope\" not found");
    }
    // A configured gateway without entries is an empty list, not a 404.
    let empty = get(admin, "/api/v1/gateways/default/logs?provider=none");
    assert_eq!(empty.status, 200);
    // "other" is not configured, but its entries are still reachable (and deletable);
    // once they are gone, so is it.
    assert_eq!(ids(&get(admin, "/api/v1/gateways/other/logs")), ["009"]);
    let deleted = call(admin, "DELETE", "/api/v1/gateways/other/logs", None, "");
    assert_eq!(deleted.json()["result"]["deleted"], 1);
    let gone = get(admin, "/api/v1/gateways/other/logs");
    assert_eq!(
        (gone.status, gone.json()["error"]["code"].clone()),
        (404, 2001.into())
    );
    // Routes that do not exist stay plain 404s, and a wrong method 405.
    let no_route = get(admin, "/api/v1/gateways/nope/logs/a/b/c");
    assert_eq!(
        (no_route.status, no_route.json()["error"]["code"].clone()),
        (404, serde_json::Value::Null)
    );
    assert_eq!(
        call(admin, "PUT", "/api/v1/gateways/default/logs", None, "").status,
        405
    );
    stop(server);
}

#[test]
fn logs_survive_a_restart_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    log_sample(&server);
    // No flush: join must write what is queued.
    stop(server);

    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    assert_eq!(list(admin, ""), ["005", "004", "003", "002", "001"]);
    let request = get(
        admin,
        &format!("/api/v1/gateways/default/logs/{}/request", log_id(1)),
    );
    assert_eq!(request.body, br#"{"model":"m","n":1}"#);
    stop(server);
}

#[test]
fn a_data_dir_that_cannot_be_created_fails_startup_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let data_dir = file.join("data");
    let toml = "[server]\nworkers = 1\n";
    let mut settings = Settings::from_toml_str(toml, "admin test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.server.data_dir = data_dir.to_string_lossy().into_owned();
    let error = match Server::start_observed(Arc::new(settings)) {
        Ok(_) => panic!("started with an unusable data_dir"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains(&*data_dir.to_string_lossy()), "{error}");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    let mut stream = TcpStream::connect(admin).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    assert_eq!(raw.matches("HTTP/1.1 200 OK").count(), 2, "{raw}");
    let mut garbage = TcpStream::connect(admin).unwrap();
    garbage.set_read_timeout(Some(WAIT)).unwrap();
    garbage.write_all(b"NOT HTTP\r\n\r\n").unwrap();
    let mut answer = String::new();
    garbage.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    stop(server);
}
