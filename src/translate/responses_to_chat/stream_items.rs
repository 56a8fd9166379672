//! The output items of a streamed response as they are built (a message and its text
//! parts, or a function call), and the done events of a content part.

use serde_json::{json, Value};

use super::object::{content_part, function_call_item, message_item, ITEM_DONE};
use super::stream_events::EventWriter;

/// One output item; its output index is its place in the stream's list.
#[derive(Debug)]
pub(super) enum Item {
    Message {
        id: String,
        parts: Vec<TextPart>,
    },
    FunctionCall {
        id: String,
        /// The Chat chunk's `tool_calls[].index`.
        chat_index: usize,
        call_id: String,
        name: String,
        arguments: String,
    },
}

/// A content part of a message: its text so far.
#[derive(Debug)]
pub(super) struct TextPart {
    pub refusal: bool,
    pub text: String,
}

impl Item {
    /// The item as finished, for `response.output_item.done` and the final response.
    pub fn to_value(&self) -> Value {
        match self {
            Item::Message { id, parts } => {
                let content = parts
                    .iter()
                    .map(|part| content_part(part.refusal, &part.text))
                    .collect();
                message_item(id, ITEM_DONE, content)
            }
            Item::FunctionCall {
                id,
                call_id,
                name,
                arguments,
                ..
            } => function_call_item(id, ITEM_DONE, call_id, name, arguments),
        }
    }
}

/// The done events of a message's content part: its whole text, then the part.
pub(super) fn close_part(
    events: &mut EventWriter,
    out: &mut Vec<u8>,
    item_id: &str,
    output_index: usize,
    content_index: usize,
    part: &TextPart,
) {
    let mut done = json!({
        "item_id": item_id, "output_index": output_index, "content_index": content_index,
    });
    let kind = if part.refusal {
        done["refusal"] = json!(part.text);
        "response.refusal.done"
    } else {
        done["text"] = json!(part.text);
        done["logprobs"] = json!([]);
        "response.output_text.done"
    };
    events.event(out, kind, done);
    done = json!({
        "item_id": item_id, "output_index": output_index, "content_index": content_index,
        "part": content_part(part.refusal, &part.text),
    });
    events.event(out, "response.content_part.done", done);
}
