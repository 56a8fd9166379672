//! Golden tests: recorded Anthropic bodies and streams against OpenAI output written
//! by hand in tests/fixtures/translate, compared as JSON values, plus request pairs.

use serde_json::Value;

use super::{
    translate_error, translate_message, translate_request, AnthropicToOpenAiStream, StreamOptions,
};
use crate::sse::SseScanner;
use crate::translate::golden::{fixture, fixtures, fixtures_root, json, read};

const CREATED: u64 = 1_700_000_000;

fn expected(name: &str, ext: &str) -> Vec<u8> {
    fixture(&format!("translate/{name}.openai.{ext}"))
}

#[test]
fn recorded_messages_translate_to_the_hand_written_completions() {
    let inputs = fixtures("translate/anthropic", "message-", ".json");
    assert_eq!(inputs.len(), 4, "every recorded Anthropic message");
    for (name, path) in inputs {
        let got = translate_message(&read(&path), CREATED, false).unwrap();
        assert_eq!(
            json(&got, &name),
            json(&expected(&name, "json"), &name),
            "{name}"
        );
    }
}

#[test]
fn anthropic_errors_translate_to_openai_errors() {
    let inputs = fixtures("translate", "error-", ".anthropic.json");
    assert_eq!(inputs.len(), 2);
    for (name, path) in inputs {
        let got = translate_error(&read(&path)).unwrap();
        assert_eq!(
            json(&got, &name),
            json(&expected(&name, "json"), &name),
            "{name}"
        );
    }
}

#[test]
fn openai_requests_translate_to_the_hand_written_anthropic_requests() {
    let inputs = fixtures("translate", "request-", ".openai.json");
    assert_eq!(inputs.len(), 8, "every hand-written request fixture");
    for (name, path) in inputs {
        let got = translate_request(&read(&path), "claude-sonnet-4-5").unwrap();
        let want = read(
            &fixtures_root()
                .join("translate")
                .join(format!("{name}.anthropic.json")),
        );
        assert_eq!(json(&got.body, &name), json(&want, &name), "{name}");
    }
}

/// Every Anthropic stream: the recorded ones and the hand-written error stream.
fn stream_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fixtures("anthropic", "stream-", ".sse")
        .into_iter()
        .chain(fixtures("translate", "stream-", ".anthropic.sse"))
        .map(|(name, path)| (name, read(&path)))
        .collect();
    out.sort();
    assert_eq!(out.len(), 5, "four recorded streams and one hand-written");
    out
}

fn options() -> StreamOptions {
    StreamOptions {
        id: None,
        model: None,
        created: CREATED,
        include_usage: true,
        json_tool: false,
    }
}

/// Scans `text` cut into `pieces` and translates every event as it is dispatched.
fn translate_stream(pieces: &[&[u8]]) -> Vec<u8> {
    let mut scanner = SseScanner::new();
    let mut translator = AnthropicToOpenAiStream::new(options());
    let mut out = Vec::new();
    for piece in pieces {
        scanner.feed(piece, |event| {
            translator
                .push_event(event.event, event.data, &mut out)
                .unwrap();
        });
    }
    out
}

/// The client's view of an OpenAI stream: each event's data as JSON, `[DONE]` kept.
fn client_events(stream: &[u8]) -> Vec<Value> {
    let mut events = Vec::new();
    SseScanner::new().feed(stream, |event| {
        assert_eq!(event.event, None, "OpenAI chunks are unnamed events");
        events.push(match event.data {
            b"[DONE]" => Value::String("[DONE]".into()),
            data => json(data, "chunk"),
        });
    });
    events
}

#[test]
fn anthropic_streams_translate_to_the_hand_written_chunks() {
    for (name, text) in stream_inputs() {
        let got = translate_stream(&[&text]);
        // Framing is exactly `data: <json>\n\n` per event, nothing else.
        let raw_events: Vec<&[u8]> = got
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert!(
            raw_events.iter().all(|l| l.starts_with(b"data: ")),
            "{name}"
        );
        assert!(got.ends_with(b"\n\n"), "{name}");
        let want = client_events(&expected(&name, "sse"));
        assert!(
            want.len() >= 3,
            "{name}: expected file too short to mean anything"
        );
        assert_eq!(raw_events.len(), want.len(), "{name}");
        assert_eq!(client_events(&got), want, "{name}");
    }
}

#[test]
fn stream_output_is_the_same_however_the_upstream_bytes_are_split() {
    for (name, text) in stream_inputs() {
        let whole = translate_stream(&[&text]);
        assert!(!whole.is_empty(), "{name}");
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(translate_stream(&[a, b]), whole, "{name} split at {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(translate_stream(&bytes), whole, "{name} byte by byte");
    }
}
