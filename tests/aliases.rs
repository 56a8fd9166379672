//! Model aliases (`"model": "custom/NAME"`) through a real gateway: targets tried in
//! order, failures (429, 5xx) handing over before the client sees a byte, a client
//! error going back as it is, and the stored key of each target's own provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

const COMPLETION: &str = r#"{"id":"from-second","object":"chat.completion","created":1,"model":"llama","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
const SSE: &[u8] = b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n";

/// `first` fails as its model says (`fail-503`, `bad-400`, `fail-500`); `second`
/// answers every request, streaming when asked.
fn upstreams() -> (Upstream, Upstream) {
    let first = Upstream::start(|seen, w| {
        let status = match seen.model().as_str() {
            "bad-400" => 400,
            "fail-500" => 500,
            _ => 503,
        };
        write_json(w, status, r#"{"error":{"message":"first says no"}}"#);
        After::KeepAlive
    });
    let second = Upstream::start(|seen, w| {
        if String::from_utf8_lossy(&seen.body).contains("\"stream\":true") {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n";
            write!(w, "{head}content-length: {}\r\n\r\n", SSE.len()).unwrap();
            w.write_all(SSE).unwrap();
        } else {
            write_json(w, 200, COMPLETION);
        }
        After::KeepAlive
    });
    (first, second)
}

fn gateway(first: &Upstream, second: &Upstream) -> Gateway {
    Gateway::start(&format!(
        "[provider.openai]\nbase_url = \"http://{}/v1\"\nkeys = {{ default = \"sk-first\" }}\n\
         [provider.groq]\nbase_url = \"http://{}/openai/v1\"\nkeys = {{ default = \"gsk-second\" }}\n\
         [[gateway]]\nid = \"default\"\n\
         [[gateway.alias]]\nname = \"fast\"\nmodels = [\"openai/fail-503\", \"groq/llama\"]\n\
         [[gateway.alias]]\nname = \"strict\"\nmodels = [\"openai/bad-400\", \"groq/llama\"]\n\
         [[gateway.alias]]\nname = \"streamed\"\nmodels = [\"openai/fail-500\", \"groq/llama\"]\n",
        first.addr, second.addr
    ))
}

fn chat(model: &str, extra: &str) -> String {
    format!(r#"{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]{extra}}}"#)
}

#[test]
fn a_failing_target_hands_over_to_the_next_with_its_own_key() {
    let (first, second) = upstreams();
    let gw = gateway(&first, &second);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "authorization: Bearer sk-client-SECRET\r\n",
        &chat("custom/fast", ""),
    ));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.body, COMPLETION.as_bytes());
    assert_eq!(resp.header("cf-aig-model"), Some("llama"));
    assert_eq!(resp.header("cf-aig-provider"), Some("groq"));
    let tried = first.next_request();
    assert_eq!(tried.model(), "fail-503");
    assert_eq!(tried.header("authorization"), Some("Bearer sk-first"));
    let answered = second.next_request();
    assert_eq!(answered.model(), "llama");
    assert_eq!(answered.target, "/openai/v1/chat/completions");
    assert_eq!(answered.header("authorization"), Some("Bearer gsk-second"));
}

#[test]
fn a_client_error_goes_back_as_it_is() {
    let (first, second) = upstreams();
    let gw = gateway(&first, &second);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("custom/strict", ""),
    ));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.body, br#"{"error":{"message":"first says no"}}"#);
    assert_eq!(first.next_request().model(), "bad-400");
    assert!(
        second.saw_nothing(),
        "a 400 is not a failure to fall back on"
    );
}

#[test]
fn a_stream_falls_back_before_its_first_byte_and_arrives_byte_exact() {
    let (first, second) = upstreams();
    let gw = gateway(&first, &second);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("custom/streamed", r#","stream":true"#),
    ));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert_eq!(resp.body, SSE);
    assert_eq!(resp.header("cf-aig-provider"), Some("groq"));
    assert_eq!(first.next_request().model(), "fail-500");
    assert_eq!(second.next_request().model(), "llama");
}

#[test]
fn an_unknown_alias_is_400_2008_naming_the_known_ones() {
    let (first, second) = upstreams();
    let gw = gateway(&first, &second);
    let resp = gw.send(&post(
        "/v1/chat/completions",
        "",
        &chat("custom/nosuch", ""),
    ));
    assert_eq!(resp.status, 400);
    assert_eq!(resp.code(), 2008);
    let text = resp.text();
    assert!(
        text.contains("custom/nosuch") && text.contains("fast"),
        "{text}"
    );
    assert!(first.saw_nothing() && second.saw_nothing());
}

#[test]
fn the_messages_endpoint_takes_aliases_too() {
    let (first, second) = upstreams();
    let gw = gateway(&first, &second);
    let body =
        r#"{"model":"custom/fast","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
    let resp = gw.send(&post("/v1/messages", "", body));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let message = resp.json();
    assert_eq!(message["type"], "message");
    assert_eq!(message["content"][0]["text"], "hello");
    assert_eq!(resp.header("cf-aig-model"), Some("llama"));
    assert_eq!(resp.header("cf-aig-provider"), Some("groq"));
    assert_eq!(first.next_request().model(), "fail-503");
    assert_eq!(second.next_request().model(), "llama");
}

/// `strategy = "latency"`: once each target has been measured, the fastest leads, and one
/// request in twenty still tries the other first (so a recovered target is seen again).
#[test]
fn a_latency_alias_sends_most_requests_to_the_fastest_target() {
    let slow = Upstream::start(|_, w| {
        // The behaviour under test: this provider takes 150 ms to answer.
        std::thread::sleep(std::time::Duration::from_millis(150));
        write_json(w, 200, r#"{"answered_by":"slow"}"#);
        After::KeepAlive
    });
    let fast = Upstream::start(|_, w| {
        write_json(w, 200, r#"{"answered_by":"fast"}"#);
        After::KeepAlive
    });
    let gw = Gateway::start(&format!(
        "[provider.openai]\nbase_url = \"http://{}/v1\"\nkeys = {{ default = \"sk-first\" }}\n\
         [provider.groq]\nbase_url = \"http://{}/openai/v1\"\nkeys = {{ default = \"gsk-second\" }}\n\
         [[gateway]]\nid = \"default\"\n\
         [[gateway.alias]]\nname = \"quick\"\nmodels = [\"openai/s\", \"groq/f\"]\nstrategy = \"latency\"\n",
        slow.addr, fast.addr
    ));
    // One connection: one worker, whose table learns from each answer in turn.
    let mut client = gw.connect();
    let mut answered = Vec::new();
    for _ in 0..40 {
        client.write(&post("/v1/chat/completions", "", &chat("custom/quick", "")));
        let resp = client.response();
        assert_eq!(resp.status, 200);
        answered.push(resp.header("cf-aig-provider").unwrap().to_string());
    }
    // Neither measured at first: the written order, then the other one once.
    assert_eq!(answered[..2], ["openai", "groq"]);
    // Then the fast one, but for one request in twenty (this worker's 20th and 40th).
    let to_slow: Vec<usize> = (2..40).filter(|i| answered[*i] == "openai").collect();
    assert_eq!(to_slow, [19, 39], "{answered:?}");
}
