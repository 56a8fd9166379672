//! The secrets hunt (SPEC section 9): every kind of secret through every endpoint of the
//! real binary, then every stored byte, log line, metric and API answer searched for them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_support;
mod common;
mod secrets_support;

use common::{post, Client, Response, Upstream};
use secrets_support::{eventually, files, spawn, upstream, Secret, Secrets, Sluice};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;

const KINDS: [&str; 31] = [
    "stored-mock",
    "stored-mock-alias",
    "stored-anth",
    "stored-dead",
    "gw-token-1",
    "gw-token-2",
    "gw-token-bad-1",
    "gw-token-bad-2",
    "admin-token",
    "admin-token-bad",
    "native-bearer",
    "native-query-key",
    "native-x-api-key",
    "native-goog-key",
    "native-goog-query",
    "native-retry",
    "compat-bearer",
    "compat-client-only",
    "compat-error",
    "compat-unknown",
    "alias-stream",
    "messages-x-api-key",
    "messages-stream",
    "step-bearer",
    "step-token",
    "step-x-api-key",
    "step-cookie",
    "step-stream",
    "step-malformed",
    "step-variant",
    "step-bad-json",
];

fn config(s: &Secrets, up: SocketAddr, dead: SocketAddr, data_dir: &Path) -> String {
    format!(
        r#"[server]
admin_listen = "127.0.0.1:0"
data_dir = "{data}"
admin_token = "{admin}"

[provider.mock]
base_url = "http://{up}/v1"
keys = {{ default = "{stored}", other = "{alias}" }}
models = ["m"]

[provider.anth]
base_url = "http://{up}"
api = "anthropic"
keys = {{ default = "{anth}" }}

[provider.goog]
base_url = "http://{up}"
api = "google"

[provider.clientonly]
base_url = "http://{up}/v1"

[provider.dead]
base_url = "http://{dead}/v1"
keys = {{ default = "{dead_key}" }}

[[gateway]]
id = "locked"
auth_tokens = ["{gw1}", "{gw2}"]
cache_ttl_s = 60
"#,
        data = data_dir.display(),
        admin = s.get("admin-token"),
        stored = s.get("stored-mock"),
        alias = s.get("stored-mock-alias"),
        anth = s.get("stored-anth"),
        dead_key = s.get("stored-dead"),
        gw1 = s.get("gw-token-1"),
        gw2 = s.get("gw-token-2"),
    )
}

fn chat(model: &str, extra: &str) -> String {
    format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]{extra}}}"#)
}

fn messages(model: &str, extra: &str) -> String {
    format!(
        r#"{{"model":"{model}","max_tokens":16,"messages":[{{"role":"user","content":"hi"}}]{extra}}}"#
    )
}

/// One request of the run and what the client got.
struct Sent {
    label: &'static str,
    /// The gateway its log entry belongs to.
    gateway: &'static str,
    resp: Response,
}

/// `POST path` (gateway `locked` when the path names it).
fn req(label: &'static str, status: u16, path: &str, headers: &str, body: &str) -> Req {
    Req {
        label,
        status,
        gateway: if path.starts_with("/v1/acct/locked") {
            "locked"
        } else {
            "default"
        },
        raw: post(path, headers, body),
    }
}

struct Req {
    label: &'static str,
    status: u16,
    gateway: &'static str,
    raw: Vec<u8>,
}

/// Every endpoint, with each request's secrets in the places a client puts them.
fn requests(s: &Secrets) -> Vec<Req> {
    let bearer = |kind: &str| format!("authorization: Bearer {}\r\n", s.get(kind));
    let gw = |kind: &str| format!("cf-aig-authorization: Bearer {}\r\n", s.get(kind));
    let native = "/v1/acct/locked/mock/chat/completions";
    let compat = "/v1/acct/default/compat/chat/completions";
    let step_failing = format!(
        r#"{{"provider":"mock","endpoint":"chat/completions","headers":{{"Authorization":"Bearer {}","x-my-token":"{}","cf-aig-authorization":"Bearer {}"}},"query":{}}}"#,
        s.get("step-bearer"),
        s.get("step-token"),
        s.get("gw-token-2"),
        chat("m", r#","FAIL":1"#),
    );
    let step_anth = format!(
        r#"{{"provider":"anth","endpoint":"v1/messages","headers":{{"x-api-key":"{}","Cookie":"session={}"}},"query":{}}}"#,
        s.get("step-x-api-key"),
        s.get("step-cookie"),
        messages("claude", ""),
    );
    let step_stream = format!(
        r#"[{{"provider":"mock","endpoint":"chat/completions","headers":{{"authorization":"Bearer {}"}},"query":{}}}]"#,
        s.get("step-stream"),
        chat("m", r#","stream":true"#),
    );
    let models = format!(
        "GET /v1/models HTTP/1.1\r\nhost: gw\r\n{}\r\n",
        bearer("compat-bearer")
    );
    vec![
        // Provider-native: the client's own key (and a key in the query string).
        req(
            "native",
            200,
            &format!("{native}?key={}", s.get("native-query-key")),
            &(gw("gw-token-1") + &bearer("native-bearer")),
            &chat("m", ""),
        ),
        // The gateway token as `Authorization`, the stored key upstream; then a cache hit.
        req(
            "stored",
            200,
            native,
            &bearer("gw-token-2"),
            &chat("cached", ""),
        ),
        req(
            "cache hit",
            200,
            native,
            &bearer("gw-token-2"),
            &chat("cached", ""),
        ),
        // 500s, retried (a debug line each).
        req(
            "retried",
            500,
            native,
            &(gw("gw-token-1") + &bearer("native-retry") + "cf-aig-max-attempts: 2\r\n"),
            &chat("m", r#","FAIL":1"#),
        ),
        req(
            "native x-api-key",
            200,
            "/v1/acct/default/anth/v1/messages",
            &format!("x-api-key: {}\r\n", s.get("native-x-api-key")),
            &messages("claude", ""),
        ),
        req(
            "native x-goog-api-key",
            200,
            &format!(
                "/v1/acct/default/goog/v1beta/models/g:generateContent?key={}",
                s.get("native-goog-query")
            ),
            &format!("x-goog-api-key: {}\r\n", s.get("native-goog-key")),
            r#"{"contents":[]}"#,
        ),
        // Unified endpoints: client keys, a stored key by alias, translated, errors.
        req(
            "compat",
            200,
            compat,
            &bearer("compat-bearer"),
            &chat("mock/m", ""),
        ),
        req(
            "compat alias",
            200,
            compat,
            "cf-aig-byok-alias: other\r\n",
            &chat("mock/m", ""),
        ),
        req(
            "compat translated",
            200,
            compat,
            "",
            &chat("anth/claude", ""),
        ),
        req(
            "client key",
            200,
            "/v1/chat/completions",
            &bearer("compat-client-only"),
            &chat("clientonly/m", ""),
        ),
        req(
            "upstream error",
            500,
            "/v1/chat/completions",
            &bearer("compat-error"),
            &chat("clientonly/m", r#","FAIL":1"#),
        ),
        req(
            "unknown provider",
            400,
            "/v1/chat/completions",
            &bearer("compat-unknown"),
            &chat("nosuch/m", ""),
        ),
        req(
            "unreachable",
            502,
            "/v1/chat/completions",
            "",
            &chat("dead/m", ""),
        ),
        req(
            "alias stream",
            200,
            "/v1/chat/completions",
            &bearer("alias-stream"),
            &chat("mock/m", r#","stream":true"#),
        ),
        Req {
            label: "models",
            status: 200,
            gateway: "default",
            raw: models.into_bytes(),
        },
        // Anthropic Messages in front of an OpenAI provider, whole and streamed.
        req(
            "messages",
            200,
            "/v1/messages",
            &format!("x-api-key: {}\r\n", s.get("messages-x-api-key")),
            &messages("mock/m", ""),
        ),
        req(
            "messages stream",
            200,
            "/v1/messages",
            &bearer("messages-stream"),
            &messages("mock/m", r#","stream":true"#),
        ),
        // Universal: a failing step then a fallback, a streamed step, bad steps.
        req(
            "universal",
            200,
            "/v1/acct/locked",
            &gw("gw-token-1"),
            &format!("[{step_failing},{step_anth}]"),
        ),
        req(
            "universal stream",
            200,
            "/v1/acct/default",
            "",
            &step_stream,
        ),
        req(
            "universal headers not an object",
            400,
            "/v1/acct/locked",
            &gw("gw-token-1"),
            &format!(
                r#"[{{"provider":"mock","endpoint":"x","headers":"Bearer {}","query":{{}}}}]"#,
                s.get("step-malformed")
            ),
        ),
        // A misplaced value in a field that is no credential: the error must not quote it
        // (the body is not stored here, since it keeps such fields as sent).
        req(
            "universal bad variant",
            400,
            "/v1/acct/locked",
            &(gw("gw-token-1") + "cf-aig-collect-log-payload: false\r\n"),
            &format!(
                r#"[{{"provider":"mock","endpoint":"x","query":{{}},"config":{{"backoff":"{}"}}}}]"#,
                s.get("step-variant")
            ),
        ),
        req(
            "universal not JSON",
            400,
            "/v1/acct/locked",
            &gw("gw-token-1"),
            &format!(
                r#"[{{"provider":"mock","headers":{{"authorization":"Bearer {}"}}"#,
                s.get("step-bad-json")
            ),
        ),
        // Gateway authentication refused, with a wrong token either way.
        req(
            "bad gateway token",
            401,
            native,
            &gw("gw-token-bad-1"),
            &chat("m", ""),
        ),
        req(
            "bad bearer",
            401,
            native,
            &bearer("gw-token-bad-2"),
            &chat("m", ""),
        ),
        req(
            "no route",
            404,
            "/v1/nosuch",
            &bearer("compat-bearer"),
            "{}",
        ),
    ]
}

/// Sends each request on its own connection; each must get its status.
fn send_all(sluice: &Sluice, s: &Secrets) -> Vec<Sent> {
    let mut sent = Vec::new();
    for r in requests(s) {
        let mut client = Client::connect(sluice.addr);
        client.write(&r.raw);
        let resp = client.response();
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        assert_eq!(resp.status, r.status, "{}: {text}", r.label);
        if r.label == "cache hit" {
            assert_eq!(resp.header("cf-aig-cache-status"), Some("HIT"), "{text}");
        }
        sent.push(Sent {
            label: r.label,
            gateway: r.gateway,
            resp,
        });
    }
    sent
}

/// An admin `GET` with the admin token: its head and body.
fn admin_get(sluice: &Sluice, s: &Secrets, target: &str) -> admin_support::Answer {
    admin_support::call(sluice.admin, "GET", target, Some(s.get("admin-token")), "")
}

/// Every admin answer there is: metrics, each gateway's list, each entry and its bodies,
/// and the refusal of a wrong admin token.
fn admin_answers(sluice: &Sluice, s: &Secrets, logged: &[(&str, &str)]) -> Vec<Vec<u8>> {
    let whole = |a: admin_support::Answer| [a.head.into_bytes(), a.body].concat();
    let mut all = Vec::new();
    for (gateway, id) in logged {
        let target = format!("/api/v1/gateways/{gateway}/logs/{id}");
        let entry = eventually(&target, || {
            let answer = admin_get(sluice, s, &target);
            (answer.status == 200).then_some(answer)
        });
        all.push(whole(entry));
        all.push(whole(admin_get(sluice, s, &format!("{target}/request"))));
        all.push(whole(admin_get(sluice, s, &format!("{target}/response"))));
    }
    for gateway in ["default", "locked"] {
        let list = format!("/api/v1/gateways/{gateway}/logs?per_page=100");
        all.push(whole(admin_get(sluice, s, &list)));
    }
    let refused = admin_support::call(
        sluice.admin,
        "GET",
        "/api/v1/gateways/default/logs",
        Some(s.get("admin-token-bad")),
        "",
    );
    assert_eq!(refused.status, 401);
    all.push(whole(refused));
    for target in ["/metrics", "/healthz", "/readyz"] {
        all.push(whole(admin_get(sluice, s, target)));
    }
    all
}

/// The secrets did travel: the hunt finds nothing because nothing was kept, not
/// because nothing was sent.
fn assert_upstream_got_them(up: &Upstream, s: &Secrets) {
    let seen = up.received();
    for kind in [
        "stored-mock",
        "stored-mock-alias",
        "stored-anth",
        "native-bearer",
        "native-query-key",
        "native-x-api-key",
        "native-goog-key",
        "native-goog-query",
        "compat-client-only",
        "step-bearer",
        "step-x-api-key",
        "step-cookie",
        "step-stream",
    ] {
        let value = s.get(kind);
        let got = seen
            .iter()
            .any(|r| r.target.contains(value) || r.headers.iter().any(|(_, v)| v.contains(value)));
        assert!(got, "upstream never got {kind}");
    }
}

#[test]
fn no_secret_is_stored_printed_or_served() {
    let secrets = Secrets(KINDS.iter().copied().map(Secret::new).collect());
    let up = upstream();
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config_dir = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let config_path = config_dir.path().join("sluice.toml");
    let config_text = config(&secrets, up.addr, dead, data_dir.path());
    std::fs::write(&config_path, config_text).unwrap();

    let check = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "--config"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(check.status.success());
    secrets.assert_absent("`sluice check`", &[check.stdout, check.stderr].concat());

    let mut sluice = spawn(&config_path);
    let sent = send_all(&sluice, &secrets);
    for Sent { label, resp, .. } in &sent {
        let head: String = resp
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\n"))
            .collect();
        let answer = [head.as_bytes(), &resp.body].concat();
        secrets.assert_absent(&format!("the answer to {label}"), &answer);
    }
    assert_upstream_got_them(&up, &secrets);

    let logged: Vec<(&str, &str)> = sent
        .iter()
        .filter_map(|s| Some((s.gateway, s.resp.header("cf-aig-log-id")?)))
        .collect();
    assert!(logged.len() >= 18, "only {} answers logged", logged.len());
    for (i, answer) in admin_answers(&sluice, &secrets, &logged).iter().enumerate() {
        secrets.assert_absent(&format!("admin answer {i}"), answer);
    }
    // The Universal request's body is stored, only its credentials replaced.
    let universal = sent.iter().find(|s| s.label == "universal").unwrap();
    let id = universal.resp.header("cf-aig-log-id").unwrap();
    let body = admin_get(
        &sluice,
        &secrets,
        &format!("/api/v1/gateways/locked/logs/{id}/request"),
    );
    let text = body.text();
    assert!(text.contains(r#""x-my-token":"[redacted]""#), "{text}");
    assert!(text.contains(r#""content":"hi""#), "{text}");

    let mut stored = Vec::new();
    files(data_dir.path(), &mut stored);
    assert!(!stored.is_empty());
    // SIGTERM: the writer commits and the database closes; its files are read again.
    // SAFETY: a signal to the child this test spawned and has not yet waited for.
    unsafe { libc::kill(sluice.child.id() as i32, libc::SIGTERM) };
    assert!(sluice.child.wait().unwrap().success());
    files(data_dir.path(), &mut stored);
    for (path, bytes) in &stored {
        secrets.assert_absent(path, bytes);
    }
    // Both pipes are closed now: every line is in the channel.
    let mut output = sluice.early.join("\n");
    for line in sluice.output.iter() {
        output.push('\n');
        output.push_str(&line);
    }
    assert!(output.contains(" DEBUG "), "not at debug level: {output}");
    secrets.assert_absent("stderr or stdout", output.as_bytes());
}
