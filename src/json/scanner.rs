//! The hand scanner: one validating pass over the body with memchr to skip
//! string contents; nesting is tracked on a heap stack, never by recursion.

use std::ops::Range;

use super::escape::{check_escape, unescape};
use super::{JsonError, ModelField, RequestScan};

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
    let mut cursor = Cursor {
        buf: body,
        pos: 0,
        open: Vec::new(),
        wanted,
    };
    cursor.skip_ws();
    if cursor.peek() != Some(b'{') {
        cursor.skip_value()?;
        cursor.expect_end()?;
        return Err(JsonError::NotObject);
    }
    let top = cursor.top_level_object()?;
    cursor.expect_end()?;
    top.finish(body)
}

/// What the top-level object held, judged once the whole body is known valid.
#[derive(Default)]
struct TopLevel {
    model_keys: usize,
    model_span: Option<Range<usize>>,
    model_escaped: bool,
    model_not_string: bool,
    stream_span: Option<Range<usize>>,
    /// The value of each wanted key (the last, when repeated, as parsers take it).
    fields: Vec<Option<Range<usize>>>,
}

impl TopLevel {
    fn finish(self, body: &[u8]) -> Result<RequestScan, JsonError> {
        if self.model_keys > 1 {
            return Err(JsonError::DuplicateModel);
        }
        if self.model_not_string {
            return Err(JsonError::ModelNotString);
        }
        let model = match self.model_span {
            None => None,
            Some(span) => {
                let raw = body
                    .get(span.start + 1..span.end - 1)
                    .ok_or(JsonError::Invalid { offset: span.start })?;
                let value = if self.model_escaped {
                    unescape(raw, span.start + 1)?
                } else {
                    String::from_utf8(raw.to_vec())
                        .map_err(|_| JsonError::Invalid { offset: span.start })?
                };
                Some(ModelField { value, span })
            }
        };
        let stream = self
            .stream_span
            .as_ref()
            .is_some_and(|s| body.get(s.clone()) == Some(b"true"));
        Ok(RequestScan {
            model,
            stream,
            stream_span: self.stream_span,
            fields: self.fields,
        })
    }
}

enum Key {
    Model,
    Stream,
    /// The `wanted` key at this index.
    Wanted(usize),
    Other,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Containers opened by `skip_value` and not yet closed: true for objects.
    open: Vec<bool>,
    /// Top-level keys whose values are wanted.
    wanted: &'a [String],
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn invalid(&self) -> JsonError {
        JsonError::Invalid { offset: self.pos }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() != Some(byte) {
            return Err(self.invalid());
        }
        self.pos += 1;
        Ok(())
    }

    fn expect_end(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.pos != self.buf.len() {
            return Err(self.invalid());
        }
        Ok(())
    }

    /// Walks the top-level object (cursor on its `{`), classifying each key.
    fn top_level_object(&mut self) -> Result<TopLevel, JsonError> {
        let mut top = TopLevel {
            fields: vec![None; self.wanted.len()],
            ..TopLevel::default()
        };
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(top);
        }
        loop {
            let key = self.key()?;
            self.skip_ws();
            let start = self.pos;
            match key {
                Key::Model => {
                    top.model_keys += 1;
                    if self.peek() == Some(b'"') {
                        top.model_escaped = self.skip_string()?;
                        top.model_span = Some(start..self.pos);
                    } else {
                        self.skip_value()?;
                        top.model_not_string = true;
                    }
                }
                Key::Stream => {
                    self.skip_value()?;
                    top.stream_span = Some(start..self.pos);
                }
                Key::Wanted(i) => {
                    self.skip_value()?;
                    top.fields[i] = Some(start..self.pos);
                }
                Key::Other => self.skip_value()?,
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(top);
                }
                _ => return Err(self.invalid()),
            }
        }
    }

    /// Reads `"key" :` (cursor on the quote) and says which top-level key it is.
    fn key(&mut self) -> Result<Key, JsonError> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return Err(self.invalid());
        }
        let escaped = self.skip_string()?;
        let raw = self.buf.get(start + 1..self.pos - 1).unwrap_or_default();
        let key = if escaped {
            classify(unescape(raw, start + 1)?.as_bytes(), self.wanted)
        } else {
            classify(raw, self.wanted)
        };
        self.skip_ws();
        self.expect(b':')?;
        Ok(key)
    }

    /// Skips a nested `"key" :`, whose name does not matter.
    fn skip_key(&mut self) -> Result<(), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.invalid());
        }
        self.skip_string()?;
        self.skip_ws();
        self.expect(b':')
    }

    /// Skips a string (cursor on its opening quote); true if it held escapes.
    fn skip_string(&mut self) -> Result<bool, JsonError> {
        let mut escaped = false;
        let mut i = self.pos + 1;
        loop {
            let rest = self.buf.get(i..).unwrap_or_default();
            let Some(rel) = memchr::memchr2(b'"', b'\\', rest) else {
                self.pos = self.buf.len();
                return Err(self.invalid());
            };
            if has_control_byte(&rest[..rel]) {
                self.pos = i;
                return Err(self.invalid());
            }
            let at = i + rel;
            if self.buf.get(at) == Some(&b'"') {
                self.pos = at + 1;
                return Ok(escaped);
            }
            escaped = true;
            i = check_escape(self.buf, at)?;
        }
    }

    fn skip_number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.invalid()),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.require_digits()?;
        }
        Ok(())
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self) -> Result<(), JsonError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.invalid());
        }
        self.skip_digits();
        Ok(())
    }

    fn skip_literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if !self
            .buf
            .get(self.pos..)
            .unwrap_or_default()
            .starts_with(word)
        {
            return Err(self.invalid());
        }
        self.pos += word.len();
        Ok(())
    }

    /// Skips one value of any depth. Iterative, so hostile nesting costs heap,
    /// not stack.
    fn skip_value(&mut self) -> Result<(), JsonError> {
        let base = self.open.len();
        'value: loop {
            self.skip_ws();
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                    } else {
                        self.open.push(true);
                        self.skip_key()?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                    } else {
                        self.open.push(false);
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    self.skip_string()?;
                }
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                Some(b't') => self.skip_literal(b"true")?,
                Some(b'f') => self.skip_literal(b"false")?,
                Some(b'n') => self.skip_literal(b"null")?,
                _ => return Err(self.invalid()),
            }
            // A value ended: go on to the next element or close containers.
            loop {
                if self.open.len() == base {
                    return Ok(());
                }
                let Some(&in_object) = self.open.last() else {
                    return Ok(());
                };
                self.skip_ws();
                match (self.peek(), in_object) {
                    (Some(b','), true) => {
                        self.pos += 1;
                        self.skip_ws();
                        self.skip_key()?;
                        continue 'value;
                    }
                    (Some(b','), false) => {
                        self.pos += 1;
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.pos += 1;
                        self.open.pop();
                    }
                    _ => return Err(self.invalid()),
                }
            }
        }
    }
}

fn classify(key: &[u8], wanted: &[String]) -> Key {
    match key {
        b"model" => Key::Model,
        b"stream" => Key::Stream,
        _ => match wanted.iter().position(|w| w.as_bytes() == key) {
            Some(i) => Key::Wanted(i),
            None => Key::Other,
        },
    }
}

/// Where the value at `path` (object keys, one per level) lies inside `value`, a JSON
/// value the scan already found valid; `None` when a level is missing or not an object.
/// Only the objects on the path are walked; other values are skipped.
pub fn find_path(value: &[u8], path: &[String]) -> Option<Range<usize>> {
    let mut cursor = Cursor {
        buf: value,
        pos: 0,
        open: Vec::new(),
        wanted: &[],
    };
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
            let escaped = cursor.skip_string().ok()?;
            let raw = value.get(start + 1..cursor.pos - 1)?;
            let same = match escaped {
                true => unescape(raw, start + 1).ok()?.as_bytes() == key.as_bytes(),
                false => raw == key.as_bytes(),
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
