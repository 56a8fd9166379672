//! The provider APIs the mock speaks and the dispatch to each one's renderer: one stream plan
//! (opening events, content pieces, closing events), non-streaming bodies and error bodies.

use super::answer::{Answer, ToolCall};
use super::render::{self, Content};
use super::{anthropic, chat, gemini, responses};

/// Which provider API a request came in on; the answer is in the same one. The
/// discriminants index per-format tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenAI Chat Completions.
    OpenAi = 0,
    /// OpenAI Responses (`POST /v1/responses`).
    Responses = 1,
    /// Anthropic Messages (`POST /v1/messages`).
    Anthropic = 2,
    /// Google Gemini (`POST /v1beta/models/{model}:generateContent`).
    Gemini = 3,
}

/// What every answer names: its id, time, model and billed prompt.
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    /// Per-worker sequence number, in the answer's ids.
    pub id: u64,
    /// Unix seconds.
    pub created: u64,
    /// The model asked for, echoed.
    pub model: &'a str,
    /// Prompt tokens billed.
    pub prompt: usize,
}

/// One event of a stream, in order: the opening events, the content pieces, the
/// closing events. How many of each depends on the format and the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Opening event `n` (OpenAI's role chunk, Anthropic's `message_start`, ...).
    Head(usize),
    /// Content piece `i`: a token, a piece of text or a fragment of tool arguments.
    Token(u32),
    /// Closing event `n` (finish, usage, `[DONE]`, `message_stop`, ...).
    Tail(usize),
}

/// Everything one stream's events are made of.
#[derive(Debug)]
pub struct StreamPlan<'a> {
    pub(super) format: Format,
    pub(super) reply: Reply<'a>,
    pub(super) include_usage: bool,
    pub(super) answer: &'a Answer,
    /// The text or argument pieces; empty for `Answer::Tokens`.
    pub(super) pieces: Vec<&'a str>,
    /// Content pieces the stream sends.
    pub(super) count: u32,
    /// OpenAI Chat's per-chunk front, built once.
    pub(super) openai_prefix: Vec<u8>,
}

impl<'a> StreamPlan<'a> {
    /// A stream of `answer`; `chunks` tokens when it is `Tokens`. `include_usage` matters
    /// for OpenAI Chat only: the other formats always report usage.
    pub fn new(
        format: Format,
        reply: Reply<'a>,
        chunks: u32,
        include_usage: bool,
        answer: &'a Answer,
    ) -> Self {
        let openai_prefix = match format {
            Format::OpenAi => render::chunk_prefix(reply.id, reply.created, reply.model),
            _ => Vec::new(),
        };
        let pieces = answer.pieces(chunks);
        let count = match (format, answer) {
            (_, Answer::Tokens) => chunks,
            // Gemini sends a function call whole, in one event.
            (Format::Gemini, Answer::ToolCall(_)) => 1,
            _ => pieces.len() as u32,
        };
        StreamPlan {
            format,
            reply,
            include_usage,
            answer,
            pieces,
            count,
            openai_prefix,
        }
    }

    /// Every step of the stream, in order.
    pub fn steps(&self) -> impl Iterator<Item = Step> {
        let (head, tail) = match self.format {
            Format::OpenAi => (1, if self.include_usage { 3 } else { 2 }),
            Format::Responses => responses::shape(self.answer),
            Format::Anthropic => (3, 3),
            // Gemini's last content event carries the finish; with no content at all
            // one empty event does.
            Format::Gemini => (0, usize::from(self.count == 0)),
        };
        (0..head)
            .map(Step::Head)
            .chain((0..self.count).map(Step::Token))
            .chain((0..tail).map(Step::Tail))
    }

    /// Appends the SSE bytes of `step` to `out`.
    pub fn write(&self, step: Step, out: &mut Vec<u8>) {
        match self.format {
            Format::OpenAi => chat::write_event(self, step, out),
            Format::Responses => responses::write_event(self, step, out),
            Format::Anthropic => anthropic::write_event(self, step, out),
            Format::Gemini => gemini::write_event(self, step, out),
        }
    }

    /// The tool call being streamed, if the answer is one.
    pub(super) fn tool_call(&self) -> Option<&'a ToolCall> {
        match self.answer {
            Answer::ToolCall(call) => Some(call),
            _ => None,
        }
    }

    /// Appends content piece `i`, JSON-escaped, without quotes.
    pub(super) fn write_piece(&self, i: u32, out: &mut Vec<u8>) {
        match self.pieces.get(i as usize) {
            Some(piece) => write_escaped(out, piece),
            None => render::write_token(out, i),
        }
    }

    /// Appends the whole streamed text as a JSON string (the `done` events repeat it).
    pub(super) fn write_full_text(&self, out: &mut Vec<u8>) {
        match self.answer {
            Answer::Tokens => {
                render::write_content(out, Content::Tokens(self.count));
            }
            Answer::Text(text) => render::write_json_str(out, text),
            Answer::ToolCall(call) => render::write_json_str(out, &call.arguments),
        }
    }
}

/// Appends `text` JSON-escaped, without the surrounding quotes.
pub fn write_escaped(out: &mut Vec<u8>, text: &str) {
    let start = out.len();
    render::write_json_str(out, text);
    out.pop();
    out.remove(start);
}

/// Appends a non-streaming answer in `format`: `call` when it is a tool call, else
/// `content`. Returns the completion tokens.
pub fn message_body(
    format: Format,
    out: &mut Vec<u8>,
    reply: &Reply<'_>,
    content: Content<'_>,
    call: Option<&ToolCall>,
) -> usize {
    match format {
        Format::OpenAi => match call {
            Some(call) => chat::tool_call_body(out, reply, call),
            None => {
                let Reply {
                    id,
                    created,
                    model,
                    prompt,
                } = *reply;
                render::chat_completion(out, id, created, model, content, prompt)
            }
        },
        Format::Responses => responses::body(out, reply, content, call),
        Format::Anthropic => anthropic::body(out, reply, content, call),
        Format::Gemini => gemini::body(out, reply, content, call),
    }
}

/// Appends an error body in `format`, shaped as that provider sends it.
pub fn error_body(format: Format, out: &mut Vec<u8>, status: u16, message: &str) {
    match format {
        Format::OpenAi | Format::Responses => render::error_body(out, status, message),
        Format::Anthropic => anthropic::error_body(out, status, message),
        Format::Gemini => gemini::error_body(out, status, message),
    }
}

/// Completion tokens of a tool call: its argument fragments, at least one.
pub fn call_tokens(call: &ToolCall) -> usize {
    call.arguments.len().div_ceil(4).max(1)
}
