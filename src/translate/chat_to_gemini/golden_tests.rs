//! Golden tests: recorded Gemini bodies and streams against OpenAI output written by
//! hand in tests/fixtures/translate/google, compared as JSON values, plus request pairs.

use serde_json::Value;
use std::path::PathBuf;

use super::{
    translate_error, translate_request, translate_response, GeminiToOpenAiStream, StreamOptions,
};
use crate::sse::SseScanner;
use crate::translate::golden::{fixture, fixtures, fixtures_root, json, read};

const CREATED: u64 = 1_700_000_000;

fn expected(name: &str, ext: &str) -> Vec<u8> {
    fixture(&format!("translate/google/{name}.{ext}"))
}

#[test]
fn recorded_responses_translate_to_the_hand_written_completions() {
    let inputs = fixtures("gemini", "generate-content-", ".json");
    assert_eq!(inputs.len(), 2, "every recorded generateContent body");
    for (name, path) in inputs {
        let got = translate_response(&read(&path), CREATED).unwrap();
        let want = expected(&name, "openai.json");
        assert_eq!(json(&got, &name), json(&want, &name), "{name}");
    }
}

#[test]
fn recorded_errors_translate_to_openai_errors() {
    let inputs = fixtures("gemini", "error-", ".json");
    assert_eq!(inputs.len(), 3, "every recorded Gemini error");
    for (name, path) in inputs {
        let got = translate_error(&read(&path)).unwrap();
        let want = expected(&name, "openai.json");
        assert_eq!(json(&got, &name), json(&want, &name), "{name}");
    }
}

#[test]
fn openai_requests_translate_to_the_hand_written_gemini_requests() {
    // The Anthropic direction's request inputs, plus Gemini-specific ones.
    let inputs: Vec<(String, PathBuf)> = fixtures("translate", "request-", ".openai.json")
        .into_iter()
        .chain(fixtures("translate/google", "request-", ".openai.json"))
        .collect();
    assert_eq!(inputs.len(), 9, "every request fixture");
    for (name, path) in inputs {
        let got = translate_request(&read(&path), "gemini-2.5-flash").unwrap();
        let want = expected(&name, "gemini.json");
        assert_eq!(json(&got.body, &name), json(&want, &name), "{name}");
        let sent = json(&read(&path), &name);
        let stream = sent["stream"] == true;
        assert_eq!(got.stream, stream, "{name}");
        assert_eq!(
            got.include_usage,
            sent["stream_options"]["include_usage"] == true,
            "{name}"
        );
        let path = if stream {
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        } else {
            "/v1beta/models/gemini-2.5-flash:generateContent"
        };
        assert_eq!(got.path, path, "{name}");
    }
}

/// Every Gemini SSE stream: the recorded ones and the hand-written error stream.
fn stream_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fixtures("gemini", "stream-sse-", ".sse")
        .into_iter()
        .chain(fixtures("translate/google", "stream-", ".gemini.sse"))
        .map(|(name, path)| (name, read(&path)))
        .collect();
    out.sort();
    assert_eq!(out.len(), 6, "five recorded streams and one hand-written");
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

/// Scans `pieces` in order and translates every event as it is dispatched.
fn translate_stream(pieces: &[&[u8]]) -> Vec<u8> {
    let mut scanner = SseScanner::new();
    let mut translator = GeminiToOpenAiStream::new(options());
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

fn assert_stream_matches(name: &str, got: &[u8]) {
    let raw_events: Vec<&[u8]> = got
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        raw_events.iter().all(|l| l.starts_with(b"data: ")),
        "{name}"
    );
    assert!(got.ends_with(b"\n\n"), "{name}");
    let want = client_events(&expected(name, "openai.sse"));
    assert!(want.len() >= 3, "{name}: expected file too short");
    assert_eq!(raw_events.len(), want.len(), "{name}");
    assert_eq!(client_events(got), want, "{name}");
}

#[test]
fn gemini_streams_translate_to_the_hand_written_chunks() {
    for (name, text) in stream_inputs() {
        assert_stream_matches(&name, &translate_stream(&[&text]));
    }
}

/// Without `alt=sse` Gemini streams a JSON array of the same responses; each element
/// is one event's data, so the translator gives the same chunks for it.
#[test]
fn json_array_stream_elements_translate_like_sse_events() {
    let name = "stream-json-array-function-call";
    let body = read(&fixtures_root().join(format!("gemini/{name}.json")));
    let Value::Array(elements) = json(&body, name) else {
        panic!("{name}: not an array");
    };
    let mut translator = GeminiToOpenAiStream::new(options());
    let mut out = Vec::new();
    for element in elements {
        let data = serde_json::to_vec(&element).unwrap();
        translator.push_event(None, &data, &mut out).unwrap();
    }
    assert!(translator.is_finished());
    assert_stream_matches(name, &out);
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
