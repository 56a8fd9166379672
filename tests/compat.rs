//! `/compat` and its `/v1` aliases through a real gateway: the model rewrite on the wire,
//! credentials, forwarded headers, and every gateway error of SPEC section 7.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

const CHAT: &str = r#"{"messages":[{"role":"user","content":"hi \"model\": x"}],"model":"mock/gpt-4o-mini","stream":false,"meta":{"model":"keep"}}"#;

fn echo_upstream() -> Upstream {
    Upstream::start(|_, w| {
        write_json(w, 200, r#"{"id":"c1","object":"chat.completion"}"#);
        After::KeepAlive
    })
}

#[test]
fn compat_rewrites_only_the_model_bytes() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = gw.send(&post(
        "/v1/acct/default/compat/chat/completions",
        "authorization: Bearer sk-client\r\n",
        CHAT,
    ));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, br#"{"id":"c1","object":"chat.completion"}"#);
    // Who answered, on every unified response.
    assert_eq!(resp.header("cf-aig-model"), Some("gpt-4o-mini"));
    assert_eq!(resp.header("cf-aig-provider"), Some("mock"));
    let seen = up.next_request();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/v1/chat/completions");
    let expected = CHAT.replace("\"mock/gpt-4o-mini\"", "\"gpt-4o-mini\"");
    assert_eq!(String::from_utf8(seen.body.clone()).unwrap(), expected);
    assert_eq!(
        seen.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
    // stored-first: the provider's stored key wins over the client's.
    assert_eq!(seen.header("authorization"), Some("Bearer sk-stored"));
    assert_eq!(seen.header("host"), Some(up.addr.to_string().as_str()));
}

#[test]
fn v1_aliases_reach_the_default_gateway() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = gw.send(&post("/v1/chat/completions", "", CHAT));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.target, "/v1/chat/completions");
    // No client key: the stored key goes up in the provider's style.
    assert_eq!(seen.header("authorization"), Some("Bearer sk-stored"));

    let resp = gw.send(&post(
        "/v1/embeddings",
        "",
        r#"{"model":"mock/emb","input":"x"}"#,
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.target, "/v1/embeddings");
    assert_eq!(seen.body, br#"{"model":"emb","input":"x"}"#);
}

#[test]
fn escaped_model_key_and_value_are_understood() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let body = r#"{"\u006dodel":"mock\/m1","messages":[]}"#;
    let resp = gw.send(&post("/v1/chat/completions", "", body));
    assert_eq!(resp.status, 200);
    assert_eq!(
        up.next_request().body,
        br#"{"\u006dodel":"m1","messages":[]}"#
    );
}

#[test]
fn compat_models_lists_configured_models() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, "models = [\"a\", \"b\"]\n"));
    let resp = gw.send(b"GET /v1/models HTTP/1.1\r\nhost: gw\r\n\r\n");
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"mock/a") && ids.contains(&"mock/b"),
        "{ids:?}"
    );
    assert!(up.saw_nothing());
}

#[test]
fn one_model_by_id_and_openai_paths_sluice_lacks_are_404s_naming_the_path() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, "models = [\"a\", \"b\"]\n"));
    for path in [
        "/v1/models/mock/a",
        "/v1/models/mock%2Fa",
        "/v1/x/default/compat/models/mock/a",
    ] {
        let resp = gw.send(format!("GET {path} HTTP/1.1\r\nhost: gw\r\n\r\n").as_bytes());
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        assert_eq!(resp.json()["id"], "mock/a", "{path}");
    }
    let missing = gw.send(b"GET /v1/models/mock/zz HTTP/1.1\r\nhost: gw\r\n\r\n");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], 2002);
    // Not read as account "audio", gateway "voices": an OpenAI path sluice lacks.
    let voices = gw.send(&post(
        "/v1/audio/voices",
        "",
        r#"{"model":"mock/tts","input":"hi"}"#,
    ));
    assert_eq!(voices.status, 404);
    assert_eq!(voices.json()["error"]["code"], 2002);
    assert!(
        voices.text().contains("/v1/audio/voices"),
        "{}",
        voices.text()
    );
    // An Anthropic path answers in Anthropic's error shape.
    let count = gw.send(&post(
        "/v1/messages/count_tokens",
        "",
        r#"{"model":"mock/a","messages":[]}"#,
    ));
    assert_eq!(count.status, 404);
    let body = count.json();
    assert_eq!(body["type"], "error", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/v1/messages/count_tokens"));
    assert!(up.saw_nothing());
}

#[test]
fn count_tokens_goes_to_anthropic_with_the_model_rewritten_and_its_key() {
    let up = Upstream::start(|_, w| {
        write_json(w, 200, r#"{"input_tokens":12}"#);
        After::KeepAlive
    });
    let anthropic = format!(
        "[provider.anthropic]\nbase_url = \"http://{}\"\nkeys = {{ default = \"sk-ant-stored\" }}\n",
        up.addr
    );
    let gw = Gateway::start(&config_for(&up, &anthropic));
    let body =
        r#"{"model":"anthropic/claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}"#;
    for path in [
        "/v1/messages/count_tokens",
        "/v1/a/default/compat/v1/messages/count_tokens",
    ] {
        let resp = gw.send(&post(path, "x-api-key: sk-client\r\n", body));
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        assert_eq!(resp.body, br#"{"input_tokens":12}"#);
        let seen = up.next_request();
        assert_eq!(seen.target, "/v1/messages/count_tokens");
        assert_eq!(
            String::from_utf8(seen.body.clone()).unwrap(),
            body.replace("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5")
        );
        assert_eq!(seen.header("x-api-key"), Some("sk-ant-stored"));
    }
}

#[test]
fn default_provider_takes_bare_models() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(
        &up,
        "[[gateway]]\nid = \"default\"\ndefault_provider = \"mock\"\n",
    ));
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        r#"{"model":"plain","messages":[]}"#,
    ));
    assert_eq!(resp.status, 200);
    assert_eq!(
        up.next_request().body,
        br#"{"model":"plain","messages":[]}"#
    );
}

#[test]
fn gateway_errors_have_their_codes() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(
        &up,
        "[[gateway]]\nid = \"locked\"\nauth_tokens = [\"gw-token\"]\n",
    ));
    let cases: &[(&[u8], u16, i64)] = &[
        (b"GET /nope HTTP/1.1\r\nhost: x\r\n\r\n", 404, 2002),
        (
            &post("/v1/a/missing/compat/chat/completions", "", CHAT),
            404,
            2001,
        ),
        (
            &post("/v1/a/locked/compat/chat/completions", "", CHAT),
            401,
            2009,
        ),
        (
            &post(
                "/v1/a/locked/compat/chat/completions",
                "cf-aig-authorization: Bearer wrong\r\n",
                CHAT,
            ),
            401,
            2009,
        ),
        (&post("/v1/chat/completions", "", "{not json"), 400, 2003),
        (
            &post("/v1/chat/completions", "", r#"{"messages":[]}"#),
            400,
            2003,
        ),
        (
            &post("/v1/chat/completions", "", r#"{"model":7}"#),
            400,
            2003,
        ),
        (
            &post(
                "/v1/chat/completions",
                "",
                r#"{"model":"mock/a","model":"mock/b"}"#,
            ),
            400,
            2003,
        ),
        (
            &post("/v1/chat/completions", "", r#"{"model":"nope/x"}"#),
            400,
            2008,
        ),
        (
            &post("/v1/chat/completions", "", r#"{"model":"bare"}"#),
            400,
            2019,
        ),
        (
            // Chat is translated for Anthropic; embeddings cannot be.
            &post("/v1/embeddings", "", r#"{"model":"anthropic/claude"}"#),
            400,
            2014,
        ),
        (&post("/v1/a/default/nope/x", "", "{}"), 400, 2008),
    ];
    for (raw, status, code) in cases {
        let resp = gw.send(raw);
        let text = String::from_utf8_lossy(raw);
        assert_eq!(resp.status, *status, "{text}");
        assert_eq!(resp.code(), *code, "{text}");
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(resp.json()["error"]["type"], "gateway_error");
    }
    assert!(
        up.saw_nothing(),
        "no refused request may reach the upstream"
    );
}

#[test]
fn unknown_prefix_message_quotes_the_model() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = gw.send(&post("/v1/chat/completions", "", r#"{"model":"nope/x-1"}"#));
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("\"nope/x-1\""), "{msg}");
    // It says what would have worked: the configured providers, mock among them.
    assert!(
        msg.contains("the configured providers are: ") && msg.contains("mock"),
        "{msg}"
    );
    // A native path names the provider slugs the same way.
    let resp = gw.send(&post("/v1/a/default/nope/x", "", "{}"));
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("\"nope\"") && msg.contains("openai") && msg.contains("mock"),
        "{msg}"
    );
}

#[test]
fn a_bare_model_is_told_the_provider_model_form() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = gw.send(&post("/v1/chat/completions", "", r#"{"model":"gpt-x"}"#));
    assert_eq!((resp.status, resp.code()), (400, 2019));
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    // mock is the provider with a stored key in this config.
    assert!(
        msg.contains("name it as provider/model, e.g. \"mock/gpt-x\""),
        "{msg}"
    );
}

#[test]
fn missing_credentials_are_2005() {
    let up = echo_upstream();
    // The mock provider here has no stored key.
    let cfg = format!("[provider.mock]\nbase_url = \"http://{}/v1\"\n", up.addr);
    let gw = Gateway::start(&cfg);
    let resp = gw.send(&post("/v1/chat/completions", "", r#"{"model":"mock/x"}"#));
    assert_eq!((resp.status, resp.code()), (401, 2005));
    let msg = resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.starts_with("no credentials for provider mock: "),
        "{msg}"
    );
    assert!(msg.contains("[provider.mock] keys = { default ="), "{msg}");
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "cf-aig-byok-alias: other\r\n",
        r#"{"model":"mock/x"}"#,
    ));
    assert_eq!((resp.status, resp.code()), (401, 2005));
    assert!(resp.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("other"));
}

#[test]
fn account_id_must_match_when_configured() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, "[server]\naccount_id = \"acct1\"\n"));
    let resp = gw.send(&post("/v1/other/default/compat/chat/completions", "", CHAT));
    assert_eq!((resp.status, resp.code()), (404, 2001));
    let resp = gw.send(&post("/v1/acct1/default/compat/chat/completions", "", CHAT));
    assert_eq!(resp.status, 200);
}

#[test]
fn gateway_token_is_consumed_and_stored_key_used() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(
        &up,
        "[[gateway]]\nid = \"locked\"\nauth_tokens = [\"gw-token\"]\n",
    ));
    let resp = gw.send(&post(
        "/v1/a/locked/compat/chat/completions",
        "authorization: Bearer gw-token\r\n",
        CHAT,
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.header("authorization"), Some("Bearer sk-stored"));
    assert!(!seen.headers.iter().any(|(_, v)| v.contains("gw-token")));

    // With cf-aig-authorization, Authorization is the client's provider key, used
    // under client-first.
    let gw = Gateway::start(&config_for(
        &up,
        "[[gateway]]\nid = \"locked\"\nauth_tokens = [\"gw-token\"]\nclient_keys = \"client-first\"\n",
    ));
    let resp = gw.send(&post(
        "/v1/a/locked/compat/chat/completions",
        "cf-aig-authorization: Bearer gw-token\r\nauthorization: Bearer sk-own\r\n",
        CHAT,
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    assert_eq!(seen.header("authorization"), Some("Bearer sk-own"));
    assert!(seen.header("cf-aig-authorization").is_none());
}

#[test]
fn hop_by_hop_and_cf_aig_headers_stay_behind() {
    let up = echo_upstream();
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "connection: keep-alive, x-private\r\nx-private: 1\r\nkeep-alive: timeout=5\r\n\
         te: trailers\r\ncf-aig-metadata: {}\r\nx-custom: yes\r\nproxy-authorization: p\r\n",
        CHAT,
    ));
    assert_eq!(resp.status, 200);
    let seen = up.next_request();
    for gone in [
        "connection",
        "x-private",
        "keep-alive",
        "te",
        "cf-aig-metadata",
        "proxy-authorization",
    ] {
        assert!(seen.header(gone).is_none(), "{gone} was forwarded");
    }
    assert_eq!(seen.header("x-custom"), Some("yes"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
}

#[test]
fn upstream_errors_pass_through_untouched() {
    let body = include_bytes!("fixtures/openai/error-400-unsupported-parameter.json");
    let up = Upstream::fixed(400, "application/json", body);
    let gw = Gateway::start(&config_for(&up, ""));
    let resp = gw.send(&post("/v1/chat/completions", "", CHAT));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.body, body);
}

#[test]
fn unreachable_upstream_is_2010() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = format!(
        "[provider.mock]\nbase_url = \"http://127.0.0.1:{port}/v1\"\nkeys = {{ default = \"k\" }}\n"
    );
    let gw = Gateway::start(&cfg);
    let resp = gw.send(&post("/v1/chat/completions", "", CHAT));
    assert_eq!((resp.status, resp.code()), (502, 2010));
}
