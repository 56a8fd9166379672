//! The JSON state machine both scanners share: the top-level object, key
//! classification and iterative value skipping, over a pluggable [`Lexer`].

use std::ops::Range;

use super::escape::unescape;
use super::{JsonError, ModelField, RequestScan};

/// How the state machine moves between tokens: the scalar scanner looks at every
/// byte, the SIMD one jumps along a structural index built beforehand.
pub(super) trait Lexer {
    /// The first token at or after `pos`, past whitespace; `buf.len()` if none.
    fn next_token(&mut self, buf: &[u8], pos: usize) -> usize;
    /// With `pos` on a string's opening quote: the index just past its closing quote.
    /// The string's escapes and bytes are validated (here or before the walk).
    fn skip_string(&mut self, buf: &[u8], pos: usize) -> Result<usize, JsonError>;
    /// With `pos` on a value's first byte: the index just past the value, for a lexer
    /// with a faster way to validate and skip one than the generic walk (`None`).
    fn skip_value(&mut self, _buf: &[u8], _pos: usize) -> Option<Result<usize, JsonError>> {
        None
    }
}

/// Walks `body` (already known to be UTF-8, or checked by `lexer`) and reads the
/// top-level `model`, `stream` and `wanted` keys.
pub(super) fn scan<L: Lexer>(
    body: &[u8],
    wanted: &[String],
    lexer: L,
) -> Result<RequestScan, JsonError> {
    let mut cursor = Cursor::new(body, wanted, lexer);
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
    model_not_string: bool,
    stream_span: Option<Range<usize>>,
    /// The value of each wanted key (the last, when repeated, as parsers take it).
    fields: Vec<Option<Range<usize>>>,
    /// The elements of the last `messages` (or `input`) key whose value is an array.
    messages: Vec<Range<usize>>,
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
                Some(ModelField {
                    value: string_value(raw, span.start + 1)?,
                    span,
                })
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
            messages: self.messages,
        })
    }
}

/// A string token's content (between the quotes) as text; `base` is its offset.
pub(super) fn string_value(raw: &[u8], base: usize) -> Result<String, JsonError> {
    if memchr::memchr(b'\\', raw).is_some() {
        return unescape(raw, base);
    }
    String::from_utf8(raw.to_vec()).map_err(|e| JsonError::Invalid {
        offset: base + e.utf8_error().valid_up_to(),
    })
}

enum Key {
    Model,
    Stream,
    /// The `wanted` key at this index.
    Wanted(usize),
    /// `messages` or `input` (when not wanted): where each array element is is noted.
    Messages,
    Other,
}

pub(super) struct Cursor<'a, L> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    /// Containers opened by `skip_value` and not yet closed: true for objects.
    open: Vec<bool>,
    /// Top-level keys whose values are wanted.
    wanted: &'a [String],
    lexer: L,
}

impl<'a, L: Lexer> Cursor<'a, L> {
    pub(super) fn new(buf: &'a [u8], wanted: &'a [String], lexer: L) -> Self {
        Cursor {
            buf,
            pos: 0,
            open: Vec::new(),
            wanted,
            lexer,
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn invalid(&self) -> JsonError {
        JsonError::Invalid { offset: self.pos }
    }

    pub(super) fn skip_ws(&mut self) {
        self.pos = self.lexer.next_token(self.buf, self.pos);
    }

    pub(super) fn skip_string(&mut self) -> Result<(), JsonError> {
        self.pos = self.lexer.skip_string(self.buf, self.pos)?;
        Ok(())
    }

    pub(super) fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
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
                        self.skip_string()?;
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
                Key::Messages => self.skip_elements(&mut top.messages)?,
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
        self.skip_string()?;
        let raw = self.buf.get(start + 1..self.pos - 1).unwrap_or_default();
        let key = if memchr::memchr(b'\\', raw).is_some() {
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

    /// Skips a value, noting in `spans` where each element is when it is an array (the
    /// elements skipped one by one, with the same checks as `skip_value`).
    fn skip_elements(&mut self, spans: &mut Vec<Range<usize>>) -> Result<(), JsonError> {
        if self.peek() != Some(b'[') {
            return self.skip_value();
        }
        spans.clear();
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let start = self.pos;
            self.skip_value()?;
            spans.push(start..self.pos);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid()),
            }
        }
    }

    /// Skips one value of any depth. Iterative, so hostile nesting costs heap,
    /// not stack.
    pub(super) fn skip_value(&mut self) -> Result<(), JsonError> {
        if let Some(end) = self.lexer.skip_value(self.buf, self.pos) {
            self.pos = end?;
            return Ok(());
        }
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
                Some(b'"') => self.skip_string()?,
                Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                    self.pos = scalar_end(self.buf, self.pos)?;
                }
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
            None if key == b"messages" || key == b"input" => Key::Messages,
            None => Key::Other,
        },
    }
}

/// With `pos` on the first byte of a number or a literal: the index just past it.
/// A delimiter must follow: any other byte would be invalid next anyway, and the SIMD
/// lexer's index marks only where a run of such bytes starts, not its every byte.
pub(super) fn scalar_end(buf: &[u8], pos: usize) -> Result<usize, JsonError> {
    let end = match buf.get(pos) {
        Some(b't') => literal_end(buf, pos, b"true")?,
        Some(b'f') => literal_end(buf, pos, b"false")?,
        Some(b'n') => literal_end(buf, pos, b"null")?,
        _ => number_end(buf, pos)?,
    };
    match buf.get(end) {
        None
        | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"') => {
            Ok(end)
        }
        Some(_) => Err(JsonError::Invalid { offset: end }),
    }
}

fn literal_end(buf: &[u8], pos: usize, word: &[u8]) -> Result<usize, JsonError> {
    match buf.get(pos..pos + word.len()) {
        Some(bytes) if bytes == word => Ok(pos + word.len()),
        _ => Err(JsonError::Invalid { offset: pos }),
    }
}

/// RFC 8259: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(buf: &[u8], mut pos: usize) -> Result<usize, JsonError> {
    if buf.get(pos) == Some(&b'-') {
        pos += 1;
    }
    match buf.get(pos) {
        Some(b'0') => pos += 1,
        Some(b'1'..=b'9') => pos = digits_end(buf, pos),
        _ => return Err(JsonError::Invalid { offset: pos }),
    }
    if buf.get(pos) == Some(&b'.') {
        pos = required_digits_end(buf, pos + 1)?;
    }
    if let Some(b'e' | b'E') = buf.get(pos) {
        pos += 1;
        if let Some(b'+' | b'-') = buf.get(pos) {
            pos += 1;
        }
        pos = required_digits_end(buf, pos)?;
    }
    Ok(pos)
}

fn digits_end(buf: &[u8], mut pos: usize) -> usize {
    while let Some(b'0'..=b'9') = buf.get(pos) {
        pos += 1;
    }
    pos
}

fn required_digits_end(buf: &[u8], pos: usize) -> Result<usize, JsonError> {
    match buf.get(pos) {
        Some(b'0'..=b'9') => Ok(digits_end(buf, pos)),
        _ => Err(JsonError::Invalid { offset: pos }),
    }
}
