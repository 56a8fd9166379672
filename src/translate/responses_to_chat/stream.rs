//! Incremental Chat `chat.completion.chunk` SSE -> Responses SSE events (`response.created`
//! ... `response.completed`): one upstream chunk in, its events out at once.

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::StreamError;
use super::object::{
    content_part, function_call_item, message_item, response_object, ChatUsage, Ending,
    ResponseOptions,
};
use super::stream_events::{DeltaTarget, EventWriter};
use super::stream_items::{close_part, Item, TextPart};
use crate::translate::openai_deltas::{Choice, ToolCallDelta};

/// Translates a Chat Completions chunk stream into Responses events, one upstream
/// event at a time. Feed it the events of `crate::sse::SseScanner`.
///
/// Text opens a `message` item (a refusal is a `refusal` part of it), each tool call
/// a `function_call` item of its own; only one item is open at a time, each closed
/// before the next opens. An upstream error object becomes one `error` event, which
/// ends the stream (no `response.failed`, no `response.completed`).
#[derive(Debug)]
pub struct ChatToResponsesStream {
    options: ResponseOptions,
    events: EventWriter,
    started: bool,
    /// The output items so far, by output index.
    items: Vec<Item>,
    /// The output index of the item still open, if any.
    open: Option<usize>,
    messages_opened: usize,
    calls_opened: usize,
    ending: Option<Ending>,
    usage: Option<ChatUsage>,
    finished: bool,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<ChatUsage>,
    #[serde(default)]
    error: Option<Value>,
}

impl ChatToResponsesStream {
    /// A translator for one response stream.
    pub fn new(options: ResponseOptions) -> Self {
        ChatToResponsesStream {
            options,
            events: EventWriter::default(),
            started: false,
            items: Vec::new(),
            open: None,
            messages_opened: 0,
            calls_opened: 0,
            ending: None,
            usage: None,
            finished: false,
        }
    }

    /// The stream has ended: a terminal event (`response.completed`,
    /// `response.incomplete` or `error`) has been written.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Translates one upstream event's `data` (`[DONE]` included), appending the
    /// client's SSE events to `out`. Chat streams name no events, so `event` is
    /// ignored. On error nothing is appended and the state is unchanged; the caller
    /// decides whether to end the stream.
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
            self.fail(error, out);
            return Ok(());
        }
        if !self.started {
            self.start(out);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        // Only the first choice is translated: a response has one answer.
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            if let Some(delta) = &choice.delta {
                for (refusal, text) in [(false, &delta.content), (true, &delta.refusal)] {
                    if let Some(text) = text.as_deref().filter(|t| !t.is_empty()) {
                        self.text_delta(refusal, text, out);
                    }
                }
                for call in delta.tool_calls.iter().flatten() {
                    self.tool_delta(call, out);
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.close_open(out);
                self.ending = Some(Ending::of_finish_reason(Some(reason)));
            }
        }
        Ok(())
    }

    /// Called once at the upstream's end. If the answer finished (a `finish_reason`
    /// came) but `[DONE]` did not, closes what is open and writes `response.completed`
    /// (or `response.incomplete`). Returns whether the client has had a terminal event
    /// (now or before, an upstream `error` event included); false means the upstream
    /// was cut off mid-answer and nothing claiming completion was written, so the
    /// caller should tell the client.
    pub fn end_of_stream(&mut self, out: &mut Vec<u8>) -> bool {
        if !self.finished && self.ending.is_some() {
            self.end(out);
        }
        self.finished
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        self.started = true;
        for kind in ["response.created", "response.in_progress"] {
            let response = response_object(&self.options, None, Vec::new(), None);
            self.events
                .event(out, kind, json!({ "response": response }));
        }
    }

    /// Text or refusal: into the open message (a new part when the kind changes), or a
    /// new message item, the open function call closed first.
    fn text_delta(&mut self, refusal: bool, text: &str, out: &mut Vec<u8>) {
        let output_index = match self.open {
            Some(i) if matches!(self.items.get(i), Some(Item::Message { .. })) => i,
            _ => self.open_message(out),
        };
        let Some(Item::Message { id, parts }) = self.items.get_mut(output_index) else {
            return;
        };
        if parts.last().is_none_or(|part| part.refusal != refusal) {
            if let Some(last) = parts.last() {
                close_part(
                    &mut self.events,
                    out,
                    id,
                    output_index,
                    parts.len() - 1,
                    last,
                );
            }
            parts.push(TextPart {
                refusal,
                text: String::new(),
            });
            let added = json!({
                "item_id": id, "output_index": output_index, "content_index": parts.len() - 1,
                "part": content_part(refusal, ""),
            });
            self.events.event(out, "response.content_part.added", added);
        }
        let content_index = parts.len() - 1;
        if let Some(part) = parts.last_mut() {
            part.text.push_str(text);
        }
        let kind = match refusal {
            false => "response.output_text.delta",
            true => "response.refusal.delta",
        };
        let target = DeltaTarget {
            item_id: id,
            output_index,
            content_index: Some(content_index),
        };
        self.events.delta(out, kind, &target, text);
    }

    fn open_message(&mut self, out: &mut Vec<u8>) -> usize {
        self.close_open(out);
        let id = self.options.message_id(self.messages_opened);
        self.messages_opened += 1;
        let output_index = self.items.len();
        let item = message_item(&id, "in_progress", Vec::new());
        let added = json!({ "output_index": output_index, "item": item });
        self.events.event(out, "response.output_item.added", added);
        self.items.push(Item::Message {
            id,
            parts: Vec::new(),
        });
        self.open = Some(output_index);
        output_index
    }

    /// A tool call's first delta (a new `index`, or a new id) opens its `function_call`
    /// item; argument fragments go to the item of their index.
    fn tool_delta(&mut self, call: &ToolCallDelta<'_>, out: &mut Vec<u8>) {
        // Providers that leave out `index` send every call as index 0: a new id there
        // is a new call.
        let new_id = call.id.as_deref().filter(|id| !id.is_empty());
        let known = self.items.iter().rposition(|item| {
            matches!(item, Item::FunctionCall { chat_index, call_id, .. }
                if *chat_index == call.index && new_id.is_none_or(|id| id == call_id))
        });
        let function = call.function.as_ref();
        let output_index = match known {
            Some(i) => i,
            None => {
                let name = function.and_then(|f| f.name.as_deref()).unwrap_or("");
                self.open_call(call.index, call.id.as_deref().unwrap_or(""), name, out)
            }
        };
        let Some(fragment) = function.and_then(|f| f.arguments.as_deref()) else {
            return;
        };
        let Some(Item::FunctionCall { id, arguments, .. }) = self.items.get_mut(output_index)
        else {
            return;
        };
        if fragment.is_empty() {
            return;
        }
        arguments.push_str(fragment);
        // A fragment for an item already closed (interleaved calls, which Chat
        // providers do not send) still goes to its own item.
        let target = DeltaTarget {
            item_id: id,
            output_index,
            content_index: None,
        };
        self.events.delta(
            out,
            "response.function_call_arguments.delta",
            &target,
            fragment,
        );
    }

    fn open_call(
        &mut self,
        chat_index: usize,
        call_id: &str,
        name: &str,
        out: &mut Vec<u8>,
    ) -> usize {
        self.close_open(out);
        let id = self.options.function_call_id(self.calls_opened);
        self.calls_opened += 1;
        let output_index = self.items.len();
        let item = function_call_item(&id, "in_progress", call_id, name, "");
        let added = json!({ "output_index": output_index, "item": item });
        self.events.event(out, "response.output_item.added", added);
        self.items.push(Item::FunctionCall {
            id,
            chat_index,
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: String::new(),
        });
        self.open = Some(output_index);
        output_index
    }

    /// Closes the open item: its last part's (or its arguments') done events, then
    /// `response.output_item.done` with the whole item.
    fn close_open(&mut self, out: &mut Vec<u8>) {
        let Some(output_index) = self.open.take() else {
            return;
        };
        let Some(item) = self.items.get(output_index) else {
            return;
        };
        match item {
            Item::Message { id, parts } => {
                if let Some(last) = parts.last() {
                    close_part(
                        &mut self.events,
                        out,
                        id,
                        output_index,
                        parts.len() - 1,
                        last,
                    );
                }
            }
            Item::FunctionCall {
                id,
                name,
                arguments,
                ..
            } => {
                let done = json!({
                    "item_id": id, "output_index": output_index, "name": name,
                    "arguments": arguments,
                });
                self.events
                    .event(out, "response.function_call_arguments.done", done);
            }
        }
        let done = json!({ "output_index": output_index, "item": item.to_value() });
        self.events.event(out, "response.output_item.done", done);
    }

    /// `[DONE]`, or the end of an upstream that finished without it.
    fn end(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.start(out);
        }
        self.close_open(out);
        let ending = self.ending.unwrap_or(Ending::Completed);
        let output = self.items.iter().map(Item::to_value).collect();
        let response = response_object(&self.options, Some(ending), output, self.usage);
        self.events
            .event(out, ending.event_type(), json!({ "response": response }));
        self.finished = true;
    }

    /// Ends the stream with an `error` event saying why the gateway could not go on
    /// (an upstream event it could not translate).
    pub fn write_error(&mut self, why: &str, out: &mut Vec<u8>) {
        let message = format!("cannot translate upstream event: {why}");
        self.fail(
            &json!({ "code": "upstream_error", "message": message }),
            out,
        );
    }

    /// An upstream error object mid-stream -> the Responses `error` event. Its `code`
    /// is always a string (the Vercel AI SDK requires one): the upstream's code, else
    /// its type.
    fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        let text = |key: &str| error.get(key).and_then(Value::as_str);
        let code = text("code").or(text("type")).unwrap_or("server_error");
        let message = text("message")
            .or(error.as_str())
            .unwrap_or("the upstream provider failed mid-stream");
        let fields = json!({ "code": code, "message": message, "param": text("param") });
        self.events.event(out, "error", fields);
        self.finished = true;
    }
}
