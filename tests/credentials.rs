//! Whose provider key goes upstream under each `client_keys` rule (SPEC section 5): a
//! client's key never reaches a provider that has a stored key, unless the gateway asks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

const CLIENT_SECRET: &str = "sk-openai-SECRET";
const MESSAGE: &[u8] = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#;

fn upstream() -> Upstream {
    Upstream::fixed(200, "application/json", MESSAGE)
}

/// `groq` and `anthropic` with stored keys, `mock` (OpenAI API) and `mistral` without,
/// all at `up`, under the default gateway's `client_keys` rule (`None`: the default).
fn config(up: &Upstream, rule: Option<&str>) -> String {
    let gateway = rule.map_or(String::new(), |r| {
        format!("[[gateway]]\nid = \"default\"\nclient_keys = \"{r}\"\n")
    });
    format!(
        "[provider.groq]\nbase_url = \"http://{a}/openai/v1\"\nkeys = {{ default = \"gsk-stored\" }}\n\
         [provider.anthropic]\nbase_url = \"http://{a}\"\nkeys = {{ default = \"sk-ant-stored\" }}\n\
         [provider.mock]\nbase_url = \"http://{a}/v1\"\n\
         [provider.mistral]\nbase_url = \"http://{a}/v1\"\n{gateway}",
        a = up.addr
    )
}

fn chat(model: &str) -> String {
    format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}"#)
}

const CLIENT_BEARER: &str = "authorization: Bearer sk-openai-SECRET\r\n";

/// No header the upstream received holds the client's key.
fn assert_client_key_absent(seen: &Seen) {
    assert!(
        !seen.headers.iter().any(|(_, v)| v.contains(CLIENT_SECRET)),
        "client key forwarded: {:?}",
        seen.headers
    );
}

#[test]
fn readme_example_an_openai_key_never_reaches_groq() {
    let up = upstream();
    let gw = Gateway::start(&config(&up, None));
    let resp = gw.send(&post(
        "/v1/chat/completions",
        CLIENT_BEARER,
        &chat("groq/llama-3.1-8b-instant"),
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.target, "/openai/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer gsk-stored"));
    assert_client_key_absent(&seen);
}

#[test]
fn an_openai_key_never_becomes_anthropics_x_api_key() {
    let up = upstream();
    let gw = Gateway::start(&config(&up, None));
    for path in [
        "/v1/chat/completions",
        "/v1/a/default/compat/chat/completions",
    ] {
        let resp = gw.send(&post(path, CLIENT_BEARER, &chat("anthropic/claude-x")));
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        let seen = up.next_request();
        assert_eq!(seen.header("x-api-key"), Some("sk-ant-stored"));
        assert_eq!(seen.header("authorization"), None);
        assert_client_key_absent(&seen);
    }
    // The Messages endpoint: an Anthropic SDK's x-api-key is replaced the same way.
    let body = r#"{"model":"anthropic/claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = gw.send(&post(
        "/v1/messages",
        "x-api-key: sk-openai-SECRET\r\nanthropic-version: 2023-06-01\r\n",
        body,
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.header("x-api-key"), Some("sk-ant-stored"));
    assert_client_key_absent(&seen);
}

#[test]
fn stored_first_uses_the_clients_key_where_nothing_is_stored() {
    let up = upstream();
    let gw = Gateway::start(&config(&up, Some("stored-first")));
    let resp = gw.send(&post(
        "/v1/chat/completions",
        CLIENT_BEARER,
        &chat("mock/m"),
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer sk-openai-SECRET")
    );
    // Neither key: 2005 saying what to do.
    let resp = gw.send(&post("/v1/chat/completions", "", &chat("mistral/m")));
    assert_eq!((resp.status, resp.code()), (401, 2005));
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("MISTRAL_API_KEY"), "{msg}");
    assert!(msg.contains("[provider.mistral] keys = "), "{msg}");
}

#[test]
fn stored_first_native_paths_forward_the_providers_own_header() {
    let up = upstream();
    let gw = Gateway::start(&config(&up, None));
    let resp = gw.send(&post(
        "/v1/a/default/groq/chat/completions",
        "authorization: Bearer gsk-client\r\n",
        &chat("llama"),
    ));
    assert_eq!(resp.status, 200);
    assert_eq!(
        up.next_request().header("authorization"),
        Some("Bearer gsk-client")
    );
    let resp = gw.send(&post(
        "/v1/a/default/groq/chat/completions",
        "",
        &chat("llama"),
    ));
    assert_eq!(resp.status, 200);
    assert_eq!(
        up.next_request().header("authorization"),
        Some("Bearer gsk-stored")
    );
}

#[test]
fn client_first_is_the_hosted_services_precedence() {
    let up = upstream();
    let gw = Gateway::start(&config(&up, Some("client-first")));
    let resp = gw.send(&post(
        "/v1/chat/completions",
        CLIENT_BEARER,
        &chat("groq/l"),
    ));
    assert_eq!(resp.status, 200);
    assert_eq!(
        up.next_request().header("authorization"),
        Some("Bearer sk-openai-SECRET")
    );
    let resp = gw.send(&post("/v1/chat/completions", "", &chat("groq/l")));
    assert_eq!(resp.status, 200);
    assert_eq!(
        up.next_request().header("authorization"),
        Some("Bearer gsk-stored")
    );
}

#[test]
fn stored_only_never_forwards_a_client_key() {
    let up = upstream();
    let gw = Gateway::start(&config(&up, Some("stored-only")));
    // Unified and native paths alike: the stored key replaces the client's.
    let resp = gw.send(&post(
        "/v1/chat/completions",
        CLIENT_BEARER,
        &chat("groq/l"),
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.header("authorization"), Some("Bearer gsk-stored"));
    assert_client_key_absent(&seen);
    let resp = gw.send(&post(
        "/v1/a/default/anthropic/v1/messages",
        "x-api-key: sk-openai-SECRET\r\nauthorization: Bearer sk-openai-SECRET\r\n",
        r#"{"model":"claude-x","max_tokens":5,"messages":[]}"#,
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.header("x-api-key"), Some("sk-ant-stored"));
    assert_client_key_absent(&seen);
    // Universal steps are provider-native: the step's own key is not forwarded either.
    let steps = r#"[{"provider":"groq","endpoint":"chat/completions","headers":{"authorization":"Bearer sk-openai-SECRET"},"query":{"model":"l","messages":[]}}]"#;
    let resp = gw.send(&post("/v1/a/default", "", steps));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.header("authorization"), Some("Bearer gsk-stored"));
    assert_client_key_absent(&seen);
    // No stored key: 401 2005 even though the client sent one, on every path.
    for (path, body) in [
        ("/v1/chat/completions", chat("mock/m")),
        ("/v1/a/default/mock/chat/completions", chat("m")),
    ] {
        let resp = gw.send(&post(path, CLIENT_BEARER, &body));
        assert_eq!((resp.status, resp.code()), (401, 2005), "{path}");
        let msg = resp.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(msg.contains("stored keys only"), "{msg}");
    }
    assert!(up.saw_nothing());
}
