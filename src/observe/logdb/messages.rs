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
