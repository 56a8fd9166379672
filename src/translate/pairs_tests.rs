//! The API pair dispatch end to end: a recorded stream gives the same client stream
//! however it is cut, and errors come back in the client's API.

use super::pairs::{
    translate_body, ResponsesTranslation, ResponsesUpstream, StreamTranslator, Translation,
};
use super::responses_to_chat::ResponseOptions;
use crate::sse::{EventFilter, SseScanner};

const ANTHROPIC: &[u8] = include_bytes!("../../tests/fixtures/anthropic/stream-tool-use.sse");
const GEMINI: &[u8] = include_bytes!("../../tests/fixtures/gemini/stream-sse-function-calls.sse");
const OPENAI: &[u8] =
    include_bytes!("../../tests/fixtures/openai/chat-stream-include-usage-two-tools.sse");

fn translate(translation: &Translation, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut t = StreamTranslator::new(translation, 1_700_000_000);
    let mut scanner = SseScanner::new();
    let mut out = Vec::new();
    for piece in pieces {
        scanner.feed_filter(piece, &mut t, &mut out, |_| {});
    }
    let complete = t.end(&mut out);
    (out, complete)
}

fn responses(upstream: ResponsesUpstream) -> Translation {
    Translation::Responses(Box::new(ResponsesTranslation {
        upstream,
        stream: true,
        options: ResponseOptions {
            id: "resp_0193".into(),
            created_at: 1_700_000_000,
            model: "p/m".into(),
            ..ResponseOptions::default()
        },
    }))
}

fn all() -> [(Translation, &'static [u8]); 7] {
    [
        (responses(ResponsesUpstream::Chat), OPENAI),
        (
            responses(ResponsesUpstream::Anthropic { json_tool: false }),
            ANTHROPIC,
        ),
        (responses(ResponsesUpstream::Gemini), GEMINI),
        (
            Translation::ChatToAnthropic {
                stream: true,
                include_usage: true,
                json_tool: false,
            },
            ANTHROPIC,
        ),
        (
            Translation::ChatToGemini {
                stream: true,
                include_usage: false,
            },
            GEMINI,
        ),
        (Translation::MessagesToChat { stream: true }, OPENAI),
        (Translation::MessagesToGemini { stream: true }, GEMINI),
    ]
}

#[test]
fn every_split_point_gives_the_same_client_stream() {
    for (translation, input) in all() {
        let (whole, complete) = translate(&translation, &[input]);
        assert!(complete, "{translation:?}");
        assert!(whole.len() > 100, "{translation:?} produced too little");
        for cut in 1..input.len() {
            let (split, _) = translate(&translation, &[&input[..cut], &input[cut..]]);
            assert_eq!(split, whole, "{translation:?} cut at {cut}");
        }
    }
}

#[test]
fn chained_gemini_stream_is_a_whole_anthropic_message() {
    let (out, _) = translate(&Translation::MessagesToGemini { stream: true }, &[GEMINI]);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.contains("\"type\":\"tool_use\""), "{text}");
    assert!(text.contains("\"stop_reason\":\"tool_use\""), "{text}");
    assert!(
        text.trim_end()
            .ends_with(r#"data: {"type":"message_stop"}"#),
        "{text}"
    );
}

#[test]
fn a_truncated_anthropic_stream_is_not_complete() {
    let half = &ANTHROPIC[..ANTHROPIC.len() / 2];
    let translation = Translation::ChatToAnthropic {
        stream: true,
        include_usage: false,
        json_tool: false,
    };
    let (out, complete) = translate(&translation, &[half]);
    assert!(!complete);
    assert!(!out.windows(6).any(|w| w == b"[DONE]"));
}

#[test]
fn an_untranslatable_event_ends_with_an_error_in_the_client_api() {
    let bad: &[u8] = b"event: message_start\ndata: {not json}\n\nevent: message_stop\ndata: {}\n\n";
    let translation = Translation::ChatToAnthropic {
        stream: true,
        include_usage: false,
        json_tool: false,
    };
    let (out, complete) = translate(&translation, &[bad]);
    assert!(complete, "the error event ends the client stream");
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("data: {\"error\":"), "{text}");
    assert_eq!(
        text.matches("\n\n").count(),
        1,
        "nothing after the error: {text}"
    );

    let (out, _) = translate(
        &Translation::MessagesToChat { stream: true },
        &[b"data: {x\n\n"],
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("event: error\ndata: {"), "{text}");
    assert!(text.contains("\"api_error\""), "{text}");
}

#[test]
fn whole_bodies_translate_by_status() {
    let openai = translate_body(
        &Translation::MessagesToChat { stream: false },
        404,
        br#"{"error":{"message":"no such model","type":"invalid_request_error"}}"#,
        0,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&openai).unwrap();
    assert_eq!(v["error"]["type"], "not_found_error");
    assert_eq!(v["error"]["message"], "no such model");
    let broken = translate_body(
        &Translation::ChatToGemini {
            stream: false,
            include_usage: false,
        },
        200,
        b"<html>",
        0,
    );
    assert!(broken.is_err());
}
