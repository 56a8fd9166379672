//! The management API on a real gateway, beyond what the SDK test drives: what its settings
//! do on the data plane (an API gateway's cache, `cache_invalidate_on_update`), and how
//! the API's gateways and the config file's meet on a reload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;

use common::{config_for, post, write_json, After, Client, Upstream};
use sluice::config::Settings;
use sluice::server::Server;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const CHAT: &str = r#"{"model":"mock/m","messages":[{"role":"user","content":"hi"}]}"#;
const GATEWAYS: &str = "/client/v4/accounts/a/ai-gateway/gateways";

fn start(dir: &std::path::Path, upstream: &Upstream) -> Server {
    let mut settings = Settings::from_toml_str(&config_for(upstream, ""), "manage test").unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    settings.server.workers = 2;
    settings.server.data_dir = dir.to_string_lossy().into_owned();
    Server::start_observed(Arc::new(settings)).unwrap()
}

/// The cache status of one chat on gateway `team`, once it is live (the API publishes
/// before it answers; workers take it on their next tick, so this polls with a deadline).
fn cache_status(server: &Server) -> String {
    let deadline = std::time::Instant::now() + admin_support::WAIT;
    loop {
        let mut client = Client::connect(server.local_addrs()[0]);
        client.write(&post("/v1/a/team/compat/chat/completions", "", CHAT));
        let response = client.response();
        if response.status == 200 {
            return response
                .header("cf-aig-cache-status")
                .unwrap_or("none")
                .to_string();
        }
        assert!(std::time::Instant::now() < deadline, "{}", response.text());
    }
}

#[test]
fn an_api_gateways_cache_ttl_applies_and_an_update_can_invalidate_its_cache() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        write_json(w, 200, &format!("{{\"n\":{n}}}"));
        After::KeepAlive
    });
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &up);
    let admin = server.admin_addr().unwrap();
    let call =
        |method, path: &str, body: &str| admin_support::call(admin, method, path, None, body);
    let settings = |invalidate: bool| {
        format!(
            r#"{{"cache_ttl":60,"collect_logs":true,"cache_invalidate_on_update":{invalidate}}}"#
        )
    };
    let made = call(
        "POST",
        GATEWAYS,
        &settings(true).replacen('{', r#"{"id":"team","#, 1),
    );
    assert_eq!(made.status, 200, "{}", made.text());
    assert_eq!(cache_status(&server), "MISS");
    assert_eq!(cache_status(&server), "HIT");
    // Updated with cache_invalidate_on_update: what was cached is left behind.
    let updated = call("PUT", &format!("{GATEWAYS}/team"), &settings(true));
    assert_eq!(updated.status, 200, "{}", updated.text());
    // Polls with a deadline: until the new snapshot is live the old scope answers HIT.
    let deadline = std::time::Instant::now() + admin_support::WAIT;
    while cache_status(&server) != "MISS" {
        assert!(
            std::time::Instant::now() < deadline,
            "the cache was not invalidated"
        );
    }
    assert_eq!(cache_status(&server), "HIT");
    // Without it, an update keeps the cache (live or not yet, the scope is the same).
    let kept = call("PUT", &format!("{GATEWAYS}/team"), &settings(false));
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_eq!(cache_status(&server), "HIT");
    assert_eq!(count.load(Ordering::SeqCst), 2, "two misses went upstream");
    server.shutdown();
    server.join();
}

#[test]
fn a_reload_keeps_the_api_gateways_and_a_file_gateway_of_the_same_id_wins() {
    let up = Upstream::start(|_, w| {
        write_json(w, 200, r#"{"ok":true}"#);
        After::KeepAlive
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    let server_table = format!(
        "[server]\nworkers = 2\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n",
        dir.path().display()
    );
    std::fs::write(&path, format!("{server_table}{}", config_for(&up, ""))).unwrap();
    let mut settings = Settings::load(Some(&path)).unwrap();
    settings.listen = vec!["127.0.0.1:0".parse().unwrap()];
    settings.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::start_observed(Arc::new(settings)).unwrap();
    let admin = server.admin_addr().unwrap();
    let call =
        |method, path: &str, body: &str| admin_support::call(admin, method, path, None, body);
    for id in ["team", "other"] {
        let made = call(
            "POST",
            GATEWAYS,
            &format!(r#"{{"id":"{id}","cache_ttl":60}}"#),
        );
        assert_eq!(made.status, 200, "{}", made.text());
    }
    // The file now declares "team" itself (with another cache TTL).
    let file_team = "[[gateway]]\nid = \"team\"\ncache_ttl_s = 5\n";
    std::fs::write(
        &path,
        format!("{server_table}{}", config_for(&up, file_team)),
    )
    .unwrap();
    match sluice::live::reload_file(server.live(), Some(&path)) {
        sluice::live::ReloadOutcome::Applied { shadowed, .. } => assert_eq!(shadowed, ["team"]),
        refused => panic!("{refused:?}"),
    }
    let team = call("GET", &format!("{GATEWAYS}/team"), "").json();
    assert_eq!(team["result"]["source"], "config");
    assert_eq!(team["result"]["cache_ttl"], 5);
    let other = call("GET", &format!("{GATEWAYS}/other"), "").json();
    assert_eq!(
        other["result"]["source"], "api",
        "the reload kept the API's gateway"
    );
    let live = server.live().current();
    assert!(live.settings.gateway("other").is_some_and(|g| g.from_api));
    assert!(live.settings.gateway("team").is_some_and(|g| !g.from_api));
    assert_eq!(call("PUT", &format!("{GATEWAYS}/team"), "{}").status, 409);
    server.shutdown();
    server.join();
}
