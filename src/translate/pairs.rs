//! Which API pair translates how: the `Translation` of an exchange, and the response
//! translators it picks, for a whole body at once or an event stream piece by piece.

use crate::sse::{EventFilter, SseEvent};
use crate::translate::openai_chunks::written_events;
use crate::translate::responses_to_chat::{self, ChatToResponsesStream, ResponseOptions};
use crate::translate::{chat_to_anthropic, chat_to_gemini, messages_to_chat};

/// How the response of a translated exchange goes back to the client, named client API
/// -> provider API. Each carries whether the client asked for a stream and, for OpenAI
/// Chat clients, for a usage chunk.
#[derive(Debug, Clone)]
pub enum Translation {
    /// OpenAI Chat client, Anthropic Messages provider.
    ChatToAnthropic {
        /// The client asked for an event stream.
        stream: bool,
        /// The client asked for a usage chunk (`stream_options.include_usage`).
        include_usage: bool,
        /// The request's `response_format` became the synthetic JSON tool.
        json_tool: bool,
    },
    /// OpenAI Chat client, Gemini provider.
    ChatToGemini {
        /// The client asked for an event stream.
        stream: bool,
        /// The client asked for a usage chunk (`stream_options.include_usage`).
        include_usage: bool,
    },
    /// Anthropic Messages client, OpenAI-style provider.
    MessagesToChat {
        /// The client asked for an event stream.
        stream: bool,
    },
    /// Anthropic Messages client, Gemini provider: through OpenAI's shape both ways,
    /// so each direction has one translator per API pair.
    MessagesToGemini {
        /// The client asked for an event stream.
        stream: bool,
    },
    /// OpenAI Responses client, any provider without the Responses API: through OpenAI
    /// Chat's shape (boxed: it carries the ids and echoed fields of the response).
    Responses(Box<ResponsesTranslation>),
}

/// A Responses client's exchange with a provider that lacks the API.
#[derive(Debug, Clone)]
pub struct ResponsesTranslation {
    /// What the provider speaks.
    pub upstream: ResponsesUpstream,
    /// The client asked for an event stream.
    pub stream: bool,
    /// The response's id, model and the request fields it echoes.
    pub options: ResponseOptions,
}

/// The provider's API behind a Responses translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponsesUpstream {
    /// OpenAI Chat Completions.
    Chat,
    /// Anthropic Messages; `json_tool`: `text.format` became the synthetic JSON tool.
    Anthropic {
        /// The JSON format became a forced tool.
        json_tool: bool,
    },
    /// Gemini.
    Gemini,
}

/// Which API the client speaks: the shape of an error event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientApi {
    Chat,
    Messages,
    Responses,
}

impl Translation {
    /// The client asked for an event stream.
    pub fn stream(&self) -> bool {
        match self {
            Translation::ChatToAnthropic { stream, .. }
            | Translation::ChatToGemini { stream, .. }
            | Translation::MessagesToChat { stream }
            | Translation::MessagesToGemini { stream } => *stream,
            Translation::Responses(r) => r.stream,
        }
    }

    /// The client speaks Anthropic Messages (else an OpenAI API).
    pub fn client_is_anthropic(&self) -> bool {
        self.client() == ClientApi::Messages
    }

    fn client(&self) -> ClientApi {
        match self {
            Translation::MessagesToChat { .. } | Translation::MessagesToGemini { .. } => {
                ClientApi::Messages
            }
            Translation::Responses(_) => ClientApi::Responses,
            _ => ClientApi::Chat,
        }
    }
}

/// Translates a whole upstream body sent with `status`: a completion when 2xx, else an
/// error in the client's shape (same status). `Err` describes why it could not be.
pub fn translate_body(
    translation: &Translation,
    status: u16,
    body: &[u8],
    created: u64,
) -> Result<Vec<u8>, String> {
    let ok = (200..300).contains(&status);
    let text = |e: &dyn std::fmt::Display| e.to_string();
    match (translation, ok) {
        (Translation::ChatToAnthropic { json_tool, .. }, true) => {
            chat_to_anthropic::translate_message(body, created, *json_tool).map_err(|e| text(&e))
        }
        (Translation::ChatToAnthropic { .. }, false) => {
            chat_to_anthropic::translate_error(body).map_err(|e| text(&e))
        }
        (Translation::ChatToGemini { .. }, true) => {
            chat_to_gemini::translate_response(body, created).map_err(|e| text(&e))
        }
        (Translation::ChatToGemini { .. }, false) => {
            chat_to_gemini::translate_error(body).map_err(|e| text(&e))
        }
        (Translation::MessagesToChat { .. }, true) => {
            messages_to_chat::translate_completion(body).map_err(|e| text(&e))
        }
        (Translation::MessagesToChat { .. }, false) => {
            messages_to_chat::translate_error(body, status).map_err(|e| text(&e))
        }
        (Translation::MessagesToGemini { .. }, true) => {
            chat_to_gemini::translate_response(body, created)
                .map_err(|e| text(&e))
                .and_then(|openai| {
                    messages_to_chat::translate_completion(&openai).map_err(|e| text(&e))
                })
        }
        (Translation::MessagesToGemini { .. }, false) => chat_to_gemini::translate_error(body)
            .map_err(|e| text(&e))
            .and_then(|openai| {
                messages_to_chat::translate_error(&openai, status).map_err(|e| text(&e))
            }),
        (Translation::Responses(r), true) => {
            let openai = match r.upstream {
                ResponsesUpstream::Chat => Ok(body.to_vec()),
                ResponsesUpstream::Anthropic { json_tool } => {
                    chat_to_anthropic::translate_message(body, created, json_tool)
                        .map_err(|e| text(&e))
                }
                ResponsesUpstream::Gemini => {
                    chat_to_gemini::translate_response(body, created).map_err(|e| text(&e))
                }
            }?;
            responses_to_chat::translate_response(&openai, &r.options).map_err(|e| text(&e))
        }
        (Translation::Responses(r), false) => {
            let openai = match r.upstream {
                ResponsesUpstream::Chat => Ok(body.to_vec()),
                ResponsesUpstream::Anthropic { .. } => {
                    chat_to_anthropic::translate_error(body).map_err(|e| text(&e))
                }
                ResponsesUpstream::Gemini => {
                    chat_to_gemini::translate_error(body).map_err(|e| text(&e))
                }
            }?;
            responses_to_chat::translate_error(&openai, status).map_err(|e| text(&e))
        }
    }
}

/// The event translator of one API pair.
enum Events {
    ChatToAnthropic(chat_to_anthropic::AnthropicToOpenAiStream),
    ChatToGemini(chat_to_gemini::GeminiToOpenAiStream),
    MessagesToChat(messages_to_chat::OpenAiToAnthropicStream),
    /// Gemini -> OpenAI -> Anthropic (boxed: the rarest and largest).
    MessagesToGemini(Box<Chain>),
    /// The provider's events -> OpenAI Chat chunks (none for a Chat provider) -> Responses.
    Responses(Box<ResponsesChain>),
}

/// The first half of a Responses chain: the provider's events into OpenAI Chat chunks.
enum ToChat {
    Chat,
    Anthropic(chat_to_anthropic::AnthropicToOpenAiStream),
    Gemini(chat_to_gemini::GeminiToOpenAiStream),
}

/// Like [`Chain`], ending in the Responses writer.
struct ResponsesChain {
    to_chat: ToChat,
    openai: Vec<u8>,
    to_responses: ChatToResponsesStream,
}

/// Two translators in a row: the OpenAI events in between are read back from the
/// first one's own writing (whole events, one data line each), not scanned.
struct Chain {
    to_openai: chat_to_gemini::GeminiToOpenAiStream,
    openai: Vec<u8>,
    to_anthropic: messages_to_chat::OpenAiToAnthropicStream,
}

/// The upstream's events in (from the response's one scan), the client's SSE events out.
pub struct StreamTranslator {
    events: Events,
    client: ClientApi,
    /// An upstream event could not be translated: an error event was sent, and the
    /// rest of the upstream stream is ignored.
    failed: bool,
}

impl StreamTranslator {
    /// `created`: the Unix time stamped on OpenAI chunks.
    pub fn new(translation: &Translation, created: u64) -> Self {
        let openai_options = |include_usage, json_tool| chat_to_anthropic::StreamOptions {
            id: None,
            model: None,
            created,
            include_usage,
            json_tool,
        };
        let events = match translation {
            Translation::ChatToAnthropic {
                include_usage,
                json_tool,
                ..
            } => Events::ChatToAnthropic(chat_to_anthropic::AnthropicToOpenAiStream::new(
                openai_options(*include_usage, *json_tool),
            )),
            Translation::ChatToGemini { include_usage, .. } => Events::ChatToGemini(
                chat_to_gemini::GeminiToOpenAiStream::new(openai_options(*include_usage, false)),
            ),
            Translation::MessagesToChat { .. } => {
                Events::MessagesToChat(messages_to_chat::OpenAiToAnthropicStream::new(
                    messages_to_chat::StreamOptions::default(),
                ))
            }
            // Usage in between, since Anthropic's `message_delta` carries it.
            Translation::MessagesToGemini { .. } => Events::MessagesToGemini(Box::new(Chain {
                to_openai: chat_to_gemini::GeminiToOpenAiStream::new(openai_options(true, false)),
                openai: Vec::new(),
                to_anthropic: messages_to_chat::OpenAiToAnthropicStream::new(
                    messages_to_chat::StreamOptions::default(),
                ),
            })),
            // Usage in between: `response.completed` carries it.
            Translation::Responses(r) => {
                let to_chat = match r.upstream {
                    ResponsesUpstream::Chat => ToChat::Chat,
                    ResponsesUpstream::Anthropic { json_tool } => {
                        ToChat::Anthropic(chat_to_anthropic::AnthropicToOpenAiStream::new(
                            openai_options(true, json_tool),
                        ))
                    }
                    ResponsesUpstream::Gemini => ToChat::Gemini(
                        chat_to_gemini::GeminiToOpenAiStream::new(openai_options(true, false)),
                    ),
                };
                Events::Responses(Box::new(ResponsesChain {
                    to_chat,
                    openai: Vec::new(),
                    to_responses: ChatToResponsesStream::new(r.options.clone()),
                }))
            }
        };
        StreamTranslator {
            events,
            client: translation.client(),
            failed: false,
        }
    }
}

impl EventFilter for StreamTranslator {
    fn event(&mut self, _raw: &[u8], event: Option<&SseEvent<'_>>, out: &mut Vec<u8>) {
        let Some(event) = event.filter(|_| !self.failed) else {
            return;
        };
        if let Err(why) = self.events.push(event, out) {
            match &mut self.events {
                Events::Responses(chain) => chain.to_responses.write_error(&why, out),
                _ => write_error_event(self.client, &why, out),
            }
            self.failed = true;
        }
    }

    fn partial(&mut self, _raw: &[u8], _out: &mut Vec<u8>) {}

    /// Appends the client's closing events. `false` when the upstream stream was
    /// incomplete (no final event where the API has one), so the client's stream must
    /// be left cut rather than ended.
    fn end(&mut self, out: &mut Vec<u8>) -> bool {
        if self.failed {
            return true;
        }
        match &mut self.events {
            // Anthropic always ends with `message_stop` (or `error`): without it, the
            // message is incomplete.
            Events::ChatToAnthropic(t) => t.is_finished(),
            Events::ChatToGemini(t) => {
                t.end_of_stream(out);
                true
            }
            Events::MessagesToChat(t) => {
                t.end_of_stream(out);
                true
            }
            Events::MessagesToGemini(chain) => {
                let Chain {
                    to_openai,
                    openai,
                    to_anthropic,
                } = &mut **chain;
                openai.clear();
                to_openai.end_of_stream(openai);
                let result = written_events(openai)
                    .try_for_each(|data| to_anthropic.push_event(None, data, out));
                to_anthropic.end_of_stream(out);
                result.is_ok()
            }
            Events::Responses(chain) => chain.end(out),
        }
    }
}

impl ResponsesChain {
    /// One upstream event through both halves.
    fn push(&mut self, event: &SseEvent<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        let ResponsesChain {
            to_chat,
            openai,
            to_responses,
        } = self;
        let text = |e: &dyn std::fmt::Display| e.to_string();
        openai.clear();
        match to_chat {
            ToChat::Chat => {
                return to_responses
                    .push_event(event.event, event.data, out)
                    .map_err(|e| text(&e))
            }
            ToChat::Anthropic(t) => t
                .push_event(event.event, event.data, openai)
                .map_err(|e| text(&e))?,
            ToChat::Gemini(t) => t
                .push_event(event.event, event.data, openai)
                .map_err(|e| text(&e))?,
        }
        written_events(openai)
            .try_for_each(|data| to_responses.push_event(None, data, out))
            .map_err(|e| text(&e))
    }

    /// The upstream ended: what the first half still holds, then the closing events.
    /// `false`: the upstream stream was cut short.
    fn end(&mut self, out: &mut Vec<u8>) -> bool {
        let ResponsesChain {
            to_chat,
            openai,
            to_responses,
        } = self;
        openai.clear();
        let upstream_complete = match to_chat {
            ToChat::Chat => true,
            ToChat::Anthropic(t) => t.is_finished(),
            ToChat::Gemini(t) => {
                t.end_of_stream(openai);
                true
            }
        };
        let fed =
            written_events(openai).try_for_each(|data| to_responses.push_event(None, data, out));
        upstream_complete && fed.is_ok() && to_responses.end_of_stream(out)
    }
}

impl Events {
    fn push(&mut self, event: &SseEvent<'_>, out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Events::ChatToAnthropic(t) => t
                .push_event(event.event, event.data, out)
                .map_err(|e| e.to_string()),
            Events::ChatToGemini(t) => t
                .push_event(event.event, event.data, out)
                .map_err(|e| e.to_string()),
            Events::MessagesToChat(t) => t
                .push_event(event.event, event.data, out)
                .map_err(|e| e.to_string()),
            Events::MessagesToGemini(chain) => {
                let Chain {
                    to_openai,
                    openai,
                    to_anthropic,
                } = &mut **chain;
                openai.clear();
                to_openai
                    .push_event(event.event, event.data, openai)
                    .map_err(|e| e.to_string())?;
                written_events(openai)
                    .try_for_each(|data| to_anthropic.push_event(None, data, out))
                    .map_err(|e| e.to_string())
            }
            Events::Responses(chain) => chain.push(event, out),
        }
    }
}

/// An upstream event that cannot be translated ends the client's stream with an
/// error event in the client's API.
fn write_error_event(client: ClientApi, why: &str, out: &mut Vec<u8>) {
    let message = format!("cannot translate upstream event: {why}");
    if client == ClientApi::Messages {
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
