//! The simd-json approach, the benchmark's losing candidate (here so that only benches and
//! tests depend on simd-json): tape a scratch copy, walk its top level for `model`, `stream`.
//!
//! Shared by `benches/rewrite.rs` and the library's differential tests (`src/json/mod.rs`
//! includes it by path); in both, `super` holds the json types, `escape` and `scanner`.

use std::ops::Range;

use simd_json::{Node, StaticNode};

use super::escape::check_escape;
use super::{JsonError, ModelField, RequestScan};

/// Same contract as [`super::scan_request`], through simd-json's tape.
pub fn scan_request(body: &[u8]) -> Result<RequestScan, JsonError> {
    // simd-json rejects a leading BOM too, but says so with an offset of 0 anyway.
    let mut scratch = body.to_vec();
    let base = scratch.as_ptr() as usize;
    let tape =
        simd_json::to_tape(&mut scratch).map_err(|e| JsonError::Invalid { offset: e.index() })?;
    reject_what_simd_json_lets_through(body)?;
    let nodes = tape.0.as_slice();
    let Some(Node::Object { len, .. }) = nodes.first() else {
        return Err(JsonError::NotObject);
    };

    let mut model_keys = 0;
    let mut model = None;
    let mut model_not_string = false;
    let mut stream_span = None;
    let mut stream = false;
    let mut i = 1;
    for _ in 0..*len {
        let (Some(Node::String(key)), Some(value)) = (nodes.get(i), nodes.get(i + 1)) else {
            return Err(JsonError::Invalid { offset: 0 });
        };
        match *key {
            "model" => {
                model_keys += 1;
                match value {
                    Node::String(s) => {
                        // The unescaped string sits where its raw content began.
                        let content_start = s.as_ptr() as usize - base;
                        let span = string_token(body, content_start)?;
                        model = Some(ModelField {
                            value: (*s).to_owned(),
                            span,
                        });
                    }
                    _ => model_not_string = true,
                }
            }
            "stream" => {
                stream = matches!(value, Node::Static(StaticNode::Bool(true)));
                stream_span = Some(stream_value_span(
                    body,
                    key.as_ptr() as usize - base,
                    value,
                )?);
            }
            _ => {}
        }
        i += 1 + node_count(value);
    }
    if model_keys > 1 {
        return Err(JsonError::DuplicateModel);
    }
    if model_not_string {
        return Err(JsonError::ModelNotString);
    }
    Ok(RequestScan {
        model,
        stream,
        stream_span,
        ..RequestScan::default()
    })
}

/// The span of the value after the key whose content starts at `key_start`.
/// The tape keeps no positions for non-strings: scalars end at the next
/// delimiter; a container (never sent in practice) takes a full hand scan.
fn stream_value_span(
    body: &[u8],
    key_start: usize,
    value: &Node<'_>,
) -> Result<Range<usize>, JsonError> {
    let key_end = string_token(body, key_start)?.end;
    let is_ws_or_colon = |b: &u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b':');
    let start = key_end
        + body
            .get(key_end..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| is_ws_or_colon(b))
            .count();
    match value {
        Node::String(_) => string_token(body, start + 1),
        Node::Static(_) => {
            let rest = body.get(start..).unwrap_or_default();
            let len = rest
                .iter()
                .take_while(|b| !matches!(b, b',' | b'}' | b' ' | b'\n' | b'\r' | b'\t'))
                .count();
            Ok(start..start + len)
        }
        Node::Object { .. } | Node::Array { .. } => super::scanner::scan_request(body)?
            .stream_span
            .ok_or(JsonError::Invalid { offset: start }),
    }
}

/// simd-json 0.15 accepts two things serde_json (and so the rest of the
/// gateway) rejects, found by the differential test: unpaired `\uD800`-style
/// escapes, and a NUL byte after a number. A NUL is never valid anywhere in
/// JSON; in a body simd-json validated every backslash starts an escape inside
/// a string, so a memchr walk finds them all.
fn reject_what_simd_json_lets_through(body: &[u8]) -> Result<(), JsonError> {
    if let Some(offset) = memchr::memchr(0, body) {
        return Err(JsonError::Invalid { offset });
    }
    let mut i = 0;
    while let Some(rel) = memchr::memchr(b'\\', body.get(i..).unwrap_or_default()) {
        i = check_escape(body, i + rel)?;
    }
    Ok(())
}

/// Tape nodes a value occupies, itself included.
fn node_count(value: &Node<'_>) -> usize {
    match value {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

/// The span of the (already validated) string token whose content starts at
/// `content_start`: from its opening quote to just past its closing quote.
fn string_token(body: &[u8], content_start: usize) -> Result<Range<usize>, JsonError> {
    let invalid = JsonError::Invalid {
        offset: content_start,
    };
    let mut i = content_start;
    loop {
        let rest = body.get(i..).ok_or(invalid.clone())?;
        let rel = memchr::memchr2(b'"', b'\\', rest).ok_or(invalid.clone())?;
        let at = i + rel;
        if body.get(at) == Some(&b'"') {
            return Ok(content_start.checked_sub(1).ok_or(invalid)?..at + 1);
        }
        i = check_escape(body, at)?;
    }
}
