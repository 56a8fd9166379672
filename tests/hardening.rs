//! Hostile input that once harmed the gateway: paths that would leave a provider's base
//! (every built-in provider, every form), client values that overflowed a timer, and
//! upstream framing broken before the client was sent anything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sluice::providers::builtin_providers;

/// Every built-in provider at `up`, keeping its own base path (placeholders filled in).
fn all_builtins_at(up: &Upstream) -> (String, Vec<(String, String)>) {
    let mut config = String::new();
    let mut bases = Vec::new();
    for p in builtin_providers() {
        let path = p.base.path.replace("{cf_account_id}", "acc");
        config += &format!(
            "[provider.{}]\nbase_url = \"http://{}{path}\"\nkeys = {{ default = \"k\" }}\n",
            p.slug, up.addr
        );
        bases.push((p.slug.clone(), path));
    }
    (config, bases)
}

const ESCAPES: [&str; 12] = [
    "/../../x",
    "/models/../../x",
    "/./x",
    "/%2e%2e/%2e%2e/x",
    "/%2E%2E/x",
    "/.%2e/x",
    "/%2e./x",
    "/..%2f..%2fx",
    "/a%2F..%2F..%2Fx",
    "/..%5c..%5cx",
    "/..\\x",
    "/%252e%252e/x",
];

#[test]
fn native_paths_never_leave_any_providers_base() {
    let up = Upstream::fixed(200, "application/json", b"{}");
    let (config, bases) = all_builtins_at(&up);
    let gw = Gateway::start(&config);
    for (slug, base) in &bases {
        for escape in ESCAPES {
            for method in ["GET", "POST"] {
                let raw = format!(
                    "{method} /v1/acc/default/{slug}{escape} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{{}}"
                );
                let resp = gw.send(raw.as_bytes());
                assert_eq!(
                    (resp.status, resp.code()),
                    (400, 2003),
                    "{method} {slug}{escape}"
                );
            }
        }
        // The same provider's ordinary paths still go through, under its base.
        let resp = gw.send(
            format!("GET /v1/acc/default/{slug}/models HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes(),
        );
        assert_eq!(resp.status, 200, "{slug}");
        let seen = up.next_request();
        assert!(
            seen.target.starts_with(base.as_str()),
            "{slug}: {}",
            seen.target
        );
    }
    assert!(up.saw_nothing());
}

#[test]
fn universal_step_endpoints_never_leave_the_base() {
    let up = Upstream::fixed(200, "application/json", b"{}");
    let gw = Gateway::start(&config_for(&up, ""));
    for escape in ESCAPES {
        let endpoint = escape.trim_start_matches('/').replace('\\', "\\\\");
        let steps = format!(r#"[{{"provider":"mock","endpoint":"{endpoint}","query":{{}}}}]"#);
        let resp = gw.send(&post("/v1/acc/default", "", &steps));
        assert_eq!((resp.status, resp.code()), (400, 2003), "{escape}");
    }
    assert!(up.saw_nothing());
}

#[test]
fn durations_from_clients_are_range_checked_and_workers_live_on() {
    let up = Upstream::fixed(200, "application/json", b"{}");
    let gw = Gateway::start(&config_for(&up, "[server]\nworkers = 1\n"));
    let chat = r#"{"model":"mock/m"}"#;
    for value in ["18446744073709551615", "86400001"] {
        let resp = gw.send(&post(
            "/v1/chat/completions",
            &format!("cf-aig-request-timeout: {value}\r\n"),
            chat,
        ));
        assert_eq!((resp.status, resp.code()), (400, 2003));
        let msg = resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(msg.contains("cf-aig-request-timeout"), "{msg}");
    }
    let steps = r#"[{"provider":"mock","endpoint":"chat/completions","query":{},"config":{"requestTimeout":18446744073709551615}}]"#;
    let resp = gw.send(&post("/v1/acc/default", "", steps));
    assert_eq!((resp.status, resp.code()), (400, 2003));
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("requestTimeout"), "{msg}");
    // The one worker is still there, and a day is accepted.
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "cf-aig-request-timeout: 86400000\r\n",
        chat,
    ));
    assert_eq!(resp.status, 200);
}

#[test]
fn a_malformed_first_upstream_chunk_is_a_502_and_the_client_connection_serves_on() {
    let up = Upstream::start(|seen, w| {
        if seen.target.contains("broken") {
            // Head and a chunk size that is not hex, in one write.
            let _ = w.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            );
            return After::Close;
        }
        write_json(w, 200, r#"{"ok":true}"#);
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, ""));
    let mut c = gw.connect();
    c.write(b"GET /v1/acc/default/mock/broken HTTP/1.1\r\nhost: x\r\n\r\n");
    let resp = c.response();
    assert_eq!(
        (resp.status, resp.code()),
        (502, 2010),
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    c.write(b"GET /v1/acc/default/mock/fine HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(c.response().body, br#"{"ok":true}"#);
}
