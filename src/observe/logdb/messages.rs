//! Where the earlier messages of a request body are, found cheaply: each object whose first
//! key is `"role"` (as Chat Completions, Messages, Gemini and Responses bodies write them),
//! but the last, for storing each once (`chunks.rs`) when the gateway's scan did not say
//! (a provider-native request is forwarded unscanned).
//!
//! The bytes `{"role"` cannot occur inside a JSON string (its quotes would be escaped), so
//! one SIMD substring search finds every message's start without parsing the body, and a
//! message ends at the last `}` before the next one starts. The last message is the
//! request's new turn (a user's question, a tool's result): it stays in the skeleton and
//! becomes a chunk when the next request repeats it, so its end is never looked for. The
//! spans only decide what is stored once: a body read back is the same bytes however it
//! was cut, so one that is not JSON, is pretty-printed, or names `role` later in its
//! messages is stored with fewer or no chunks, never wrongly.

use std::ops::Range;

use super::chunk_index::{key_of, ChunkKey};
use super::chunks::MIN_CHUNK_BYTES;

/// A request body's messages as a worker's scan found them, each long enough to be stored
/// once with its key: hashed by the worker right after its scan, while the bytes are in
/// its cache (the writer would read them from memory), so the writer touches only the
/// messages it has not stored yet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Messages {
    keyed: Vec<(Range<usize>, ChunkKey)>,
}

impl Messages {
    /// The elements of `body` at `spans` (in order, disjoint, inside it) worth storing once.
    pub fn of(body: &[u8], spans: &[Range<usize>]) -> Messages {
        let mut messages = Messages {
            keyed: Vec::with_capacity(spans.len()),
        };
        messages.set(body, spans);
        messages
    }

    /// Becomes [`Messages::of`] `body` and `spans`, in the memory it has.
    pub(super) fn set(&mut self, body: &[u8], spans: &[Range<usize>]) {
        self.keyed.clear();
        let mut end = 0;
        for span in spans {
            if span.start >= end && span.end <= body.len() && span.len() >= MIN_CHUNK_BYTES {
                self.keyed.push((span.clone(), key_of(&body[span.clone()])));
                end = span.end;
            }
        }
    }

    /// None worth storing once.
    pub fn is_empty(&self) -> bool {
        self.keyed.is_empty()
    }

    /// Each message's place in the body and key.
    pub(super) fn keyed(&self) -> &[(Range<usize>, ChunkKey)] {
        &self.keyed
    }
}

/// The start of a message.
const ANCHOR: &[u8] = b"{\"role\"";

/// Sets `spans` to the messages of `body` before its last, in order and disjoint.
pub(super) fn earlier_messages(body: &[u8], spans: &mut Vec<Range<usize>>) {
    spans.clear();
    let mut starts = memchr::memmem::find_iter(body, ANCHOR).peekable();
    while let (Some(start), Some(&next)) = (starts.next(), starts.peek()) {
        if let Some(close) = memchr::memrchr(b'}', &body[start..next]) {
            spans.push(start..start + close + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<&str> {
        let mut spans = Vec::new();
        earlier_messages(body.as_bytes(), &mut spans);
        spans.into_iter().map(|s| &body[s]).collect()
    }

    #[test]
    fn finds_each_message_but_the_last_whatever_its_array() {
        let body = r#"{"model":"m","messages": [ {"role":"user","content":"a \"]}\\ {\"role\"}"} , {"role":"assistant","content":[{"type":"text","text":"{["}]},{"role":"user","content":"new"}],"n":1}"#;
        assert_eq!(
            texts(body),
            vec![
                r#"{"role":"user","content":"a \"]}\\ {\"role\"}"}"#,
                r#"{"role":"assistant","content":[{"type":"text","text":"{["}]}"#,
            ]
        );
        let gemini =
            r#"{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[]}]}"#;
        assert_eq!(
            texts(gemini),
            vec![r#"{"role":"user","parts":[{"text":"hi"}]}"#]
        );
    }

    #[test]
    fn keyed_messages_are_the_long_in_order_spans_inside_the_body() {
        let long = "x".repeat(MIN_CHUNK_BYTES);
        let body = format!("[{long},{long},ab]");
        let first = 1..1 + long.len();
        let second = first.end + 1..first.end + 1 + long.len();
        let spans = [
            first.clone(),
            first.start + 1..first.end + 1, // overlaps the first
            second.clone(),
            body.len() - 3..body.len() - 1,           // too short
            second.end..body.len() + MIN_CHUNK_BYTES, // past the end
        ];
        let messages = Messages::of(body.as_bytes(), &spans);
        let kept: Vec<_> = messages.keyed().iter().map(|(s, _)| s.clone()).collect();
        assert_eq!(kept, vec![first, second]);
        // The same bytes, the same key: the two copies are one chunk.
        assert_eq!(messages.keyed()[0].1, messages.keyed()[1].1);
        let short = vec![0..2, 1..2];
        assert!(Messages::of(b"{}", &short).is_empty());
    }

    #[test]
    fn anything_else_has_none() {
        assert!(texts(r#"{"model":"m","input":"hi"}"#).is_empty());
        assert!(texts(r#"{"messages":[{"role":"user","content":"only"}]}"#).is_empty());
        assert!(texts(r#"{"messages":[{ "role":"user"},{ "role":"user"}]}"#).is_empty());
        assert!(texts(
            r#"{"messages":[{"content":"x","role":"user"},{"content":"y","role":"user"}]}"#
        )
        .is_empty());
        assert!(texts("").is_empty());
    }
}
