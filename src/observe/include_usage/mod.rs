//! OpenAI `stream_options.include_usage` as one unit: adding it to a streaming request
//! body (byte-exact elsewhere), and spotting and stripping the usage-only chunk it brings.

mod strip;

pub use strip::UsageChunkStrip;

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::usage::mentions_usage_object;

/// The members of a JSON object in order, each value as its raw text in the input.
struct Members<'de>(Vec<(String, &'de RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor<'de>(PhantomData<&'de ()>);
        impl<'de> Visitor<'de> for MembersVisitor<'de> {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor(PhantomData))
    }
}

impl<'de> Members<'de> {
    /// The last member named `key`: with repeated keys the providers' parsers
    /// keep the last, so that is the one that counts.
    fn last(&self, key: &str) -> Option<&'de RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Where `part` (a slice of `body`) starts in `body`; `None` if it is not inside.
fn offset_in(body: &[u8], part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    (start + part.len() <= body.len()).then_some(start)
}

/// `body` with `with` replacing the bytes of `part` (a slice of `body`).
fn replace(body: &[u8], part: &str, with: &[u8]) -> Option<Vec<u8>> {
    let start = offset_in(body, part)?;
    insert_at(body, start..start + part.len(), with)
}

fn insert_at(body: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() + with.len());
    out.extend_from_slice(body.get(..range.start)?);
    out.extend_from_slice(with);
    out.extend_from_slice(body.get(range.end..)?);
    Some(out)
}

/// Asks an OpenAI-style upstream for a final usage chunk, for a client that did
/// not: returns the new body when `body` is a JSON object with `"stream": true`
/// and no `"include_usage": true` in its `stream_options`; `None` when nothing
/// needs changing (not streaming, already asked, not JSON, or a `stream_options`
/// that is not an object, which the upstream will reject on its own).
///
/// Only the inserted bytes differ from `body`. An explicit `"include_usage":
/// false` is turned to `true`: the gateway needs the counts, and the client, who
/// did not ask for them, has the usage-only chunk removed again by the caller
/// (see [`is_usage_only_chunk`]), so it still gets the stream it asked for.
pub fn inject_include_usage(body: &[u8]) -> Option<Vec<u8>> {
    let top: Members<'_> = serde_json::from_slice(body).ok()?;
    if top.last("stream")?.get() != "true" {
        return None;
    }
    let Some(options) = top.last("stream_options") else {
        let close = body.iter().rposition(|b| !b.is_ascii_whitespace())?;
        return insert_at(
            body,
            close..close,
            br#","stream_options":{"include_usage":true}"#,
        );
    };
    if options.get() == "null" {
        return replace(body, options.get(), br#"{"include_usage":true}"#);
    }
    let inner: Members<'_> = serde_json::from_str(options.get()).ok()?;
    match inner.last("include_usage") {
        Some(flag) if flag.get() == "true" => None,
        Some(flag) => replace(body, flag.get(), b"true"),
        None => {
            // Right after the object's `{`, so nothing that follows moves.
            let open = offset_in(body, options.get())? + 1;
            let member: &[u8] = if inner.0.is_empty() {
                br#""include_usage":true"#
            } else {
                br#""include_usage":true,"#
            };
            insert_at(body, open..open, member)
        }
    }
}

/// The chunk that `include_usage` adds at the end of an OpenAI stream.
#[derive(Deserialize)]
struct UsageOnlyChunk {
    choices: Option<Vec<IgnoredAny>>,
    usage: Option<serde_json::Map<String, serde_json::Value>>,
}

/// True for the data of OpenAI's usage-only final chunk (`"choices": []` and a
/// `usage` object), which the gateway removes when it asked for usage itself.
/// Ordinary chunks, even with `"usage": null`, `[DONE]` and non-JSON give false.
pub fn is_usage_only_chunk(event_data: &[u8]) -> bool {
    if !mentions_usage_object(event_data) {
        return false;
    }
    match serde_json::from_slice::<UsageOnlyChunk>(event_data) {
        Ok(chunk) => chunk.usage.is_some() && chunk.choices.is_some_and(|c| c.is_empty()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injected(body: &str) -> Option<String> {
        inject_include_usage(body.as_bytes()).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The injected body must parse and say `include_usage: true`.
    fn assert_asks_usage(body: &str) {
        let value: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(value["stream_options"]["include_usage"], true, "{body}");
    }

    #[test]
    fn adds_stream_options_before_the_closing_brace() {
        let body = "{\"model\":\"m\",\"stream\":true}\n";
        let out = injected(body).unwrap();
        assert_eq!(
            out,
            "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}\n"
        );
        assert_asks_usage(&out);
    }

    #[test]
    fn keeps_every_other_byte_of_a_pretty_body() {
        let body =
            "{\n  \"stream\" : true ,\n  \"messages\": [{\"role\":\"user\",\"content\":\"}\"}]\n}";
        let out = injected(body).unwrap();
        assert_eq!(out, "{\n  \"stream\" : true ,\n  \"messages\": [{\"role\":\"user\",\"content\":\"}\"}]\n,\"stream_options\":{\"include_usage\":true}}");
        assert_asks_usage(&out);
    }

    #[test]
    fn fills_an_existing_stream_options() {
        let cases = [
            (
                r#"{"stream":true,"stream_options":{}}"#,
                r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
            ),
            (
                r#"{"stream":true,"stream_options":{ }}"#,
                r#"{"stream":true,"stream_options":{"include_usage":true }}"#,
            ),
            (
                r#"{"stream_options": {"x":1},"stream":true}"#,
                r#"{"stream_options": {"include_usage":true,"x":1},"stream":true}"#,
            ),
            (
                r#"{"stream":true,"stream_options":{"include_usage":false}}"#,
                r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
            ),
            (
                r#"{"stream":true,"stream_options":null}"#,
                r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
            ),
        ];
        for (body, want) in cases {
            let out = injected(body).unwrap_or_else(|| panic!("no injection for {body}"));
            assert_eq!(out, want);
            assert_asks_usage(&out);
        }
    }

    #[test]
    fn leaves_bodies_that_need_nothing() {
        for body in [
            r#"{"stream":true,"stream_options":{"include_usage":true}}"#,
            r#"{"stream":false}"#,
            r#"{"stream":"true"}"#,
            r#"{"model":"m"}"#,
            r#"{"stream":true,"stream":false}"#,
            r#"{"stream":true,"stream_options":"yes"}"#,
            r#"[{"stream":true}]"#,
            r#"{"stream":true"#,
            "",
            "\u{0}",
        ] {
            assert_eq!(injected(body), None, "{body}");
        }
    }

    #[test]
    fn escaped_keys_count_and_the_last_repeat_wins() {
        let out = injected(r#"{"stream":false,"\u0073tream":true}"#).unwrap();
        assert_asks_usage(&out);
        let out = injected(
            r#"{"stream":true,"stream_options":{"include_usage":true},"stream_options":{}}"#,
        )
        .unwrap();
        assert!(
            out.ends_with(r#""stream_options":{"include_usage":true}}"#),
            "{out}"
        );
    }

    #[test]
    fn spots_only_the_usage_only_chunk() {
        assert!(is_usage_only_chunk(
            br#"{"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#
        ));
        assert!(is_usage_only_chunk(br#"{"choices": [ ], "usage" : {}}"#));
        assert!(!is_usage_only_chunk(
            br#"{"choices":[{"delta":{}}],"usage":null}"#
        ));
        assert!(!is_usage_only_chunk(
            br#"{"choices":[{"delta":{}}],"usage":{"prompt_tokens":1}}"#
        ));
        assert!(!is_usage_only_chunk(br#"{"choices":[],"usage":null}"#));
        assert!(!is_usage_only_chunk(br#"{"usage":{"prompt_tokens":1}}"#));
        assert!(!is_usage_only_chunk(b"[DONE]"));
        assert!(!is_usage_only_chunk(b""));
    }
}
