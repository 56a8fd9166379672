//! The real `sluice-mock` binary answering OpenAI Responses: JSON and SSE for text, a function
//! call, a tool output and JSON, checked against `tests/fixtures/openai/responses-*` recordings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::exchange::{exchange, sse_events};
use common::Mock;
use serde_json::{json, Value};

const PATH: &str = "/v1/responses";
const TEXT: &str = r#"{"model":"gpt-mock","input":"hi"}"#;
const TOOLS: &str = r#"{"model":"gpt-mock","input":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}"#;

const REAL_TEXT: &str = include_str!("../../tests/fixtures/openai/responses-text.json");
const REAL_CALL: &str = include_str!("../../tests/fixtures/openai/responses-function-call.json");
const REAL_STREAM: &str = include_str!("../../tests/fixtures/openai/responses-stream-text.sse");
/// The same stream recorded in October 2025, when the fields came in another order.
const OLDER_STREAM: &str =
    include_str!("../../tests/fixtures/openai/responses-stream-text-2025-10.sse");

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    keys
}

/// The keys of the JSON object `text`, in the order they are written.
fn key_order(text: &str) -> Vec<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                keys.push(key);
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, Keys).unwrap()
}

/// `key_order`, leaving out what the mock does not send (`billing`, `obfuscation`).
fn sent_key_order(text: &str) -> Vec<String> {
    let mut keys = key_order(text);
    keys.retain(|k| k != "billing" && k != "obfuscation");
    keys
}

/// The `data:` line of each event of `stream`.
fn data_lines(stream: &str) -> Vec<&str> {
    stream
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect()
}

/// The mock's object has the real one's fields (bar per-account `billing`), and no others.
fn assert_same_fields(mock: &Value, real: &Value) {
    let mut real_keys = keys(real);
    real_keys.retain(|k| *k != "billing" && *k != "obfuscation");
    assert_eq!(keys(mock), real_keys);
}

#[test]
fn json_is_a_completed_response_with_one_message_shaped_like_the_recording() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let response = exchange(&mut conn, PATH, &["x-mock-chunks: 3"], TEXT);
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "application/json");
    let json = response.json();
    let real: Value = serde_json::from_str(REAL_TEXT).unwrap();
    assert_same_fields(&json, &real);
    assert_same_fields(&json["output"][0], &real["output"][0]);
    assert!(json["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(json["object"], "response");
    assert_eq!(json["status"], "completed");
    assert_eq!(json["model"], "gpt-mock");
    assert_eq!(
        (
            json["error"].is_null(),
            json["incomplete_details"].is_null()
        ),
        (true, true)
    );
    assert_eq!(json["parallel_tool_calls"], true);
    assert_eq!(
        (&json["tool_choice"], &json["tools"]),
        (&json!("auto"), &json!([]))
    );
    let item = &json["output"][0];
    assert!(item["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        (&item["type"], &item["status"], &item["role"]),
        (&json!("message"), &json!("completed"), &json!("assistant"))
    );
    assert_eq!(
        item["content"],
        json!([{"type": "output_text", "annotations": [], "logprobs": [], "text": "tok0 tok1 tok2 "}])
    );
    let prompt = TEXT.len().div_ceil(4);
    assert_eq!(
        json["usage"],
        json!({"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": prompt + 3})
    );

    let padded = exchange(&mut conn, PATH, &["x-mock-body-bytes: 100"], TEXT).json();
    assert!(
        padded["output"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .len()
            >= 100
    );
    let stream = TEXT.replace('}', r#","stream":true}"#);
    let started = std::time::Instant::now();
    let paced = [
        "x-mock-ttft-ms: 30",
        "x-mock-chunks: 3",
        "x-mock-chunk-interval-ms: 20",
    ];
    let response = exchange(&mut conn, PATH, &paced, &stream);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(70),
        "30 ms + 2 gaps of 20"
    );
    assert_eq!(response.status, 200);
    let error = exchange(&mut conn, PATH, &["x-mock-status: 429"], TEXT);
    assert_eq!(error.status, 429);
    assert_eq!(error.json()["error"]["code"], "rate_limit_exceeded");
}

#[test]
fn stream_is_the_recorded_event_sequence_numbered_one_event_per_write() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let body = TEXT.replace('}', r#","stream":true}"#);
    let response = exchange(&mut conn, PATH, &["x-mock-chunks: 3"], &body);
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "text/event-stream");
    let events = sse_events(&response.body(), "\n\n");
    assert_eq!(response.chunks.len(), events.len(), "one event per write");
    let real = sse_events(REAL_STREAM.as_bytes(), "\n\n");
    // The same names in the same order (the recording has 7 deltas, the mock 3), and each
    // event carries the recording's fields.
    let names = |events: &[(Option<String>, Value)]| {
        let mut names: Vec<String> = events.iter().map(|(n, _)| n.clone().unwrap()).collect();
        names.dedup();
        names
    };
    assert_eq!(names(&events), names(&real));
    let older = sse_events(OLDER_STREAM.as_bytes(), "\n\n");
    assert_eq!(names(&events), names(&older));
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_deref().unwrap());
        assert_eq!(data["sequence_number"], i, "{name:?}");
        let (_, recorded) = real.iter().find(|(n, _)| n == name).unwrap();
        assert_same_fields(data, recorded);
    }
    let deltas: String = events
        .iter()
        .filter(|(n, _)| n.as_deref() == Some("response.output_text.delta"))
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "tok0 tok1 tok2 ");
    let done = events
        .iter()
        .find(|(n, _)| n.as_deref() == Some("response.output_text.done"));
    assert_eq!(done.unwrap().1["text"], deltas);
    assert_eq!(events[0].1["response"]["status"], "in_progress");
    assert!(events[0].1["response"]["usage"].is_null());
    let completed = &events.last().unwrap().1["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"][0]["content"][0]["text"], deltas);
    assert_eq!(completed["usage"]["output_tokens"], 3);
    assert_eq!(completed["usage"]["input_tokens"], body.len().div_ceil(4));
}

#[test]
fn fields_are_in_the_order_openai_writes_them() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let body = String::from_utf8(exchange(&mut conn, PATH, &[], TEXT).body()).unwrap();
    assert_eq!(key_order(&body), sent_key_order(REAL_TEXT));
    let stream = TEXT.replace('}', r#","stream":true}"#);
    let stream = String::from_utf8(exchange(&mut conn, PATH, &[], &stream).body()).unwrap();
    let real = data_lines(REAL_STREAM);
    for data in data_lines(&stream) {
        let kind = &serde_json::from_str::<Value>(data).unwrap()["type"];
        let recorded = real
            .iter()
            .find(|r| &serde_json::from_str::<Value>(r).unwrap()["type"] == kind)
            .unwrap();
        assert_eq!(key_order(data), sent_key_order(recorded), "{kind}");
    }
}

#[test]
fn offered_function_is_called_as_a_function_call_item_json_and_stream() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let json = exchange(&mut conn, PATH, &[], TOOLS).json();
    let real: Value = serde_json::from_str(REAL_CALL).unwrap();
    let item = &json["output"][0];
    assert_same_fields(item, &real["output"][0]);
    assert_eq!(
        (&item["type"], &item["name"]),
        (&json!("function_call"), &json!("get_weather"))
    );
    assert!(item["call_id"].as_str().unwrap().starts_with("call_"));
    let arguments: Value = serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments, json!({"city": "mock"}));

    let body = TOOLS.replace(r#""tools""#, r#""stream":true,"tools""#);
    let response = exchange(&mut conn, PATH, &[], &body);
    let events = sse_events(&response.body(), "\n\n");
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_deref().unwrap()).collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "response.function_call_arguments.delta")
        .count();
    assert!(deltas >= 2, "arguments in fragments: {names:?}");
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
    ];
    expected.extend(std::iter::repeat_n(
        "response.function_call_arguments.delta",
        deltas,
    ));
    expected.extend([
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(names, expected);
    let added = &events[2].1["item"];
    assert_eq!(
        (&added["status"], &added["arguments"]),
        (&json!("in_progress"), &json!(""))
    );
    let streamed: String = events[3..3 + deltas]
        .iter()
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    let done = &events[3 + deltas].1;
    assert_eq!(done["arguments"], streamed);
    assert_eq!(done["item_id"], added["id"]);
    assert_eq!(
        serde_json::from_str::<Value>(&streamed).unwrap(),
        json!({"city": "mock"})
    );
    let completed = &events.last().unwrap().1["response"]["output"][0];
    assert_eq!(
        (&completed["type"], &completed["arguments"]),
        (&json!("function_call"), &json!(streamed))
    );
    for (i, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"], i);
    }

    let text = exchange(
        &mut conn,
        PATH,
        &["x-mock-tool-call: false", "x-mock-chunks: 1"],
        TOOLS,
    );
    assert_eq!(text.json()["output"][0]["content"][0]["text"], "tok0 ");
}

#[test]
fn function_call_output_is_echoed_and_text_format_gets_schema_json() {
    let mock = Mock::start(&[]);
    let mut conn = mock.connect();
    let round_trip = TOOLS.replace(
        r#"{"role":"user","content":"weather?"}"#,
        r#"{"role":"user","content":"weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"sunny, 22C"}"#,
    );
    let json = exchange(&mut conn, PATH, &[], &round_trip).json();
    assert_eq!(
        json["output"][0]["content"][0]["text"],
        "tool said: sunny, 22C"
    );

    let structured = r#"{"model":"gpt-mock","input":"a person","text":{"format":{"type":"json_schema","name":"person","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","age","tags"],"additionalProperties":false}}}}"#;
    let want = json!({"name": "mock", "age": 1, "tags": []});
    let json = exchange(&mut conn, PATH, &[], structured).json();
    let text = json["output"][0]["content"][0]["text"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), want);
    let stream = structured.replace(r#""input""#, r#""stream":true,"input""#);
    let events = sse_events(
        &exchange(&mut conn, PATH, &["x-mock-chunks: 4"], &stream).body(),
        "\n\n",
    );
    let streamed: String = events
        .iter()
        .filter(|(n, _)| n.as_deref() == Some("response.output_text.delta"))
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&streamed).unwrap(), want);
}
