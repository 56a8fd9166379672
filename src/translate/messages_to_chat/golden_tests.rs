//! Golden tests: recorded OpenAI bodies and streams against Anthropic output written
//! by hand in tests/fixtures/translate/messages, compared as JSON values, plus request pairs.

use serde_json::Value;

use super::{
    translate_completion, translate_error, translate_request, MaxTokensField,
    OpenAiToAnthropicStream, StreamOptions,
};
use crate::sse::SseScanner;
use crate::translate::golden::{fixture, fixtures, json, read};

fn expected(name: &str, ext: &str) -> Vec<u8> {
    fixture(&format!("translate/messages/{name}.{ext}"))
}

#[test]
fn recorded_completions_translate_to_the_hand_written_messages() {
    let inputs = fixtures("openai", "chat-completion-", ".json");
    assert_eq!(inputs.len(), 2, "every recorded chat.completion");
    for (name, path) in inputs {
        let got = translate_completion(&read(&path)).unwrap();
        let want = expected(&name, "anthropic.json");
        assert_eq!(json(&got, &name), json(&want, &name), "{name}");
    }
}

#[test]
fn recorded_errors_translate_to_anthropic_errors_by_status() {
    let inputs = fixtures("openai", "error-", ".json");
    assert_eq!(inputs.len(), 2, "every recorded OpenAI error");
    for (name, path) in inputs {
        // The status is in the fixture's name: error-404-...
        let status: u16 = name[6..9].parse().unwrap();
        let got = translate_error(&read(&path), status).unwrap();
        let want = expected(&name, "anthropic.json");
        assert_eq!(json(&got, &name), json(&want, &name), "{name}");
    }
}

#[test]
fn anthropic_requests_translate_to_the_hand_written_openai_requests() {
    let inputs = fixtures("translate/messages", "request-", ".anthropic.json");
    assert_eq!(inputs.len(), 4, "every hand-written request fixture");
    for (name, path) in inputs {
        let got =
            translate_request(&read(&path), "gpt-4o-mini", MaxTokensField::MaxTokens).unwrap();
        let want = expected(&name, "openai.json");
        assert_eq!(json(&got.body, &name), json(&want, &name), "{name}");
        assert_eq!(got.stream, json(&want, &name)["stream"] == true, "{name}");
    }
}

/// Every OpenAI stream: the recorded ones and the hand-written error stream.
fn stream_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fixtures("openai", "chat-stream-", ".sse")
        .into_iter()
        .chain(fixtures("translate/messages", "stream-", ".openai.sse"))
        .map(|(name, path)| (name, read(&path)))
        .collect();
    out.sort();
    assert_eq!(out.len(), 7, "six recorded streams and one hand-written");
    out
}

/// Scans `pieces` in order and translates every event as it is dispatched.
fn translate_stream(pieces: &[&[u8]]) -> Vec<u8> {
    let mut scanner = SseScanner::new();
    let mut translator = OpenAiToAnthropicStream::new(StreamOptions::default());
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

/// The client's view of an Anthropic stream: (event name, data as JSON) per event,
/// checking that each event's name is its data's `type`, as Anthropic's are.
fn client_events(stream: &[u8]) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    SseScanner::new().feed(stream, |event| {
        let name = event
            .event
            .expect("every Anthropic event is named")
            .to_owned();
        let data = json(event.data, &name);
        assert_eq!(data["type"], name.as_str());
        events.push((name, data));
    });
    events
}

#[test]
fn openai_streams_translate_to_the_hand_written_events() {
    for (name, text) in stream_inputs() {
        let got = translate_stream(&[&text]);
        assert!(got.ends_with(b"\n\n"), "{name}");
        let want = client_events(&expected(&name, "anthropic.sse"));
        assert!(want.len() >= 3, "{name}: expected file too short");
        let got_events = client_events(&got);
        // Framing is exactly `event: X\ndata: <json>\n\n` per event.
        let framed = got.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        assert_eq!(framed, 2 * got_events.len(), "{name}");
        assert_eq!(got_events, want, "{name}");
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
