//! The dashboard's side of the admin plane over loopback: the analytics endpoint over
//! entries written through the server's `LogSender`, the session probe and the assets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;

use admin_support::*;

fn analytics(addr: std::net::SocketAddr, query: &str) -> serde_json::Value {
    let answer = get(addr, &format!("/api/v1/gateways/default/analytics?{query}"));
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["result"].clone()
}

#[test]
fn analytics_buckets_totals_and_top_tables() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    log_sample(&server);
    // Entries 1..=5 are at T0 + n s: one minute, five entries.
    let range = format!("start_date={}&end_date={}", T0, T0 + 3 * 60_000);
    let result = analytics(
        admin,
        &format!("{range}&bucket=minute&group_by=provider,model,token,status&limit=1"),
    );
    assert_eq!(result["bucket"], "minute");
    assert_eq!(result["bucket_ms"], 60_000);
    let series = result["series"].as_array().unwrap();
    assert_eq!(series.len(), 3);
    assert_eq!(series[0]["requests"], 5);
    assert_eq!(series[1]["requests"], 0);
    assert_eq!(series[0]["start_ms"], T0);
    let totals = &result["totals"];
    assert_eq!(totals["requests"], 5);
    assert_eq!(totals["errors"], 1, "entry 3 is a 500");
    assert_eq!(totals["cached"], 1);
    assert_eq!(totals["cache_hit_rate"], 0.2);
    assert_eq!(totals["tokens_in"], 15);
    assert_eq!(totals["tokens_out"], 150);
    assert_eq!(totals["cost"], 3.75);
    assert_eq!(totals["duration_p50_ms"], 110);
    assert_eq!(totals["ttft_p99_ms"], 20);
    let providers = &result["groups"]["provider"];
    assert_eq!(providers["count"], 2);
    assert_eq!(providers["by_requests"][0]["key"], "anthropic", "3 of 5");
    assert_eq!(
        providers["by_requests"].as_array().unwrap().len(),
        1,
        "limit"
    );
    // Openai's entries 2 and 4 cost 1.5, anthropic's 1, 3 and 5 cost 2.25.
    assert_eq!(providers["by_cost"][0]["key"], "anthropic");
    assert_eq!(
        result["groups"]["token"]["by_requests"][0]["key"],
        serde_json::Value::Null
    );

    // The logs API's filters narrow it; the other gateway's entry never counts.
    let openai = analytics(admin, &format!("{range}&provider=openai&success=true"));
    assert_eq!(openai["totals"]["requests"], 2);
    assert_eq!(openai["groups"], serde_json::json!({}));
    let tokens = analytics(admin, &format!("{range}&access_token="));
    assert_eq!(tokens["totals"]["requests"], 5, "no token: \"\"");

    for (query, param) in [
        ("bucket=week", "bucket"),
        ("group_by=colour", "group_by"),
        ("colour=red", "colour"),
        ("start_date=10&end_date=5", "bucket"),
    ] {
        let answer = get(
            admin,
            &format!("/api/v1/gateways/default/analytics?{query}"),
        );
        assert_eq!(answer.status, 400, "{query}: {}", answer.text());
        assert_eq!(answer.json()["error"]["param"], param, "{query}");
    }
    let unknown = get(admin, "/api/v1/gateways/nope/analytics");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        call(
            admin,
            "POST",
            "/api/v1/gateways/default/analytics",
            None,
            ""
        )
        .status,
        405
    );
    stop(server);
}

#[test]
fn session_tells_the_role_and_assets_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "admin_token = \"edit-secret\"\nadmin_tokens = [{ token = \"read-secret\", role = \"read\" }]",
    );
    let admin = server.admin_addr().unwrap();
    let session = |token: Option<&str>| call(admin, "GET", "/api/v1/session", token, "");
    assert_eq!(session(None).status, 401);
    assert_eq!(session(Some("nope")).status, 401);
    let edit = session(Some("edit-secret")).json()["result"].clone();
    assert_eq!(
        (edit["role"].as_str(), edit["can_edit"].as_bool()),
        (Some("edit"), Some(true))
    );
    assert_eq!(edit["gateways"], serde_json::json!(["default"]));
    assert_eq!(edit["account_id"], "*");
    let read = session(Some("read-secret")).json()["result"].clone();
    assert_eq!(
        (read["role"].as_str(), read["can_edit"].as_bool()),
        (Some("read"), Some(false))
    );

    let spend = call(
        admin,
        "GET",
        "/api/v1/gateways/default/spend",
        Some("read-secret"),
        "",
    );
    assert_eq!(spend.status, 200, "{}", spend.text());
    assert_eq!(spend.json()["result"]["rules"], serde_json::json!([]));
    assert_eq!(
        call(
            admin,
            "GET",
            "/api/v1/gateways/nope/spend",
            Some("read-secret"),
            ""
        )
        .status,
        404
    );

    // The assets need no token (they hold no data) and load nothing from elsewhere.
    let index = get(admin, "/");
    assert_eq!(index.status, 200);
    assert!(index.head.contains("text/html"), "{}", index.head);
    assert!(
        index
            .head
            .contains("Content-Security-Policy: default-src 'self'"),
        "{}",
        index.head
    );
    assert!(index.text().contains("/dashboard/app.js"));
    for asset in [
        "/dashboard/app.js",
        "/dashboard/style.css",
        "/dashboard/overview.js",
    ] {
        assert_eq!(get(admin, asset).status, 200, "{asset}");
    }
    assert_eq!(get(admin, "/dashboard/missing.js").status, 404);
    assert_eq!(call(admin, "POST", "/", None, "").status, 405);
    stop(server);
}

#[test]
fn no_admin_token_on_loopback_is_an_open_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let admin = server.admin_addr().unwrap();
    let open = get(admin, "/api/v1/session").json()["result"].clone();
    assert_eq!(
        (open["role"].as_str(), open["can_edit"].as_bool()),
        (Some("open"), Some(true))
    );
    stop(server);
}

/// Routes the config file declares are shown read-only: listed with their elements and
/// the version that runs.
#[test]
fn config_file_routes_are_listed_with_their_elements() {
    let dir = tempfile::tempdir().unwrap();
    let route = serde_json::json!({"elements": [
        {"id": "start", "type": "start", "outputs": {"next": {"elementId": "m"}}},
        {"id": "m", "type": "model", "properties": {"provider": "openai", "model": "gpt-4o-mini"},
         "outputs": {"success": {"elementId": "end"}, "fallback": {"elementId": "end"}}},
        {"id": "end", "type": "end"}]});
    let file = dir.path().join("route.json");
    std::fs::write(&file, route.to_string()).unwrap();
    let extra = format!(
        "\n[[gateway]]\nid = \"filed\"\n[[gateway.route]]\nname = \"cheap\"\nfile = \"{}\"\n",
        file.display()
    );
    let server = start(dir.path(), &extra);
    let admin = server.admin_addr().unwrap();
    let answer = get(admin, "/api/v1/gateways/filed/config-routes");
    assert_eq!(answer.status, 200, "{}", answer.text());
    let routes = answer.json()["result"]["routes"].clone();
    assert_eq!(routes[0]["name"], "cheap", "{routes}");
    assert_eq!(routes[0]["elements"], route["elements"]);
    assert!(routes[0]["version"].is_string(), "{routes}");
    let none = get(admin, "/api/v1/gateways/default/config-routes");
    assert_eq!(none.json()["result"]["routes"], serde_json::json!([]));
    assert_eq!(
        get(admin, "/api/v1/gateways/nope/config-routes").status,
        404
    );
}
