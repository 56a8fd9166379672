//! Incremental Anthropic Messages SSE -> OpenAI `chat.completion.chunk` SSE: one
//! upstream event in, zero or more client events out, nothing held back.

use std::borrow::Cow;

use serde::Deserialize;

use super::error::StreamError;
use super::response::{finish_reason_for, openai_error, ErrorEnvelope, Usage};

/// What the client's chunks carry that Anthropic's events do not decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// The chunks' `id`; `None` takes the upstream message id from `message_start`.
    pub id: Option<String>,
    /// The chunks' `model`; `None` takes the upstream model from `message_start`.
    pub model: Option<String>,
    /// The chunks' `created` (Unix seconds): Anthropic sends no timestamp.
    pub created: u64,
    /// The client asked for `stream_options.include_usage`: end with a usage chunk.
    pub include_usage: bool,
    /// The request carried the synthetic JSON tool (`TranslatedRequest::json_tool`):
    /// the first tool block's input streams as content, alone (text deltas beside it
    /// and later tool blocks are not sent), and no tool calls are sent.
    pub json_tool: bool,
}

/// A `tool_use` content block seen so far: OpenAI numbers tool calls from 0,
/// Anthropic numbers all content blocks (text and thinking included).
#[derive(Debug, Clone, Copy)]
struct ToolBlock {
    block_index: u64,
    tool_index: usize,
    sent_arguments: bool,
}

/// Translates an Anthropic Messages event stream into OpenAI chunk events, one
/// upstream event at a time. Feed it the events of `crate::sse::SseScanner`.
#[derive(Debug)]
pub struct AnthropicToOpenAiStream {
    options: StreamOptions,
    /// `data: {"id":..,"object":..,"created":..,"model":..,"choices":[` — the same
    /// for every chunk, so it is built once.
    chunk_prefix: Vec<u8>,
    usage: Usage,
    tool_blocks: Vec<ToolBlock>,
    finished: bool,
}

#[derive(Deserialize)]
struct EventType<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

#[derive(Deserialize)]
struct MessageStart<'a> {
    #[serde(borrow)]
    message: StartedMessage<'a>,
}

#[derive(Deserialize)]
struct StartedMessage<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    model: Cow<'a, str>,
    #[serde(default)]
    usage: Usage,
}

#[derive(Deserialize)]
struct BlockStart<'a> {
    index: u64,
    #[serde(borrow)]
    content_block: StartedBlock<'a>,
}

#[derive(Deserialize)]
struct StartedBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct BlockDelta<'a> {
    index: u64,
    #[serde(borrow)]
    delta: Delta<'a>,
}

/// Only `text_delta` and `input_json_delta` reach the client; thinking,
/// signature and citation deltas are dropped, so their fields are not read.
#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct BlockStop {
    index: u64,
}

#[derive(Deserialize)]
struct MessageDelta<'a> {
    #[serde(borrow)]
    delta: MessageDeltaBody<'a>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct MessageDeltaBody<'a> {
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

fn parse<'a, T: Deserialize<'a>>(event: &str, data: &'a [u8]) -> Result<T, StreamError> {
    serde_json::from_slice(data).map_err(|source| StreamError::MalformedEvent {
        event: event.to_owned(),
        source,
    })
}

impl AnthropicToOpenAiStream {
    /// A translator for one response stream.
    pub fn new(options: StreamOptions) -> Self {
        AnthropicToOpenAiStream {
            options,
            chunk_prefix: Vec::new(),
            usage: Usage::default(),
            tool_blocks: Vec::new(),
            finished: false,
        }
    }

    /// The stream has ended (`message_stop` or an error event): later events are ignored.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Translates one upstream event (its `event:` name, if any, and its `data`),
    /// appending the client's SSE events to `out`. On error nothing is appended and
    /// the state is unchanged; the caller decides whether to end the stream.
    pub fn push_event(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), StreamError> {
        if self.finished {
            return Ok(());
        }
        // Anthropic names every event; only a nameless one costs a second parse.
        let named;
        let name = match event {
            Some(name) => name,
            None => {
                named = parse::<EventType<'_>>("(unnamed)", data)?.kind;
                &named
            }
        };
        match name {
            "message_start" => self.message_start(parse(name, data)?, out),
            "content_block_start" => self.block_start(parse(name, data)?, out),
            "content_block_delta" => self.block_delta(parse(name, data)?, out),
            "content_block_stop" => self.block_stop(parse(name, data)?, out),
            "message_delta" => self.message_delta(parse(name, data)?, out),
            "message_stop" => self.message_stop(out),
            "error" => self.error(parse(name, data)?, out),
            // `ping` and event types newer than this code carry nothing for the client.
            _ => {}
        }
        Ok(())
    }

    fn message_start(&mut self, start: MessageStart<'_>, out: &mut Vec<u8>) {
        self.usage.update(&start.message.usage);
        let id = self.options.id.as_deref().unwrap_or(&start.message.id);
        let model = self
            .options
            .model
            .as_deref()
            .unwrap_or(&start.message.model);
        self.chunk_prefix = build_prefix(id, model, self.options.created);
        self.write_choice(out, br#"{"role":"assistant","content":""}"#, None);
    }

    fn block_start(&mut self, start: BlockStart<'_>, out: &mut Vec<u8>) {
        if start.content_block.kind != "tool_use" {
            return;
        }
        let tool_index = self.tool_blocks.len();
        self.tool_blocks.push(ToolBlock {
            block_index: start.index,
            tool_index,
            sent_arguments: false,
        });
        if self.options.json_tool {
            // The JSON answer starts with its first input fragment, as content.
            return;
        }
        self.open_choice(out);
        out.extend_from_slice(br#"{"tool_calls":[{"index":"#);
        write_index(out, tool_index);
        out.extend_from_slice(br#","id":"#);
        write_json_string(out, start.content_block.id.as_deref().unwrap_or(""));
        out.extend_from_slice(br#","type":"function","function":{"name":"#);
        write_json_string(out, start.content_block.name.as_deref().unwrap_or(""));
        out.extend_from_slice(br#","arguments":""}}]}"#);
        close_choice(out, None);
    }

    fn block_delta(&mut self, block: BlockDelta<'_>, out: &mut Vec<u8>) {
        match (
            &*block.delta.kind,
            block.delta.text,
            block.delta.partial_json,
        ) {
            // With the JSON tool only its input is content: a preamble ("Hello")
            // glued to it would break the client's parse.
            ("text_delta", Some(text), _) if !self.options.json_tool => {
                self.open_choice(out);
                out.extend_from_slice(br#"{"content":"#);
                write_json_string(out, &text);
                out.push(b'}');
                close_choice(out, None);
            }
            // The first fragment is always empty: nothing to send yet.
            ("input_json_delta", _, Some(json)) if !json.is_empty() => {
                if let Some(tool) = self.tool_block(block.index) {
                    tool.sent_arguments = true;
                    let tool_index = tool.tool_index;
                    self.write_arguments(out, tool_index, &json);
                }
            }
            _ => {}
        }
    }

    /// A tool called with no arguments streams only empty fragments; OpenAI clients
    /// parse the joined arguments as JSON, so they get `{}` rather than "".
    fn block_stop(&mut self, stop: BlockStop, out: &mut Vec<u8>) {
        if let Some(tool) = self.tool_block(stop.index) {
            if !tool.sent_arguments {
                tool.sent_arguments = true;
                let tool_index = tool.tool_index;
                self.write_arguments(out, tool_index, "{}");
            }
        }
    }

    fn message_delta(&mut self, delta: MessageDelta<'_>, out: &mut Vec<u8>) {
        if let Some(usage) = &delta.usage {
            self.usage.update(usage);
        }
        if let Some(reason) = delta.delta.stop_reason {
            let finish = finish_reason_for(&reason, self.options.json_tool);
            self.write_choice(out, b"{}", Some(finish));
        }
    }

    fn message_stop(&mut self, out: &mut Vec<u8>) {
        if self.options.include_usage {
            self.ensure_prefix();
            out.extend_from_slice(&self.chunk_prefix);
            out.extend_from_slice(br#"],"usage":"#);
            out.extend_from_slice(self.usage.to_openai().to_string().as_bytes());
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.finished = true;
    }

    /// OpenAI streams report a failure as a data event holding an error object and
    /// no `[DONE]`, so clients can tell the answer is incomplete.
    fn error(&mut self, envelope: ErrorEnvelope<'_>, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(openai_error(&envelope.error).to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
        self.finished = true;
    }

    /// The tool block whose input is sent: any, or with the JSON tool only the first.
    fn tool_block(&mut self, block_index: u64) -> Option<&mut ToolBlock> {
        let json_tool = self.options.json_tool;
        // Blocks arrive in order, so the one wanted is almost always the last.
        self.tool_blocks
            .iter_mut()
            .rev()
            .find(|t| t.block_index == block_index)
            .filter(|t| !json_tool || t.tool_index == 0)
    }

    fn write_arguments(&mut self, out: &mut Vec<u8>, tool_index: usize, arguments: &str) {
        self.open_choice(out);
        if self.options.json_tool {
            out.extend_from_slice(br#"{"content":"#);
            write_json_string(out, arguments);
            out.push(b'}');
        } else {
            out.extend_from_slice(br#"{"tool_calls":[{"index":"#);
            write_index(out, tool_index);
            out.extend_from_slice(br#","function":{"arguments":"#);
            write_json_string(out, arguments);
            out.extend_from_slice(b"}}]}");
        }
        close_choice(out, None);
    }

    /// Events before `message_start` should not happen; if they do, the chunks
    /// still carry whatever id and model the caller gave.
    fn ensure_prefix(&mut self) {
        if self.chunk_prefix.is_empty() {
            let id = self.options.id.as_deref().unwrap_or("");
            let model = self.options.model.as_deref().unwrap_or("");
            self.chunk_prefix = build_prefix(id, model, self.options.created);
        }
    }

    /// A chunk with this delta and finish reason, for deltas that are constants.
    fn write_choice(&mut self, out: &mut Vec<u8>, delta: &[u8], finish: Option<&str>) {
        self.open_choice(out);
        out.extend_from_slice(delta);
        close_choice(out, finish);
    }

    /// Everything of a chunk up to its delta object, which the caller writes
    /// straight into `out` (no intermediate buffer per chunk).
    fn open_choice(&mut self, out: &mut Vec<u8>) {
        self.ensure_prefix();
        out.extend_from_slice(&self.chunk_prefix);
        out.extend_from_slice(br#"{"index":0,"delta":"#);
    }
}

fn close_choice(out: &mut Vec<u8>, finish: Option<&str>) {
    out.extend_from_slice(br#","finish_reason":"#);
    match finish {
        Some(reason) => write_json_string(out, reason),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b"}]}\n\n");
}

fn write_index(out: &mut Vec<u8>, index: usize) {
    out.extend_from_slice(index.to_string().as_bytes());
}

fn build_prefix(id: &str, model: &str, created: u64) -> Vec<u8> {
    let mut prefix = Vec::with_capacity(id.len() + model.len() + 96);
    prefix.extend_from_slice(br#"data: {"id":"#);
    write_json_string(&mut prefix, id);
    prefix.extend_from_slice(br#","object":"chat.completion.chunk","created":"#);
    prefix.extend_from_slice(created.to_string().as_bytes());
    prefix.extend_from_slice(br#","model":"#);
    write_json_string(&mut prefix, model);
    prefix.extend_from_slice(br#","choices":["#);
    prefix
}

/// Writes `s` as a JSON string literal. Only `"`, `\` and control characters need
/// escaping; everything else is copied in runs.
fn write_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[run_start..i]);
        out.extend_from_slice(escaped);
        run_start = i + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}
