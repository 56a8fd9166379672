//! The real Responses API recordings (tests/fixtures/openai/responses-*) as the measure of
//! what the gateway writes and reads: the translated stream has their event sequence and
//! fields, and a passed-through stream's usage and final object are read at any split.

use super::pairs::{ResponsesTranslation, ResponsesUpstream, StreamTranslator, Translation};
use super::responses_to_chat::{output_items, ResponseOptions};
use crate::observe::{from_json_body, StreamUsage};
use crate::sse::{EventFilter, SseScanner};
use serde_json::Value;

const RECORDED: [&[u8]; 2] = [
    include_bytes!("../../tests/fixtures/openai/responses-stream-text.sse"),
    include_bytes!("../../tests/fixtures/openai/responses-stream-text-2025-10.sse"),
];
const RECORDED_JSON: [&[u8]; 2] = [
    include_bytes!("../../tests/fixtures/openai/responses-text.json"),
    include_bytes!("../../tests/fixtures/openai/responses-function-call.json"),
];
const CHAT_TEXT: &[u8] =
    include_bytes!("../../tests/fixtures/openai/chat-stream-include-usage-text.sse");

/// Each event's name and data, split the way `cut` says.
fn events(stream: &[u8], cut: usize) -> Vec<(String, Value)> {
    let mut scanner = SseScanner::new();
    let mut out = Vec::new();
    for piece in [&stream[..cut], &stream[cut..]] {
        scanner.feed(piece, |e| {
            let data = serde_json::from_slice(e.data).unwrap_or(Value::Null);
            out.push((e.event.unwrap_or_default().to_string(), data));
        });
    }
    out
}

/// Event names with runs of one name (the deltas) folded into one.
fn shape(events: &[(String, Value)]) -> Vec<String> {
    let mut names: Vec<String> = events.iter().map(|(n, _)| n.clone()).collect();
    names.dedup();
    names
}

fn translated_text_stream() -> Vec<u8> {
    let translation = Translation::Responses(Box::new(ResponsesTranslation {
        upstream: ResponsesUpstream::Chat,
        stream: true,
        options: ResponseOptions {
            id: "resp_0193a1b2c3d4e5f60718293a4b5c6d7e".into(),
            created_at: 1_700_000_000,
            model: "openai/gpt-4o-mini".into(),
            ..ResponseOptions::default()
        },
    }));
    let mut translator = StreamTranslator::new(&translation, 1_700_000_000);
    let mut out = Vec::new();
    SseScanner::new().feed_filter(CHAT_TEXT, &mut translator, &mut out, |_| {});
    assert!(translator.end(&mut out));
    out
}

#[test]
fn a_translated_text_stream_has_the_recorded_event_sequence_and_fields() {
    let ours = events(&translated_text_stream(), 0);
    for recorded in RECORDED {
        let real = events(recorded, 0);
        assert_eq!(shape(&ours), shape(&real));
        // Every field the real event of that name has, ours has too (values aside).
        for (name, data) in &real {
            let mine = &ours.iter().find(|(n, _)| n == name).unwrap().1;
            let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
            for key in keys(data).unwrap_or_default() {
                // Fields of OpenAI's own service (obfuscation, service_tier, billing, ...).
                let openai_only = ["obfuscation"].contains(&key.as_str());
                assert!(
                    openai_only || mine.get(&key).is_some(),
                    "{name} lacks {key}: {mine}"
                );
            }
        }
        let (real_last, mine_last) = (&real.last().unwrap().1, &ours.last().unwrap().1);
        for key in ["output", "usage", "status", "id", "model", "object"] {
            assert!(mine_last["response"].get(key).is_some(), "{key}");
            assert!(real_last["response"].get(key).is_some(), "{key}");
        }
    }
}

#[test]
fn a_passed_through_stream_gives_its_usage_and_final_object_at_every_split() {
    for recorded in RECORDED {
        let whole = events(recorded, 0);
        let completed = &whole.last().unwrap().1["response"];
        let usage = &completed["usage"];
        let want = (
            usage["input_tokens"].as_u64(),
            usage["output_tokens"].as_u64(),
        );
        let text: String = whole
            .iter()
            .filter(|(n, _)| n == "response.output_text.delta")
            .filter_map(|(_, d)| d["delta"].as_str())
            .collect();
        for cut in 0..recorded.len() {
            let mut tap = StreamUsage::new();
            let mut scanner = SseScanner::new();
            for piece in [&recorded[..cut], &recorded[cut..]] {
                scanner.feed(piece, |e| tap.observe_event(e.data));
            }
            let got = tap.usage().unwrap();
            assert_eq!(
                (Some(got.tokens_in), Some(got.tokens_out)),
                want,
                "cut at {cut}"
            );
            assert_eq!(events(recorded, cut), whole, "cut at {cut}");
        }
        let items = output_items(&serde_json::to_vec(completed).unwrap()).unwrap();
        let item_text = items[0]["content"][0]["text"].as_str().unwrap();
        assert_eq!(item_text, text);
    }
}

#[test]
fn recorded_response_objects_give_usage_and_output_items() {
    for recorded in RECORDED_JSON {
        let v: Value = serde_json::from_slice(recorded).unwrap();
        let usage = from_json_body(recorded).unwrap();
        assert_eq!(Some(usage.tokens_in), v["usage"]["input_tokens"].as_u64());
        assert_eq!(Some(usage.tokens_out), v["usage"]["output_tokens"].as_u64());
        let items = output_items(recorded).unwrap();
        assert_eq!(items.len(), v["output"].as_array().unwrap().len());
    }
    let calls = output_items(RECORDED_JSON[1]).unwrap();
    assert!(
        calls.iter().any(|i| i["type"] == "function_call"),
        "{calls:?}"
    );
}
