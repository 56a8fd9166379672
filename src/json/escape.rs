//! JSON string escaping rules shared by the scanners: validating one escape
//! sequence, unescaping a raw string token, and writing a quoted string.

use super::JsonError;

/// Validates the escape sequence whose backslash is at `at` and returns the
/// index just past it. Lone or unpaired UTF-16 surrogates are rejected, as
/// serde_json and Python's strict decoders do.
pub fn check_escape(buf: &[u8], at: usize) -> Result<usize, JsonError> {
    let invalid = JsonError::Invalid { offset: at };
    match buf.get(at + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
        Some(b'u') => {
            let unit = hex4(buf, at + 2).ok_or(invalid.clone())?;
            match unit {
                0xD800..=0xDBFF => {
                    if buf.get(at + 6) != Some(&b'\\') || buf.get(at + 7) != Some(&b'u') {
                        return Err(invalid);
                    }
                    match hex4(buf, at + 8) {
                        Some(0xDC00..=0xDFFF) => Ok(at + 12),
                        _ => Err(invalid),
                    }
                }
                0xDC00..=0xDFFF => Err(invalid),
                _ => Ok(at + 6),
            }
        }
        _ => Err(invalid),
    }
}

/// The four hex digits at `at` as a UTF-16 code unit.
fn hex4(buf: &[u8], at: usize) -> Option<u32> {
    let digits = buf.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |acc, &b| {
        let d = (b as char).to_digit(16)?;
        Some(acc * 16 + d)
    })
}

/// Unescapes the content of a string token (the bytes between its quotes).
/// `base` is the content's offset in the body, for error offsets.
pub(super) fn unescape(raw: &[u8], base: usize) -> Result<String, JsonError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(rel) = memchr::memchr(b'\\', &raw[i..]) {
        out.extend_from_slice(&raw[i..i + rel]);
        let at = i + rel;
        let next = check_escape(raw, at).map_err(|_| JsonError::Invalid { offset: base + at })?;
        let ch = match raw.get(at + 1) {
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                decode_unicode(raw, at).ok_or(JsonError::Invalid { offset: base + at })?
            }
            Some(&other) => other as char,
            None => return Err(JsonError::Invalid { offset: base + at }),
        };
        let mut utf8 = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
        i = next;
    }
    out.extend_from_slice(&raw[i..]);
    String::from_utf8(out).map_err(|e| JsonError::Invalid {
        offset: base + e.utf8_error().valid_up_to(),
    })
}

/// Decodes a `\uXXXX` escape (or surrogate pair) already checked by `check_escape`.
fn decode_unicode(raw: &[u8], at: usize) -> Option<char> {
    let first = hex4(raw, at + 2)?;
    if (0xD800..=0xDBFF).contains(&first) {
        let low = hex4(raw, at + 8)?;
        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))
    } else {
        char::from_u32(first)
    }
}

/// `value` as a quoted JSON string. Only what JSON requires is escaped (`"`, `\`
/// and control characters), so model names come out as written.
pub fn json_string(value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_string_round_trips_through_serde_json() {
        for s in [
            "gpt-4o",
            "a\"b\\c",
            "line\nbreak\ttab\r",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "héllo ✓ 😀",
            "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
            "",
        ] {
            let quoted = json_string(s);
            let back: String = serde_json::from_slice(&quoted).unwrap();
            assert_eq!(back, s);
        }
        assert_eq!(json_string("a/b"), b"\"a/b\"");
        assert_eq!(json_string("\u{1}"), b"\"\\u0001\"");
    }

    #[test]
    fn unescape_handles_every_escape() {
        let raw = br#"\"\\\/\b\f\n\r\t\u006d\u00e9\ud83d\ude00x"#;
        assert_eq!(unescape(raw, 0).unwrap(), "\"\\/\u{8}\u{c}\n\r\tmé😀x");
        assert_eq!(unescape(b"openai\\/gpt-4o", 0).unwrap(), "openai/gpt-4o");
    }

    #[test]
    fn bad_escapes_are_invalid_not_panics() {
        for raw in [
            &b"\\"[..],
            b"\\x",
            b"\\u12",
            b"\\u12g4",
            b"\\ud800",
            b"\\ud800\\u0041",
            b"\\udc00",
            b"ab\\ud83d\\",
        ] {
            assert!(
                matches!(unescape(raw, 10), Err(JsonError::Invalid { .. })),
                "{raw:?}"
            );
        }
    }
}
