//! Conversation state of the Responses API kept in the request log: `previous_response_id`
//! across turns and providers, `item_reference`s, stored responses read back, `store: false`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod responses_support;

use common::*;
use responses_support::*;
use serde_json::{json, Value};

#[test]
fn a_conversation_continues_from_the_log_and_a_stored_response_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::fixed(200, "application/json", anthropic_text());
    let server = observed(&up, dir.path(), "");
    let first = json!({"model": "anthropic/claude-3-opus", "input": "Tell me a joke"});
    let resp = send(&server, &post("/v1/responses", "", &first.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let first_answer = resp.json();
    let id = first_answer["id"].as_str().unwrap().to_string();
    up.next_request();
    // No flush: a client's next turn follows at once.
    let second =
        json!({"model": "anthropic/claude-3-opus", "input": "Another", "previous_response_id": id});
    let resp = send(&server, &post("/v1/responses", "", &second.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let sent: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    let joke = output_text(&first_answer);
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "Tell me a joke"},
            {"role": "assistant", "content": joke},
            {"role": "user", "content": "Another"},
        ]),
    );
    // The conversation goes on past one turn back, and to another provider.
    let third = json!({"model": "mock/gpt-4o-mini", "input": "Thanks", "previous_response_id": resp.json()["id"]});
    // (The upstream answers with the Anthropic body whatever is asked: only what it was
    // sent matters here.)
    send(&server, &post("/v1/responses", "", &third.to_string()));
    let sent: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    assert_eq!(sent["messages"].as_array().unwrap().len(), 5, "{sent}");

    let resp = get(&server, &format!("/v1/responses/{id}"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["id"], id.as_str());
    assert_eq!(output_text(&resp.json()), joke);
    let resp = get(
        &server,
        "/v1/responses/resp_00000000000000000000000000000000",
    );
    assert_eq!((resp.status, resp.code()), (404, 2002), "{}", resp.text());

    let unstored = json!({"model": "anthropic/claude-3-opus", "input": "x", "store": false});
    let resp = send(&server, &post("/v1/responses", "", &unstored.to_string()));
    let unstored_id = resp.json()["id"].as_str().unwrap().to_string();
    server.flush_logs().unwrap();
    let resp = get(&server, &format!("/v1/responses/{unstored_id}"));
    assert_eq!(
        resp.status,
        404,
        "store: false is not read back: {}",
        resp.text()
    );

    let foreign = json!({"model": "anthropic/claude-3-opus", "input": "x", "previous_response_id": "resp_67ccd2bed1ec8190"});
    let resp = send(&server, &post("/v1/responses", "", &foreign.to_string()));
    assert_eq!((resp.status, resp.code()), (400, 2003), "{}", resp.text());
    assert!(
        resp.text().contains("not made by this gateway"),
        "{}",
        resp.text()
    );
}

#[test]
fn without_the_log_previous_response_id_is_a_clear_400() {
    let up = Upstream::fixed(200, "application/json", anthropic_text());
    let gw = Gateway::start(&providers(&up));
    let body = json!({"model": "anthropic/claude-3-opus", "input": "x",
        "previous_response_id": "resp_0193a1b2c3d4e5f60718293a4b5c6d7e"});
    let resp = gw.send(&post("/v1/responses", "", &body.to_string()));
    assert_eq!((resp.status, resp.code()), (400, 2003), "{}", resp.text());
    assert!(resp.text().contains("request log"), "{}", resp.text());
    assert!(up.saw_nothing());
}

/// The Vercel AI SDK sends `item_reference`s to the items of earlier responses instead of
/// the items: the gateway puts its own items back.
#[test]
fn item_references_to_the_gateways_own_items_are_resolved_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::fixed(
        200,
        "application/json",
        include_bytes!("fixtures/translate/anthropic/message-text-and-tool-use.json"),
    );
    let server = observed(&up, dir.path(), "");
    let tools = json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "function", "name": "get_time", "parameters": {"type": "object"}}]);
    let first = json!({"model": "anthropic/claude-3-5-sonnet", "input": "Weather and time?", "tools": tools});
    let resp = send(&server, &post("/v1/responses", "", &first.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let output = resp.json()["output"].as_array().unwrap().clone();
    up.next_request();
    let call = output
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap();
    let message = output.iter().find(|i| i["type"] == "message").unwrap();
    let second = json!({"model": "anthropic/claude-3-5-sonnet", "tools": tools, "input": [
        {"role": "user", "content": "Weather and time?"},
        {"type": "item_reference", "id": message["id"]},
        {"type": "item_reference", "id": call["id"]},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"},
    ]});
    let resp = send(&server, &post("/v1/responses", "", &second.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let sent: Value = serde_json::from_slice(&up.next_request().body).unwrap();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{sent}");
    let assistant = &messages[1]["content"];
    assert!(
        assistant
            .to_string()
            .contains(call["call_id"].as_str().unwrap()),
        "{sent}"
    );
    assert!(assistant.to_string().contains("tool_use"), "{sent}");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result", "{sent}");

    let dangling = json!({"model": "anthropic/claude-3-5-sonnet", "input": [
        {"type": "item_reference", "id": format!("{}_9", call["id"].as_str().unwrap())}]});
    let resp = send(&server, &post("/v1/responses", "", &dangling.to_string()));
    assert_eq!(resp.status, 400, "{}", resp.text());
}

/// A conversation begun on a translated provider goes on with one that serves the API
/// itself: it gets the whole conversation as `input`, since it cannot know the id.
#[test]
fn a_conversation_moves_to_openai_as_its_whole_input() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::start(|seen, w| {
        let body = match seen.target.as_str() {
            "/v1/messages" => String::from_utf8(anthropic_text().to_vec()).unwrap(),
            _ => r#"{"id":"resp_x","object":"response","output":[]}"#.to_string(),
        };
        write_json(w, 200, &body);
        After::KeepAlive
    });
    let server = observed(&up, dir.path(), "");
    let first = json!({"model": "anthropic/claude-3-opus", "input": "Tell me a joke"});
    let resp = send(&server, &post("/v1/responses", "", &first.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let joke = output_text(&resp.json());
    up.next_request();
    let second = json!({"model": "openai/gpt-4.1", "input": "Explain it", "previous_response_id": resp.json()["id"]});
    let resp = send(&server, &post("/v1/responses", "", &second.to_string()));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.next_request();
    assert_eq!(seen.target, "/v1/responses");
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    assert!(sent.get("previous_response_id").is_none(), "{sent}");
    assert_eq!(sent["model"], "gpt-4.1");
    let input = sent["input"].as_array().unwrap();
    assert_eq!(input.len(), 3, "{sent}");
    assert_eq!(input[0]["role"], "user");
    assert_eq!(input[1]["type"], "message");
    assert_eq!(input[1]["content"][0]["text"], joke.as_str());
    assert_eq!(input[2]["content"][0]["text"], "Explain it");
}

/// An id the log cannot hold yet (its time is in the future) is not waited for: a 404, as
/// for an id older than any entry (before, it was asked for again forever).
#[test]
fn a_response_id_from_the_future_is_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let up = Upstream::fixed(200, "application/json", anthropic_text());
    let server = observed(&up, dir.path(), "");
    for id in [
        "resp_ffffffffffff70008000000000000000",
        "resp_00000000000070008000000000000000",
    ] {
        let body =
            json!({"model": "anthropic/claude-3-opus", "input": "x", "previous_response_id": id});
        let resp = send(&server, &post("/v1/responses", "", &body.to_string()));
        assert_eq!((resp.status, resp.code()), (404, 2002), "{}", resp.text());
        let resp = get(&server, &format!("/v1/responses/{id}"));
        assert_eq!(resp.status, 404, "{}", resp.text());
    }
    assert!(up.saw_nothing());
}
