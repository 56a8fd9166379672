//! The scalar scanner: `from_utf8` over the body, then the shared state machine
//! stepping byte by byte, with memchr to skip string contents. Also `find_path`.

use std::ops::Range;

use super::escape::check_escape;
use super::grammar::{self, string_value, Cursor, Lexer};
use super::{JsonError, RequestScan};

/// Validates `body` as JSON and reads its top-level `model` and `stream`.
pub fn scan_request(body: &[u8]) -> Result<RequestScan, JsonError> {
    scan_request_for(body, &[])
}

/// As [`scan_request`], and where the
/// value of each top-level key in `wanted` is (`RequestScan::fields`, in `wanted`'s order).
pub fn scan_request_for(body: &[u8], wanted: &[String]) -> Result<RequestScan, JsonError> {
    // Outside strings every valid byte is ASCII, so checking the whole body
    // once is the same as checking each string, and std does it word-at-a-time.
    if let Err(e) = std::str::from_utf8(body) {
        return Err(JsonError::Invalid {
            offset: e.valid_up_to(),
        });
    }
    grammar::scan(body, wanted, ByteLexer)
}

/// Steps over whitespace byte by byte and validates strings as it skips them.
pub(super) struct ByteLexer;

impl Lexer for ByteLexer {
    fn next_token(&mut self, buf: &[u8], mut pos: usize) -> usize {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = buf.get(pos) {
            pos += 1;
        }
        pos
    }

    fn skip_string(&mut self, buf: &[u8], pos: usize) -> Result<usize, JsonError> {
        let mut i = pos + 1;
        loop {
            let rest = buf.get(i..).unwrap_or_default();
            let Some(rel) = memchr::memchr2(b'"', b'\\', rest) else {
                return Err(JsonError::Invalid { offset: buf.len() });
            };
            if has_control_byte(&rest[..rel]) {
                return Err(JsonError::Invalid { offset: i });
            }
            let at = i + rel;
            if buf.get(at) == Some(&b'"') {
                return Ok(at + 1);
            }
            i = check_escape(buf, at)?;
        }
    }
}

/// Where the value at `path` (object keys, one per level) lies inside `value`, a JSON
/// value the scan already found valid; `None` when a level is missing or not an object.
/// Only the objects on the path are walked; other values are skipped.
pub fn find_path(value: &[u8], path: &[String]) -> Option<Range<usize>> {
    let mut cursor = Cursor::new(value, &[], ByteLexer);
    cursor.skip_ws();
    for key in path {
        if cursor.peek() != Some(b'{') {
            return None;
        }
        cursor.pos += 1;
        cursor.skip_ws();
        let mut found = None;
        while cursor.peek() == Some(b'"') {
            let start = cursor.pos;
            cursor.skip_string().ok()?;
            let raw = value.get(start + 1..cursor.pos - 1)?;
            let same = match memchr::memchr(b'\\', raw) {
                Some(_) => string_value(raw, start + 1).ok()?.as_bytes() == key.as_bytes(),
                None => raw == key.as_bytes(),
            };
            cursor.skip_ws();
            cursor.expect(b':').ok()?;
            cursor.skip_ws();
            let at = cursor.pos;
            cursor.skip_value().ok()?;
            if same {
                // The last of repeated keys wins, as parsers take it.
                found = Some(at);
            }
            cursor.skip_ws();
            if cursor.peek() == Some(b',') {
                cursor.pos += 1;
                cursor.skip_ws();
            }
        }
        cursor.pos = found?;
    }
    let start = cursor.pos;
    cursor.skip_value().ok()?;
    Some(start..cursor.pos)
}

/// True if `bytes` holds a control character, which JSON strings must escape.
/// A min-reduction compiles to packed compares, unlike an early-exit search.
fn has_control_byte(bytes: &[u8]) -> bool {
    bytes.iter().fold(u8::MAX, |m, &b| m.min(b)) < 0x20
}
