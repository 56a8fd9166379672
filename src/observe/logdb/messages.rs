//! Where the elements of a chat body's top-level `messages` array are: a small scan that
//! skips values by their brackets and strings, for storing each element once (`chunks.rs`).

use std::ops::Range;

/// The byte spans of the elements of `body`'s top-level `"messages"` array, in order;
/// `None` when the body is not a JSON object with such an array (or is malformed
/// before its end). Only structure is checked, not every value: a span is handed back
/// byte for byte, never interpreted.
pub(super) fn message_elements(body: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut at = skip_ws(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at = skip_ws(body, at);
        match body.get(at)? {
            b'}' => return None,
            b',' => at += 1,
            b'"' => {
                let key_end = skip_string(body, at)?;
                let is_messages = &body[at..key_end] == b"\"messages\"";
                at = skip_ws(body, key_end);
                if body.get(at) != Some(&b':') {
                    return None;
                }
                at = skip_ws(body, at + 1);
                if is_messages {
                    return elements(body, at);
                }
                at = skip_value(body, at)?;
            }
            _ => return None,
        }
    }
}

/// The element spans of the array starting at `at`.
fn elements(body: &[u8], mut at: usize) -> Option<Vec<Range<usize>>> {
    if body.get(at) != Some(&b'[') {
        return None;
    }
    at += 1;
    let mut spans = Vec::new();
    loop {
        at = skip_ws(body, at);
        match body.get(at)? {
            b']' => return Some(spans),
            b',' => at += 1,
            _ => {
                let end = skip_value(body, at)?;
                spans.push(at..end);
                at = end;
            }
        }
    }
}

fn skip_ws(body: &[u8], mut at: usize) -> usize {
    while body.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

/// The end of the string whose opening quote is at `at`.
fn skip_string(body: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', body.get(i..)?)?;
        if body[i] == b'\\' {
            i += 2;
        } else {
            return Some(i + 1);
        }
    }
}

/// The end of the value starting at `at`: a string, an object or array (to its matching
/// bracket, strings skipped), or a scalar (to the next delimiter).
fn skip_value(body: &[u8], at: usize) -> Option<usize> {
    match body.get(at)? {
        b'"' => skip_string(body, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match body.get(i)? {
                    b'"' => {
                        i = skip_string(body, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let rest = &body[at..];
            let len = rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(rest.len());
            (len > 0).then_some(at + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Option<Vec<&str>> {
        message_elements(body.as_bytes()).map(|spans| spans.into_iter().map(|s| &body[s]).collect())
    }

    #[test]
    fn finds_each_element_of_the_top_level_messages() {
        let body = r#"{"model":"m","meta":{"messages":[1]},"messages": [ {"role":"user","content":"a \"]}\\"} , {"role":"assistant","content":[{"type":"text","text":"{["}]},"x" ,3 ],"n":1}"#;
        assert_eq!(
            texts(body),
            Some(vec![
                r#"{"role":"user","content":"a \"]}\\"}"#,
                r#"{"role":"assistant","content":[{"type":"text","text":"{["}]}"#,
                r#""x""#,
                "3",
            ])
        );
    }

    #[test]
    fn anything_else_has_none() {
        assert_eq!(texts(r#"{"model":"m","input":"hi"}"#), None);
        assert_eq!(texts(r#"{"messages":"hi"}"#), None);
        assert_eq!(texts(r#"[{"messages":[]}]"#), None);
        assert_eq!(texts(r#"{"messages":[{"role":"user""#), None);
        assert_eq!(texts(r#"{"messages":[]}"#), Some(vec![]));
        assert_eq!(texts(""), None);
    }
}
