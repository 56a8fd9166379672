//! The wire formats the mock speaks besides OpenAI's: Anthropic Messages and Gemini
//! `generateContent` bodies, their SSE event sequences and their error bodies.

use std::io::Write;

use super::render::{self, Content, StreamEvent};

/// Which provider API a request came in on; the answer is in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenAI Chat Completions.
    OpenAi,
    /// Anthropic Messages (`POST /v1/messages`).
    Anthropic,
    /// Google Gemini (`POST /v1beta/models/{model}:generateContent`).
    Gemini,
}

/// One event of a stream, in order: the opening events, the content tokens, the
/// closing events. How many of each depends on the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Opening event `n` (OpenAI's role chunk, Anthropic's `message_start`, ...).
    Head(usize),
    /// Content token `i`.
    Token(u32),
    /// Closing event `n` (finish, usage, `[DONE]`, `message_stop`, ...).
    Tail(usize),
}

/// Everything one stream's events are made of.
#[derive(Debug)]
pub struct StreamPlan<'a> {
    format: Format,
    id: u64,
    model: &'a str,
    prompt: usize,
    chunks: u32,
    include_usage: bool,
    /// OpenAI's per-chunk front, built once.
    openai_prefix: Vec<u8>,
}

impl<'a> StreamPlan<'a> {
    /// A stream of `chunks` tokens for `model`. `include_usage` matters for OpenAI
    /// only: the other formats always report usage.
    pub fn new(
        format: Format,
        id: u64,
        created: u64,
        model: &'a str,
        prompt: usize,
        chunks: u32,
        include_usage: bool,
    ) -> Self {
        let openai_prefix = match format {
            Format::OpenAi => render::chunk_prefix(id, created, model),
            _ => Vec::new(),
        };
        StreamPlan {
            format,
            id,
            model,
            prompt,
            chunks,
            include_usage,
            openai_prefix,
        }
    }

    /// Every step of the stream, in order.
    pub fn steps(&self) -> impl Iterator<Item = Step> {
        let (head, tail) = match self.format {
            Format::OpenAi => (1, if self.include_usage { 3 } else { 2 }),
            Format::Anthropic => (3, 3),
            // Gemini's last content event carries the finish; with no content at all
            // one empty event does.
            Format::Gemini => (0, usize::from(self.chunks == 0)),
        };
        (0..head)
            .map(Step::Head)
            .chain((0..self.chunks).map(Step::Token))
            .chain((0..tail).map(Step::Tail))
    }

    /// Appends the SSE bytes of `step` to `out`.
    pub fn write(&self, step: Step, out: &mut Vec<u8>) {
        match self.format {
            Format::OpenAi => self.write_openai(step, out),
            Format::Anthropic => self.write_anthropic(step, out),
            Format::Gemini => self.write_gemini(step, out),
        }
    }

    fn write_openai(&self, step: Step, out: &mut Vec<u8>) {
        let event = match step {
            Step::Head(_) => StreamEvent::Role,
            Step::Token(i) => StreamEvent::Token(i),
            Step::Tail(0) => StreamEvent::Finish,
            Step::Tail(1) if self.include_usage => StreamEvent::Usage {
                prompt: self.prompt,
                completion: self.chunks as usize,
            },
            Step::Tail(_) => StreamEvent::Done,
        };
        render::sse_event(out, &self.openai_prefix, event);
    }

    fn write_anthropic(&self, step: Step, out: &mut Vec<u8>) {
        let name = match step {
            Step::Head(0) => "message_start",
            Step::Head(1) => "content_block_start",
            Step::Head(_) => "ping",
            Step::Token(_) => "content_block_delta",
            Step::Tail(0) => "content_block_stop",
            Step::Tail(1) => "message_delta",
            Step::Tail(_) => "message_stop",
        };
        let _ = write!(out, "event: {name}\ndata: ");
        match step {
            Step::Head(0) => {
                let _ = write!(
                    out,
                    r#"{{"type":"message_start","message":{{"id":"msg_mock{}","type":"message","role":"assistant","model":"#,
                    self.id
                );
                render::write_json_str(out, self.model);
                let _ = write!(
                    out,
                    r#","content":[],"stop_reason":null,"stop_sequence":null,"usage":{{"input_tokens":{},"output_tokens":1}}}}}}"#,
                    self.prompt
                );
            }
            Step::Head(1) => out.extend_from_slice(
                br#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            Step::Head(_) => out.extend_from_slice(br#"{"type": "ping"}"#),
            Step::Token(i) => {
                out.extend_from_slice(
                    br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""#,
                );
                render::write_token(out, i);
                out.extend_from_slice(br#""}}"#);
            }
            Step::Tail(0) => out.extend_from_slice(br#"{"type":"content_block_stop","index":0}"#),
            Step::Tail(1) => {
                let _ = write!(
                    out,
                    r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn","stop_sequence":null}},"usage":{{"output_tokens":{}}}}}"#,
                    self.chunks
                );
            }
            Step::Tail(_) => out.extend_from_slice(br#"{"type":"message_stop"}"#),
        }
        out.extend_from_slice(b"\n\n");
    }

    /// Gemini events are whole responses with the running usage; the real service
    /// separates them with CRLF CRLF, so the mock does too.
    fn write_gemini(&self, step: Step, out: &mut Vec<u8>) {
        let (token, emitted) = match step {
            Step::Token(i) => (Some(i), i + 1),
            _ => (None, 0),
        };
        let last = step == Step::Tail(0) || emitted == self.chunks;
        out.extend_from_slice(br#"data: {"candidates":[{"content":{"parts":[{"text":""#);
        if let Some(i) = token {
            render::write_token(out, i);
        }
        out.extend_from_slice(br#""}],"role":"model"}"#);
        if last {
            out.extend_from_slice(br#","finishReason":"STOP""#);
        }
        out.extend_from_slice(br#","index":0}],"usageMetadata":"#);
        write_gemini_usage(out, self.prompt, emitted as usize);
        self.write_gemini_trailer(out);
        out.extend_from_slice(b"}\r\n\r\n");
    }

    fn write_gemini_trailer(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#","modelVersion":"#);
        render::write_json_str(out, self.model);
        let _ = write!(out, r#","responseId":"mock{}""#, self.id);
    }
}

fn write_gemini_usage(out: &mut Vec<u8>, prompt: usize, completion: usize) {
    let total = prompt + completion;
    let _ = write!(
        out,
        r#"{{"promptTokenCount":{prompt},"candidatesTokenCount":{completion},"totalTokenCount":{total}}}"#
    );
}

/// Appends a non-streaming answer in `format`; returns the completion tokens.
pub fn message_body(
    format: Format,
    out: &mut Vec<u8>,
    id: u64,
    created: u64,
    model: &str,
    content: Content<'_>,
    prompt: usize,
) -> usize {
    match format {
        Format::OpenAi => render::chat_completion(out, id, created, model, content, prompt),
        Format::Anthropic => {
            let _ = write!(
                out,
                r#"{{"id":"msg_mock{id}","type":"message","role":"assistant","model":"#
            );
            render::write_json_str(out, model);
            out.extend_from_slice(br#","content":[{"type":"text","text":"#);
            let words = render::write_content(out, content);
            let _ = write!(
                out,
                r#"}}],"stop_reason":"end_turn","stop_sequence":null,"usage":{{"input_tokens":{prompt},"output_tokens":{words}}}}}"#
            );
            words
        }
        Format::Gemini => {
            out.extend_from_slice(br#"{"candidates":[{"content":{"parts":[{"text":"#);
            let words = render::write_content(out, content);
            out.extend_from_slice(
                br#"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":"#,
            );
            write_gemini_usage(out, prompt, words);
            out.extend_from_slice(br#","modelVersion":"#);
            render::write_json_str(out, model);
            let _ = write!(out, r#","responseId":"mock{id}"}}"#);
            words
        }
    }
}

/// Appends an error body in `format`, shaped as that provider sends it.
pub fn error_body(format: Format, out: &mut Vec<u8>, status: u16, message: &str) {
    match format {
        Format::OpenAi => render::error_body(out, status, message),
        Format::Anthropic => {
            let kind = match status {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                400..=499 => "invalid_request_error",
                _ => "api_error",
            };
            let _ = write!(
                out,
                r#"{{"type":"error","error":{{"type":"{kind}","message":"#
            );
            render::write_json_str(out, message);
            out.extend_from_slice(b"}}");
        }
        Format::Gemini => {
            let canonical = match status {
                401 => "UNAUTHENTICATED",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                504 => "DEADLINE_EXCEEDED",
                400..=499 => "INVALID_ARGUMENT",
                _ => "INTERNAL",
            };
            let _ = write!(out, r#"{{"error":{{"code":{status},"message":"#);
            render::write_json_str(out, message);
            let _ = write!(out, r#","status":"{canonical}"}}}}"#);
        }
    }
}
