//! Incremental OpenAI `chat.completion.chunk` SSE -> Anthropic Messages SSE events
//! (`message_start` ... `message_stop`): one upstream chunk in, its events out at once.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::StreamError;
use super::response::{anthropic_error, stop_reason, ErrorDetail, OpenAiUsage};
use crate::translate::openai_chunks::write_json_string;
use crate::translate::openai_deltas::{Choice, ToolCallDelta};

/// What the client's events carry that the upstream's chunks do not decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// The message `id`; `None` takes the upstream chunk id.
    pub id: Option<String>,
    /// The message `model`; `None` takes the upstream model.
    pub model: Option<String>,
}

/// The content block being streamed: Anthropic blocks are opened, filled and closed
/// one at a time, while OpenAI just sends deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenBlock {
    Text { block: usize },
    Tool { block: usize },
}

/// Translates an OpenAI chunk stream into Anthropic Messages events, one upstream
/// event at a time. Feed it the events of `crate::sse::SseScanner`.
#[derive(Debug)]
pub struct OpenAiToAnthropicStream {
    options: StreamOptions,
    started: bool,
    open: Option<OpenBlock>,
    blocks_opened: usize,
    /// Anthropic block index of each OpenAI tool call index, in the order seen.
    tool_blocks: Vec<(usize, usize)>,
    stop_reason: Option<&'static str>,
    usage: Option<OpenAiUsage>,
    finished: bool,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
    #[serde(borrow, default)]
    error: Option<ErrorDetail<'a>>,
}

impl OpenAiToAnthropicStream {
    /// A translator for one response stream.
    pub fn new(options: StreamOptions) -> Self {
        OpenAiToAnthropicStream {
            options,
            started: false,
            open: None,
            blocks_opened: 0,
            tool_blocks: Vec::new(),
            stop_reason: None,
            usage: None,
            finished: false,
        }
    }

    /// The stream has ended (`[DONE]`, an error, or [`Self::end_of_stream`]).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Translates one upstream event's `data`, appending the client's SSE events to
    /// `out`. OpenAI names no events, so `event` is ignored. On error nothing is
    /// appended and the state is unchanged; the caller decides whether to end the stream.
    pub fn push_event(
        &mut self,
        _event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        if self.finished {
            return Ok(());
        }
        if data == b"[DONE]" {
            self.end(out);
            return Ok(());
        }
        let chunk: Chunk<'_> = serde_json::from_slice(data).map_err(StreamError::MalformedChunk)?;
        if let Some(error) = &chunk.error {
            // An upstream failure mid-stream: Anthropic's `error` event, and no
            // `message_stop`, so the client knows the message is incomplete.
            write_event(out, "error", &anthropic_error(500, &error.message));
            self.finished = true;
            return Ok(());
        }
        if !self.started {
            self.message_start(&chunk, out);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        // Only the first choice is translated: Anthropic has one answer per message.
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            if let Some(delta) = &choice.delta {
                if let Some(text) = delta.content.as_ref().or(delta.refusal.as_ref()) {
                    if !text.is_empty() {
                        self.text_delta(text, out);
                    }
                }
                for call in delta.tool_calls.iter().flatten() {
                    self.tool_delta(call, out);
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.close_block(out);
                self.stop_reason = Some(stop_reason(reason));
            }
        }
        Ok(())
    }

    /// The upstream ended cleanly without `[DONE]` (some OpenAI-compatible providers
    /// do): finish the message as `[DONE]` would.
    pub fn end_of_stream(&mut self, out: &mut Vec<u8>) {
        if !self.finished {
            self.end(out);
        }
    }

    fn message_start(&mut self, chunk: &Chunk<'_>, out: &mut Vec<u8>) {
        self.started = true;
        let id = self
            .options
            .id
            .as_deref()
            .or(chunk.id.as_deref())
            .unwrap_or("");
        let model = self
            .options
            .model
            .as_deref()
            .or(chunk.model.as_deref())
            .unwrap_or("");
        let start = json!({
            "type": "message_start",
            "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": { "input_tokens": 0, "output_tokens": 0 },
            },
        });
        write_event(out, "message_start", &start);
    }

    fn text_delta(&mut self, text: &str, out: &mut Vec<u8>) {
        let block = match self.open {
            Some(OpenBlock::Text { block }) => block,
            _ => {
                self.close_block(out);
                let block = self.open_block(out, br#"{"type":"text","text":""}"#);
                self.open = Some(OpenBlock::Text { block });
                block
            }
        };
        write_delta(out, block, br#"{"type":"text_delta","text":"#, text);
    }

    /// A tool call's first delta carries its id and name and opens a `tool_use`
    /// block; later deltas carry argument fragments, sent as `input_json_delta`.
    fn tool_delta(&mut self, call: &ToolCallDelta<'_>, out: &mut Vec<u8>) {
        let function = call.function.as_ref();
        let known = self
            .tool_blocks
            .iter()
            .find(|(tool, _)| *tool == call.index);
        let block = match (known, &call.id) {
            (Some(&(_, block)), _) => block,
            (None, id) => {
                self.close_block(out);
                let name = function.and_then(|f| f.name.as_deref()).unwrap_or("");
                let mut start = Vec::with_capacity(64 + name.len());
                start.extend_from_slice(br#"{"type":"tool_use","id":"#);
                write_json_string(&mut start, id.as_deref().unwrap_or(""));
                start.extend_from_slice(br#","name":"#);
                write_json_string(&mut start, name);
                start.extend_from_slice(br#","input":{}}"#);
                let block = self.open_block(out, &start);
                self.tool_blocks.push((call.index, block));
                self.open = Some(OpenBlock::Tool { block });
                block
            }
        };
        if let Some(arguments) = function.and_then(|f| f.arguments.as_deref()) {
            if !arguments.is_empty() {
                // A fragment for a block already closed (interleaved calls, which
                // OpenAI does not send) still goes to its own block index.
                write_delta(
                    out,
                    block,
                    br#"{"type":"input_json_delta","partial_json":"#,
                    arguments,
                );
            }
        }
    }

    fn open_block(&mut self, out: &mut Vec<u8>, content_block: &[u8]) -> usize {
        let block = self.blocks_opened;
        self.blocks_opened += 1;
        out.extend_from_slice(
            b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":",
        );
        out.extend_from_slice(block.to_string().as_bytes());
        out.extend_from_slice(b",\"content_block\":");
        out.extend_from_slice(content_block);
        out.extend_from_slice(b"}\n\n");
        block
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        let block = match self.open.take() {
            Some(OpenBlock::Text { block } | OpenBlock::Tool { block }) => block,
            None => return,
        };
        out.extend_from_slice(
            b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":",
        );
        out.extend_from_slice(block.to_string().as_bytes());
        out.extend_from_slice(b"}\n\n");
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.message_start(&Chunk::empty(), out);
        }
        self.close_block(out);
        let usage = self.usage.unwrap_or_default().to_anthropic();
        let delta = json!({
            "type": "message_delta",
            "delta": { "stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": null },
            "usage": usage,
        });
        write_event(out, "message_delta", &delta);
        write_event(out, "message_stop", &json!({ "type": "message_stop" }));
        self.finished = true;
    }
}

impl Chunk<'_> {
    fn empty() -> Self {
        Chunk {
            id: None,
            model: None,
            choices: Vec::new(),
            usage: None,
            error: None,
        }
    }
}

fn write_event(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// `content_block_delta` for `block` whose delta object starts with `delta_front`
/// and ends with `text` as a JSON string.
fn write_delta(out: &mut Vec<u8>, block: usize, delta_front: &[u8], text: &str) {
    out.extend_from_slice(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
    );
    out.extend_from_slice(block.to_string().as_bytes());
    out.extend_from_slice(b",\"delta\":");
    out.extend_from_slice(delta_front);
    write_json_string(out, text);
    out.extend_from_slice(b"}}\n\n");
}
