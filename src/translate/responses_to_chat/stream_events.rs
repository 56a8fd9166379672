//! Writes Responses SSE events (`event: <type>\ndata: <json>\n\n`), each data object
//! carrying its `type` and the stream's next `sequence_number`, counted from 0.

use serde_json::{Map, Value};

use crate::translate::openai_chunks::write_json_string;

/// The events of one stream and their sequence numbers.
#[derive(Debug, Default)]
pub(super) struct EventWriter {
    next_sequence: u64,
}

/// Where a delta goes: its item, and the content part within a message.
pub(super) struct DeltaTarget<'a> {
    pub item_id: &'a str,
    pub output_index: usize,
    /// `None` for a function call's arguments, which have no parts.
    pub content_index: Option<usize>,
}

impl EventWriter {
    /// An event of type `kind` whose data holds `fields` (an object) too.
    pub fn event(&mut self, out: &mut Vec<u8>, kind: &str, fields: Value) {
        let mut data = match fields {
            Value::Object(fields) => fields,
            _ => Map::new(),
        };
        data.insert("type".into(), Value::String(kind.to_owned()));
        data.insert("sequence_number".into(), Value::from(self.take_sequence()));
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(Value::Object(data).to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
    }

    /// A delta event, written without building a JSON value: these are most of a
    /// stream. Text deltas carry `logprobs: []`, which the Vercel AI SDK reads.
    pub fn delta(&mut self, out: &mut Vec<u8>, kind: &str, target: &DeltaTarget<'_>, delta: &str) {
        let sequence = self.take_sequence();
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: {\"type\":");
        write_json_string(out, kind);
        out.extend_from_slice(b",\"sequence_number\":");
        out.extend_from_slice(sequence.to_string().as_bytes());
        out.extend_from_slice(b",\"item_id\":");
        write_json_string(out, target.item_id);
        out.extend_from_slice(b",\"output_index\":");
        out.extend_from_slice(target.output_index.to_string().as_bytes());
        if let Some(content_index) = target.content_index {
            out.extend_from_slice(b",\"content_index\":");
            out.extend_from_slice(content_index.to_string().as_bytes());
        }
        out.extend_from_slice(b",\"delta\":");
        write_json_string(out, delta);
        if kind == "response.output_text.delta" {
            out.extend_from_slice(b",\"logprobs\":[]");
        }
        out.extend_from_slice(b"}\n\n");
    }

    fn take_sequence(&mut self) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        sequence
    }
}
