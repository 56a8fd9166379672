//! Responses translation beyond the fixtures: refusals, endings, echoed fields, error
//! bodies of any shape, output items fed back as history, and stream edge cases.

use serde_json::{json, Value};

use super::golden_tests::{client_events, options};
use super::*;

fn response(message: Value, finish: &str, usage: Value, options: &ResponseOptions) -> Value {
    let body = json!({ "id": "c1", "model": "gpt", "choices": [{ "index": 0, "message": message, "finish_reason": finish }], "usage": usage });
    serde_json::from_slice(&translate_response(body.to_string().as_bytes(), options).unwrap())
        .unwrap()
}

#[test]
fn refusals_endings_and_cached_tokens_map() {
    let usage = json!({ "prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": { "cached_tokens": 60 } });
    let out = response(
        json!({ "content": null, "refusal": "I can't" }),
        "length",
        usage,
        &options(),
    );
    assert_eq!(out["status"], "incomplete");
    assert_eq!(
        out["incomplete_details"],
        json!({ "reason": "max_output_tokens" })
    );
    assert_eq!(
        out["output"][0]["content"],
        json!([{ "type": "refusal", "refusal": "I can't" }])
    );
    assert_eq!(
        out["usage"],
        json!({ "input_tokens": 100, "input_tokens_details": { "cached_tokens": 60 }, "output_tokens": 5, "output_tokens_details": { "reasoning_tokens": 0 }, "total_tokens": 105 })
    );
    let filtered = response(
        json!({ "content": "" }),
        "content_filter",
        Value::Null,
        &options(),
    );
    assert_eq!(filtered["incomplete_details"]["reason"], "content_filter");
    assert_eq!(filtered["output"], json!([]));
    assert_eq!(filtered["usage"]["total_tokens"], 0);
}

#[test]
fn the_request_fields_are_echoed() {
    let request = json!({
        "input": "hi", "instructions": "sys", "max_output_tokens": 9, "metadata": { "k": "v" },
        "parallel_tool_calls": false, "previous_response_id": "resp_p", "store": false,
        "temperature": 0.5, "top_p": 0.5, "user": "u", "tool_choice": "required",
        "tools": [{ "type": "function", "name": "f", "parameters": {} }],
        "text": { "format": { "type": "json_object" } }, "reasoning": { "effort": "high" },
    });
    let echo = translate_request(request.to_string().as_bytes(), "m", &[])
        .unwrap()
        .echo;
    let out = response(
        json!({ "content": "x" }),
        "stop",
        json!({}),
        &ResponseOptions { echo, ..options() },
    );
    for key in [
        "instructions",
        "max_output_tokens",
        "metadata",
        "parallel_tool_calls",
        "previous_response_id",
        "store",
        "temperature",
        "top_p",
        "user",
        "tool_choice",
        "tools",
        "text",
    ] {
        assert_eq!(out[key], request[key], "{key}");
    }
    assert_eq!(
        out["reasoning"],
        json!({ "effort": "high", "summary": null })
    );
}

#[test]
fn any_upstream_error_body_gives_a_well_formed_responses_error() {
    let error = |body: &[u8], status| -> Value {
        serde_json::from_slice(&translate_error(body, status).unwrap()).unwrap()
    };
    assert_eq!(
        error(
            br#"{"error":{"message":"bad","type":"invalid_request_error","param":"x","code":"c"}}"#,
            400
        ),
        json!({ "error": { "message": "bad", "type": "invalid_request_error", "param": "x", "code": "c" } })
    );
    assert_eq!(
        error(b"<html>502</html>", 502),
        json!({ "error": { "message": "the upstream provider answered HTTP 502", "type": "server_error", "param": null, "code": null } })
    );
    assert_eq!(
        error(br#"{"error":"slow down"}"#, 429)["error"]["message"],
        "slow down"
    );
    assert_eq!(
        error(br#"{"error":"slow down"}"#, 429)["error"]["type"],
        "rate_limit_exceeded"
    );
    assert_eq!(
        error(br#"{"message":"nope","code":401}"#, 401)["error"],
        json!({ "message": "nope", "type": "invalid_request_error", "param": null, "code": "401" })
    );
    assert_eq!(error(b"", 503)["error"]["type"], "server_error");
}

#[test]
fn bad_upstream_bodies_are_typed_errors() {
    assert!(matches!(
        translate_response(br#"{"choices":[]}"#, &options()),
        Err(ResponseError::NoChoices)
    ));
    assert!(matches!(
        translate_response(b"<html>", &options()),
        Err(ResponseError::Malformed {
            expected: "chat.completion",
            ..
        })
    ));
    assert!(matches!(output_items(b"[]"), Err(ResponseError::NoOutput)));
    assert!(matches!(
        output_items(b"x"),
        Err(ResponseError::Malformed {
            expected: "response",
            ..
        })
    ));
}

#[test]
fn output_items_feed_the_next_turn_as_history() {
    let chat = json!({ "choices": [{ "message": { "content": "Checking.", "tool_calls": [
        { "id": "call_1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Oslo\"}" } },
    ] }, "finish_reason": "tool_calls" }] });
    let object = translate_response(chat.to_string().as_bytes(), &options()).unwrap();
    let mut history = input_items(br#"{"input":"weather in Oslo?"}"#).unwrap();
    history.extend(output_items(&object).unwrap());
    let event = json!({ "type": "response.completed", "response": serde_json::from_slice::<Value>(&object).unwrap() });
    assert_eq!(
        output_items(event.to_string().as_bytes()).unwrap(),
        output_items(&object).unwrap()
    );
    let next = json!({ "input": [{ "type": "function_call_output", "call_id": "call_1", "output": "sunny" }] });
    let translated = translate_request(next.to_string().as_bytes(), "m", &history).unwrap();
    let body: Value = serde_json::from_slice(&translated.body).unwrap();
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": "weather in Oslo?" },
            { "role": "assistant", "content": "Checking.", "tool_calls": [
                { "id": "call_1", "type": "function", "function": { "name": "weather", "arguments": "{\"city\":\"Oslo\"}" } },
            ] },
            { "role": "tool", "tool_call_id": "call_1", "content": "sunny" },
        ])
    );
}

fn push_all(stream: &mut ChatToResponsesStream, chunks: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in chunks {
        stream.push_event(None, chunk.as_bytes(), &mut out).unwrap();
    }
    out
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[test]
fn text_then_a_tool_call_closes_the_message_first_and_a_refusal_is_its_own_part() {
    let mut stream = ChatToResponsesStream::new(options());
    let mut out = push_all(
        &mut stream,
        &[
            r#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"refusal":"no"}}]}"#,
            r#"{"choices":[{"index":1,"delta":{"content":"other choice"}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","function":{"name":"f","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        ],
    );
    assert!(stream.end_of_stream(&mut out), "finished without [DONE]");
    let events = client_events(&out);
    assert_eq!(
        types(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.content_part.added",
            "response.refusal.delta",
            "response.refusal.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(events[8]["content_index"], 1);
    assert_eq!(events[12]["output_index"], 1);
    let output = &events[16]["response"]["output"];
    assert_eq!(
        output[0]["content"],
        json!([
            { "type": "output_text", "text": "a", "annotations": [], "logprobs": [] },
            { "type": "refusal", "refusal": "no" },
        ])
    );
    assert_eq!(output[1]["call_id"], "call_9");
    assert!(stream.is_finished());
}

#[test]
fn a_stream_cut_off_claims_nothing_and_an_upstream_error_is_an_error_event() {
    let mut cut = ChatToResponsesStream::new(options());
    let mut out = push_all(
        &mut cut,
        &[r#"{"choices":[{"index":0,"delta":{"content":"par"}}]}"#],
    );
    let before = out.len();
    assert!(!cut.end_of_stream(&mut out));
    assert_eq!(out.len(), before, "no done or completed events");

    let mut failing = ChatToResponsesStream::new(options());
    let mut out = push_all(
        &mut failing,
        &[
            r#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#,
            r#"{"error":{"message":"overloaded","type":"server_error","code":null}}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"ignored"}}]}"#,
        ],
    );
    assert!(failing.end_of_stream(&mut out));
    let events = client_events(&out);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["code"], "server_error");
    assert_eq!(last["message"], "overloaded");
    assert_eq!(last["param"], Value::Null);
    assert_eq!(
        events.len(),
        6,
        "created, in_progress, item, part, delta, error"
    );
}

#[test]
fn a_malformed_chunk_is_an_error_and_changes_nothing() {
    let mut stream = ChatToResponsesStream::new(options());
    let mut out = Vec::new();
    assert!(matches!(
        stream.push_event(None, b"{oops", &mut out),
        Err(StreamError::MalformedChunk(_))
    ));
    assert!(out.is_empty());
    stream.push_event(None, b"[DONE]", &mut out).unwrap();
    let events = client_events(&out);
    assert_eq!(
        types(&events),
        [
            "response.created",
            "response.in_progress",
            "response.completed"
        ]
    );
    assert_eq!(events[2]["response"]["usage"]["total_tokens"], 0);
}

#[test]
fn calls_without_an_index_are_told_apart_by_their_ids() {
    let mut stream = ChatToResponsesStream::new(options());
    let mut out = push_all(
        &mut stream,
        &[
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ],
    );
    assert!(stream.end_of_stream(&mut out));
    let events = client_events(&out);
    let output = &events.last().unwrap()["response"]["output"];
    let calls: Vec<(&str, &str)> = output
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["call_id"].as_str().unwrap(),
                item["arguments"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(calls, [("a", "{\"x\":1}"), ("b", "{}")]);
}
