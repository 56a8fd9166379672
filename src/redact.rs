//! Redaction of credentials in what the gateway keeps or prints: `Secret` (a value that never
//! prints itself), credential header names, a Universal body's stored copy, quoting errors.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::fmt;

/// What stands in for a credential (the same words as `Secret` prints).
pub const REDACTED: &str = "[redacted]";

/// A secret string (provider key, gateway token, admin token) that never prints itself:
/// `Debug` and `Display` show `[redacted]`; only `expose()` gives the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from config or the environment.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for writing it upstream or comparing it in constant time.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is the empty string (an unset token).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Header names that always carry a credential, whatever the substring rule says.
const CREDENTIAL_HEADERS: [&str; 8] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cf-aig-authorization",
    "cookie",
    "set-cookie",
];

/// Parts of a name that mark a header as a credential (compared case-insensitively).
const CREDENTIAL_PARTS: [&str; 7] = [
    "auth",
    "key",
    "token",
    "secret",
    "password",
    "credential",
    "cookie",
];

/// Whether a header of this name may carry a credential: one of the fixed names (every
/// provider auth style's header among them) or a name containing `auth`, `key`, `token`,
/// `secret`, `password`, `credential` or `cookie`, in any case. Errs on the side of hiding.
pub fn is_credential_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    CREDENTIAL_HEADERS.contains(&lower.as_str())
        || CREDENTIAL_PARTS.iter().any(|part| lower.contains(part))
}

/// Writes into `out` the Universal request `body` with the value of every credential
/// header of every step (`headers` members named as `is_credential_header` says, or a
/// whole `headers` value that is not an object) replaced by `"[redacted]"`; every other
/// byte is the client's. `false` (and `out` untouched) when the body is not JSON, since
/// then nothing tells where a credential would be: such a body is not stored.
pub fn universal_body(body: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(spans) = std::str::from_utf8(body).ok().and_then(credential_spans) else {
        return false;
    };
    let mut at = 0;
    for (start, end) in spans {
        out.extend_from_slice(body.get(at..start).unwrap_or_default());
        out.push(b'"');
        out.extend_from_slice(REDACTED.as_bytes());
        out.push(b'"');
        at = end;
    }
    out.extend_from_slice(body.get(at..).unwrap_or_default());
    true
}

/// Byte ranges of the values to hide, in order; `None` when `text` is not JSON.
fn credential_spans(text: &str) -> Option<Vec<(usize, usize)>> {
    let top: &RawValue = serde_json::from_str(text).ok()?;
    // A single object is not a valid Universal body, but it is stored all the same.
    let steps: Vec<&RawValue> = match top.get().starts_with('[') {
        true => serde_json::from_str(top.get()).ok()?,
        false => vec![top],
    };
    let mut spans = Vec::new();
    for step in steps {
        for (name, headers) in members(step)? {
            if name != "headers" {
                continue;
            }
            if !headers.get().starts_with('{') {
                spans.push(span_of(text, headers)?);
                continue;
            }
            for (header, value) in members(headers)? {
                if is_credential_header(&header) {
                    spans.push(span_of(text, value)?);
                }
            }
        }
    }
    Some(spans)
}

/// Every member of a JSON object in order, duplicates kept (each may hold a credential);
/// nothing for any other value.
fn members(value: &RawValue) -> Option<Vec<(String, &RawValue)>> {
    if !value.get().starts_with('{') {
        return Some(Vec::new());
    }
    serde_json::from_str::<Members<'_>>(value.get())
        .ok()
        .map(|m| m.0)
}

/// Where `value` (borrowed from `text`) lies in `text`.
fn span_of(text: &str, value: &RawValue) -> Option<(usize, usize)> {
    let start = (value.get().as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start.checked_add(value.get().len())?;
    (end <= text.len()).then_some((start, end))
}

struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    all.push(member);
                }
                Ok(Members(all))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

/// A deserialisation message without the values it quotes (serde writes
/// `invalid type: string "...", expected ...` and ``unknown variant `...` ``): the value
/// may be a credential put in the wrong place.
pub fn scrub_quoted(message: &str) -> String {
    let mut out = message.trim_end().to_string();
    let mut from = 0;
    while let Some(found) = out.get(from..).and_then(|rest| rest.find("string \"")) {
        let start = from + found;
        let quoted_at = start + "string ".len();
        let end = quoted_at + quoted_len(out.get(quoted_at..).unwrap_or_default());
        out.replace_range(start..end, "a string");
        from = start + "a string".len();
    }
    let mut from = 0;
    while let Some(found) = out.get(from..).and_then(|rest| rest.find("variant `")) {
        let start = from + found + "variant ".len();
        let end = out
            .get(start + 1..)
            .and_then(|rest| rest.find('`'))
            .map_or(out.len(), |i| start + 1 + i + 1);
        out.replace_range(start..end, REDACTED);
        from = start + REDACTED.len();
    }
    out
}

/// Length of the leading `"..."` (Debug-escaped) in `text`, quotes included.
fn quoted_len(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            _ => {}
        }
    }
    text.len()
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
