//! The translation of one upstream response for its client, whatever the API pair:
//! a whole body (completion or error) at once, or an event stream piece by piece.

use super::plan_translated::Translation;
use crate::sse::{SseEvent, SseScanner};
use crate::translate::{anthropic, google, messages};

/// Translates a whole upstream body sent with `status`: a completion when 2xx, else an
/// error in the client's shape (same status). `Err` describes why it could not be.
pub fn translate_body(
    translation: Translation,
    status: u16,
    body: &[u8],
    created: u64,
) -> Result<Vec<u8>, String> {
    let ok = (200..300).contains(&status);
    let text = |e: &dyn std::fmt::Display| e.to_string();
    match (translation, ok) {
        (Translation::AnthropicToOpenAi { json_tool, .. }, true) => {
            anthropic::translate_message(body, created, json_tool).map_err(|e| text(&e))
        }
        (Translation::AnthropicToOpenAi { .. }, false) => {
            anthropic::translate_error(body).map_err(|e| text(&e))
        }
        (Translation::GeminiToOpenAi { .. }, true) => {
            google::translate_response(body, created).map_err(|e| text(&e))
        }
        (Translation::GeminiToOpenAi { .. }, false) => {
            google::translate_error(body).map_err(|e| text(&e))
        }
        (Translation::OpenAiToAnthropic { .. }, true) => {
            messages::translate_completion(body).map_err(|e| text(&e))
        }
        (Translation::OpenAiToAnthropic { .. }, false) => {
            messages::translate_error(body, status).map_err(|e| text(&e))
        }
        (Translation::GeminiToAnthropic { .. }, true) => google::translate_response(body, created)
            .map_err(|e| text(&e))
            .and_then(|openai| messages::translate_completion(&openai).map_err(|e| text(&e))),
        (Translation::GeminiToAnthropic { .. }, false) => google::translate_error(body)
            .map_err(|e| text(&e))
            .and_then(|openai| messages::translate_error(&openai, status).map_err(|e| text(&e))),
    }
}

/// The event translator of one API pair.
enum Events {
    AnthropicToOpenAi(anthropic::AnthropicToOpenAiStream),
    GeminiToOpenAi(google::GeminiToOpenAiStream),
    OpenAiToAnthropic(messages::OpenAiToAnthropicStream),
    /// Gemini -> OpenAI -> Anthropic (boxed: the rarest and largest).
    GeminiToAnthropic(Box<Chain>),
}

/// Two translators in a row: the OpenAI events in between are scanned again.
struct Chain {
    to_openai: google::GeminiToOpenAiStream,
    between: SseScanner,
    openai: Vec<u8>,
    to_anthropic: messages::OpenAiToAnthropicStream,
}

/// Upstream body bytes (de-framed, cut anywhere) in, the client's SSE events out.
pub struct StreamTranslator {
    scanner: SseScanner,
    events: Events,
    client_is_anthropic: bool,
    /// An upstream event could not be translated: an error event was sent, and the
    /// rest of the upstream stream is ignored.
    failed: bool,
}

impl StreamTranslator {
    /// `created`: the Unix time stamped on OpenAI chunks.
    pub fn new(translation: Translation, created: u64) -> Self {
        let openai_options = |include_usage, json_tool| anthropic::StreamOptions {
            id: None,
            model: None,
            created,
            include_usage,
            json_tool,
        };
        let events = match translation {
            Translation::AnthropicToOpenAi {
                include_usage,
                json_tool,
                ..
            } => Events::AnthropicToOpenAi(anthropic::AnthropicToOpenAiStream::new(
                openai_options(include_usage, json_tool),
            )),
            Translation::GeminiToOpenAi { include_usage, .. } => Events::GeminiToOpenAi(
                google::GeminiToOpenAiStream::new(openai_options(include_usage, false)),
            ),
            Translation::OpenAiToAnthropic { .. } => Events::OpenAiToAnthropic(
                messages::OpenAiToAnthropicStream::new(messages::StreamOptions::default()),
            ),
            // Usage in between, since Anthropic's `message_delta` carries it.
            Translation::GeminiToAnthropic { .. } => Events::GeminiToAnthropic(Box::new(Chain {
                to_openai: google::GeminiToOpenAiStream::new(openai_options(true, false)),
                between: SseScanner::new(),
                openai: Vec::new(),
                to_anthropic: messages::OpenAiToAnthropicStream::new(
                    messages::StreamOptions::default(),
                ),
            })),
        };
        StreamTranslator {
            scanner: SseScanner::new(),
            events,
            client_is_anthropic: translation.client_is_anthropic(),
            failed: false,
        }
    }

    /// Translates the events these bytes complete, appending them to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let StreamTranslator {
            scanner,
            events,
            client_is_anthropic,
            failed,
        } = self;
        scanner.feed(bytes, |event| {
            if *failed {
                return;
            }
            if let Err(why) = events.push(event, out) {
                write_error_event(*client_is_anthropic, &why, out);
                *failed = true;
            }
        });
    }

    /// The upstream body ended cleanly: appends the client's closing events. `false`
    /// when the upstream stream was incomplete (no final event where the API has
    /// one), so the client's stream must be left cut rather than ended.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        if self.failed {
            return true;
        }
        match &mut self.events {
            // Anthropic always ends with `message_stop` (or `error`): without it, the
            // message is incomplete.
            Events::AnthropicToOpenAi(t) => t.is_finished(),
            Events::GeminiToOpenAi(t) => {
                t.end_of_stream(out);
                true
            }
            Events::OpenAiToAnthropic(t) => {
                t.end_of_stream(out);
                true
            }
            Events::GeminiToAnthropic(chain) => {
                let Chain {
                    to_openai,
                    between,
                    openai,
                    to_anthropic,
                } = &mut **chain;
                openai.clear();
                to_openai.end_of_stream(openai);
                let mut result = Ok(());
                between.feed(openai, |e| {
                    if result.is_ok() {
                        result = to_anthropic.push_event(e.event, e.data, out);
                    }
                });
                to_anthropic.end_of_stream(out);
                result.is_ok()
            }
        }
    }
}

impl Events {
    fn push(&mut self, event: &SseEvent<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Events::AnthropicToOpenAi(t) => t
                .push_event(event.event, event.data, out)
                .map_err(|e| e.to_string()),
            Events::GeminiToOpenAi(t) => t
                .push_event(event.event, event.data, out)
                .map_err(|e| e.to_string()),
            Events::OpenAiToAnthropic(t) => t
                .push_event(event.event, event.data, out)
                .map_err(|e| e.to_string()),
            Events::GeminiToAnthropic(chain) => {
                let Chain {
                    to_openai,
                    between,
                    openai,
                    to_anthropic,
                } = &mut **chain;
                openai.clear();
                to_openai
                    .push_event(event.event, event.data, openai)
                    .map_err(|e| e.to_string())?;
                let mut result = Ok(());
                between.feed(openai, |e| {
                    if result.is_ok() {
                        result = to_anthropic
                            .push_event(e.event, e.data, out)
                            .map_err(|e| e.to_string());
                    }
                });
                result
            }
        }
    }
}

/// An upstream event that cannot be translated ends the client's stream with an
/// error event in the client's API.
fn write_error_event(client_is_anthropic: bool, why: &str, out: &mut Vec<u8>) {
    let message = format!("cannot translate upstream event: {why}");
    if client_is_anthropic {
        let body = serde_json::json!({
            "type": "error",
            "error": { "type": "api_error", "message": message },
        });
        out.extend_from_slice(b"event: error\ndata: ");
        out.extend_from_slice(body.to_string().as_bytes());
    } else {
        let body = serde_json::json!({
            "error": { "message": message, "type": "upstream_error", "code": null, "param": null },
        });
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(body.to_string().as_bytes());
    }
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANTHROPIC: &[u8] = include_bytes!("../../tests/fixtures/anthropic/stream-tool-use.sse");
    const GEMINI: &[u8] =
        include_bytes!("../../tests/fixtures/gemini/stream-sse-function-calls.sse");
    const OPENAI: &[u8] =
        include_bytes!("../../tests/fixtures/openai/chat-stream-include-usage-two-tools.sse");

    fn translate(translation: Translation, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut t = StreamTranslator::new(translation, 1_700_000_000);
        let mut out = Vec::new();
        for piece in pieces {
            t.feed(piece, &mut out);
        }
        let complete = t.finish(&mut out);
        (out, complete)
    }

    fn all() -> [(Translation, &'static [u8]); 4] {
        [
            (
                Translation::AnthropicToOpenAi {
                    stream: true,
                    include_usage: true,
                    json_tool: false,
                },
                ANTHROPIC,
            ),
            (
                Translation::GeminiToOpenAi {
                    stream: true,
                    include_usage: false,
                },
                GEMINI,
            ),
            (Translation::OpenAiToAnthropic { stream: true }, OPENAI),
            (Translation::GeminiToAnthropic { stream: true }, GEMINI),
        ]
    }

    #[test]
    fn every_split_point_gives_the_same_client_stream() {
        for (translation, input) in all() {
            let (whole, complete) = translate(translation, &[input]);
            assert!(complete, "{translation:?}");
            assert!(whole.len() > 100, "{translation:?} produced too little");
            for cut in 1..input.len() {
                let (split, _) = translate(translation, &[&input[..cut], &input[cut..]]);
                assert_eq!(split, whole, "{translation:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn chained_gemini_stream_is_a_whole_anthropic_message() {
        let (out, _) = translate(Translation::GeminiToAnthropic { stream: true }, &[GEMINI]);
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
        let translation = Translation::AnthropicToOpenAi {
            stream: true,
            include_usage: false,
            json_tool: false,
        };
        let (out, complete) = translate(translation, &[half]);
        assert!(!complete);
        assert!(!out.windows(6).any(|w| w == b"[DONE]"));
    }

    #[test]
    fn an_untranslatable_event_ends_with_an_error_in_the_client_api() {
        let bad: &[u8] =
            b"event: message_start\ndata: {not json}\n\nevent: message_stop\ndata: {}\n\n";
        let translation = Translation::AnthropicToOpenAi {
            stream: true,
            include_usage: false,
            json_tool: false,
        };
        let (out, complete) = translate(translation, &[bad]);
        assert!(complete, "the error event ends the client stream");
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("data: {\"error\":"), "{text}");
        assert_eq!(
            text.matches("\n\n").count(),
            1,
            "nothing after the error: {text}"
        );

        let (out, _) = translate(
            Translation::OpenAiToAnthropic { stream: true },
            &[b"data: {x\n\n"],
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("event: error\ndata: {"), "{text}");
        assert!(text.contains("\"api_error\""), "{text}");
    }

    #[test]
    fn whole_bodies_translate_by_status() {
        let openai = translate_body(
            Translation::OpenAiToAnthropic { stream: false },
            404,
            br#"{"error":{"message":"no such model","type":"invalid_request_error"}}"#,
            0,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&openai).unwrap();
        assert_eq!(v["error"]["type"], "not_found_error");
        assert_eq!(v["error"]["message"], "no such model");
        let broken = translate_body(
            Translation::GeminiToOpenAi {
                stream: false,
                include_usage: false,
            },
            200,
            b"<html>",
            0,
        );
        assert!(broken.is_err());
    }
}
