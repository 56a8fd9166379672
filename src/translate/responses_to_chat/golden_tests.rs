//! Golden tests: the recorded OpenAI Chat bodies and streams through the Responses
//! translators, checked against what the recordings say (text, calls, usage, ending).

use serde_json::{json, Value};

use super::*;
use crate::sse::SseScanner;
use crate::translate::golden::{fixture, fixtures, json, read};

pub(super) fn options() -> ResponseOptions {
    ResponseOptions {
        id: "resp_0193abc".into(),
        created_at: 1_700_000_000,
        model: "openai/gpt-x".into(),
        echo: ResponseEcho::default(),
    }
}

#[test]
fn the_recorded_text_completion_is_a_completed_response_with_one_message() {
    let got = translate_response(&fixture("openai/chat-completion-text.json"), &options()).unwrap();
    let response = json(&got, "text");
    assert_eq!(
        response,
        json!({
            "id": "resp_0193abc", "object": "response", "created_at": 1_700_000_000,
            "status": "completed", "error": null, "incomplete_details": null,
            "instructions": null, "max_output_tokens": null, "model": "openai/gpt-x",
            "output": [{
                "id": "msg_0193abc", "type": "message", "status": "completed", "role": "assistant",
                "content": [{ "type": "output_text", "text": "Hello! How can I help you today?", "annotations": [], "logprobs": [] }],
            }],
            "parallel_tool_calls": true, "previous_response_id": null,
            "reasoning": { "effort": null, "summary": null }, "store": true, "temperature": 1.0,
            "text": { "format": { "type": "text" } }, "tool_choice": "auto", "tools": [],
            "top_p": 1.0, "truncation": "disabled", "user": null, "metadata": {},
            "usage": {
                "input_tokens": 8, "input_tokens_details": { "cached_tokens": 0 },
                "output_tokens": 82, "output_tokens_details": { "reasoning_tokens": 64 },
                "total_tokens": 90,
            },
        })
    );
}

#[test]
fn the_recorded_parallel_tool_calls_are_one_function_call_item_each() {
    let body = fixture("openai/chat-completion-parallel-tool-calls.json");
    let response = json(&translate_response(&body, &options()).unwrap(), "tools");
    let call = |n: usize, call_id: &str, city: &str| {
        json!({
            "id": format!("fc_0193abc_{n}"), "type": "function_call", "status": "completed",
            "call_id": call_id, "name": "get_current_weather",
            "arguments": format!("{{\"location\": \"{city}\"}}"),
        })
    };
    assert_eq!(
        response["output"],
        json!([
            call(0, "call_rU416PaA6UFgxje2GemBVAwt", "San Francisco"),
            call(1, "call_iqCZB6DkOW5TPjHK29vpiAFa", "Boston"),
        ])
    );
    assert_eq!(response["status"], "completed");
    assert_eq!(response["usage"]["total_tokens"], 116);
}

#[test]
fn the_recorded_errors_keep_their_openai_members() {
    for (name, path) in fixtures("openai", "error-", ".json") {
        let status: u16 = name[6..9].parse().unwrap();
        let upstream = json(&read(&path), &name);
        let got = json(&translate_error(&read(&path), status).unwrap(), &name);
        for key in ["message", "type", "param", "code"] {
            assert_eq!(got["error"][key], upstream["error"][key], "{name} {key}");
        }
    }
}

/// Every recorded Chat stream.
fn streams() -> Vec<(String, Vec<u8>)> {
    let out: Vec<(String, Vec<u8>)> = fixtures("openai", "chat-stream-", ".sse")
        .into_iter()
        .map(|(name, path)| (name, read(&path)))
        .collect();
    assert_eq!(out.len(), 6, "every recorded chat stream");
    out
}

/// Scans `pieces` in order and translates every event as it is dispatched, then ends.
pub(super) fn translate_stream(pieces: &[&[u8]]) -> Vec<u8> {
    let mut scanner = SseScanner::new();
    let mut translator = ChatToResponsesStream::new(options());
    let mut out = Vec::new();
    for piece in pieces {
        scanner.feed(piece, |event| {
            translator
                .push_event(event.event, event.data, &mut out)
                .unwrap();
        });
    }
    assert!(translator.end_of_stream(&mut out));
    out
}

/// The client's view: each event's data, checked to be named by its `type` and to
/// carry the next sequence number from 0.
pub(super) fn client_events(stream: &[u8]) -> Vec<Value> {
    let mut events = Vec::new();
    SseScanner::new().feed(stream, |event| {
        let name = event.event.expect("every Responses event is named");
        let data = json(event.data, name);
        assert_eq!(data["type"], name);
        assert_eq!(data["sequence_number"], events.len(), "{name}");
        events.push(data);
    });
    events
}

/// What the recorded chunks say: the text, each tool call's (id, name, arguments) by
/// index, the usage chunk and the last finish_reason.
struct Recorded {
    text: String,
    calls: Vec<(String, String, String)>,
    usage: Value,
    finish_reason: String,
}

fn recorded(stream: &[u8]) -> Recorded {
    let mut r = Recorded {
        text: String::new(),
        calls: Vec::new(),
        usage: Value::Null,
        finish_reason: String::new(),
    };
    SseScanner::new().feed(stream, |event| {
        let Ok(chunk) = serde_json::from_slice::<Value>(event.data) else {
            return;
        };
        if !chunk["usage"].is_null() {
            r.usage = chunk["usage"].clone();
        }
        for choice in chunk["choices"].as_array().unwrap() {
            let delta = &choice["delta"];
            r.text.push_str(delta["content"].as_str().unwrap_or(""));
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = call["index"].as_u64().unwrap() as usize;
                if index == r.calls.len() {
                    r.calls.push(Default::default());
                }
                let entry = &mut r.calls[index];
                entry.0.push_str(call["id"].as_str().unwrap_or(""));
                entry
                    .1
                    .push_str(call["function"]["name"].as_str().unwrap_or(""));
                entry
                    .2
                    .push_str(call["function"]["arguments"].as_str().unwrap_or(""));
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                r.finish_reason = reason.to_owned();
            }
        }
    });
    r
}

/// Accumulates the events the way the OpenAI Python SDK's stream helper does, into
/// the output items it would show.
fn accumulate(events: &[Value]) -> Vec<Value> {
    let mut output: Vec<Value> = Vec::new();
    for event in events {
        let index = event["output_index"].as_u64().unwrap_or(0) as usize;
        let content_index = event["content_index"].as_u64().unwrap_or(0) as usize;
        match event["type"].as_str().unwrap() {
            "response.output_item.added" => {
                assert_eq!(index, output.len());
                output.push(event["item"].clone());
            }
            "response.content_part.added" => {
                let parts = output[index]["content"].as_array_mut().unwrap();
                assert_eq!(content_index, parts.len());
                parts.push(event["part"].clone());
            }
            "response.output_text.delta" => {
                assert_eq!(event["logprobs"], json!([]));
                assert_eq!(event["item_id"], output[index]["id"]);
                let text = &mut output[index]["content"][content_index]["text"];
                *text = json!(format!(
                    "{}{}",
                    text.as_str().unwrap(),
                    event["delta"].as_str().unwrap()
                ));
            }
            "response.output_text.done" => {
                assert_eq!(
                    event["text"],
                    output[index]["content"][content_index]["text"]
                );
            }
            "response.function_call_arguments.delta" => {
                assert_eq!(event["item_id"], output[index]["id"]);
                let args = &mut output[index]["arguments"];
                *args = json!(format!(
                    "{}{}",
                    args.as_str().unwrap(),
                    event["delta"].as_str().unwrap()
                ));
            }
            "response.function_call_arguments.done" => {
                assert_eq!(event["arguments"], output[index]["arguments"]);
            }
            "response.output_item.done" => {
                let mut built = output[index].clone();
                built["status"] = json!("completed");
                assert_eq!(event["item"], built, "done item = the deltas accumulated");
                output[index] = event["item"].clone();
            }
            _ => {}
        }
    }
    output
}

#[test]
fn recorded_streams_become_event_sequences_that_accumulate_to_the_final_response() {
    for (name, text) in streams() {
        let events = client_events(&translate_stream(&[&text]));
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types[..2],
            ["response.created", "response.in_progress"],
            "{name}"
        );
        assert_eq!(events[0]["response"]["status"], "in_progress", "{name}");
        assert_eq!(events[0]["response"]["output"], json!([]), "{name}");
        let want = recorded(&text);
        let last = events.last().unwrap();
        let response = &last["response"];
        if want.finish_reason == "length" {
            assert_eq!(types.last(), Some(&"response.incomplete"), "{name}");
            assert_eq!(
                response["incomplete_details"]["reason"],
                "max_output_tokens"
            );
        } else {
            assert_eq!(types.last(), Some(&"response.completed"), "{name}");
            assert_eq!(response["status"], "completed", "{name}");
        }
        let output = accumulate(&events);
        assert_eq!(response["output"], json!(output), "{name}");
        let texts: Vec<&str> = output
            .iter()
            .filter(|item| item["type"] == "message")
            .map(|item| item["content"][0]["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts.concat(), want.text, "{name}");
        let calls: Vec<(String, String, String)> = output
            .iter()
            .filter(|item| item["type"] == "function_call")
            .map(|item| {
                let field = |k: &str| item[k].as_str().unwrap().to_owned();
                (field("call_id"), field("name"), field("arguments"))
            })
            .collect();
        assert_eq!(calls, want.calls, "{name}");
        let usage = &response["usage"];
        let prompt = want.usage["prompt_tokens"].as_u64().unwrap_or(0);
        let completion = want.usage["completion_tokens"].as_u64().unwrap_or(0);
        assert_eq!(usage["input_tokens"], prompt, "{name}");
        assert_eq!(usage["output_tokens"], completion, "{name}");
        assert_eq!(usage["total_tokens"], prompt + completion, "{name}");
        let reasoning = &want.usage["completion_tokens_details"]["reasoning_tokens"];
        assert_eq!(
            usage["output_tokens_details"]["reasoning_tokens"],
            reasoning.as_u64().unwrap_or(0)
        );
    }
}

#[test]
fn the_recorded_text_stream_is_one_message_with_a_delta_per_chunk() {
    let text = fixture("openai/chat-stream-text.sse");
    let events = client_events(&translate_stream(&[&text]));
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let deltas = types
        .iter()
        .filter(|t| **t == "response.output_text.delta")
        .count();
    // 51 data events: the role chunk, the content chunks, the finish chunk, [DONE].
    assert_eq!(deltas, 48);
    let mut want = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    want.extend(std::iter::repeat_n("response.output_text.delta", deltas));
    want.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(types, want);
    assert_eq!(events[4]["item_id"], "msg_0193abc");
    assert_eq!(events[4]["output_index"], 0);
    assert_eq!(events[4]["content_index"], 0);
    assert_eq!(events[4]["delta"], "Hi");
    assert_eq!(
        events[3]["part"],
        json!({ "type": "output_text", "text": "", "annotations": [], "logprobs": [] })
    );
}

#[test]
fn the_recorded_parallel_calls_stream_is_two_items_in_turn() {
    let text = fixture("openai/chat-stream-include-usage-two-tools.sse");
    let events = client_events(&translate_stream(&[&text]));
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let item = [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ];
    let mut want = vec!["response.created", "response.in_progress"];
    want.extend(item);
    want.extend(item);
    want.push("response.completed");
    assert_eq!(types, want);
    assert_eq!(
        events[2]["item"],
        json!({
            "id": "fc_0193abc_0", "type": "function_call", "status": "in_progress",
            "call_id": "call_q2UyBRP7eXNTzAoR8lEhjc9Z", "name": "get_country", "arguments": "",
        })
    );
    assert_eq!(events[6]["output_index"], 1);
    assert_eq!(events[6]["item"]["name"], "get_product_name");
    assert_eq!(events[7]["item_id"], "fc_0193abc_1");
    assert_eq!(
        events.last().unwrap()["response"]["usage"]["input_tokens"],
        364
    );
}

#[test]
fn stream_output_is_the_same_however_the_upstream_bytes_are_split() {
    for (name, text) in streams() {
        let whole = translate_stream(&[&text]);
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(translate_stream(&[a, b]), whole, "{name} split at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(translate_stream(&bytes), whole, "{name} byte by byte");
    }
}
