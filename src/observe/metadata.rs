//! The `cf-aig-metadata` request header: a flat JSON object of at most five
//! string, number or boolean entries that is stored with the request's log entry.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// How many entries are kept; later ones are dropped, as in the hosted service.
pub const MAX_METADATA_ENTRIES: usize = 5;

/// Why a `cf-aig-metadata` header was refused (the caller answers 400, code 2003).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not valid JSON (or not UTF-8).
    #[error("cf-aig-metadata is not valid JSON")]
    NotJson,
    /// Valid JSON whose top level is not an object.
    #[error("cf-aig-metadata must be a JSON object")]
    NotObject,
    /// An entry's value is an object, an array or null.
    #[error("cf-aig-metadata entry {key:?} must be a string, number or boolean, not {found}")]
    BadValue {
        /// The entry's key.
        key: String,
        /// What its value is (`object`, `array`, `null`).
        found: &'static str,
    },
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    /// A JSON string.
    String(String),
    /// A JSON number, as written.
    Number(serde_json::Number),
    /// A JSON boolean.
    Bool(bool),
}

impl MetadataValue {
    /// The value as text (a string unquoted, a number as written): what spend rules and
    /// filters compare.
    pub fn text(&self) -> String {
        match self {
            MetadataValue::String(s) => s.clone(),
            MetadataValue::Number(n) => n.to_string(),
            MetadataValue::Bool(b) => b.to_string(),
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            MetadataValue::String(s) => Value::String(s.clone()),
            MetadataValue::Number(n) => Value::Number(n.clone()),
            MetadataValue::Bool(b) => Value::Bool(*b),
        }
    }
}

/// Parsed metadata: at most [`MAX_METADATA_ENTRIES`] entries in header order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    entries: Vec<(String, MetadataValue)>,
}

impl Metadata {
    /// The entries, in the order the header gave them.
    pub fn entries(&self) -> &[(String, MetadataValue)] {
        &self.entries
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether the header held no entry (or was absent).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The JSON object text stored in the log (`{}` when empty), entries in order.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Serialising a string or a scalar cannot fail; fall back to null anyway.
            out.push_str(&serde_json::to_string(key).unwrap_or_else(|_| "\"\"".into()));
            out.push(':');
            out.push_str(
                &serde_json::to_string(&value.to_json()).unwrap_or_else(|_| "null".into()),
            );
        }
        out.push('}');
        out
    }
}

/// The members of an object in order (serde_json's own map would sort them).
struct OrderedMembers(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedMembers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = OrderedMembers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(OrderedMembers(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// Parses a `cf-aig-metadata` header value. Every value is checked (a nested
/// value anywhere refuses the header, so a client learns of it); then only the
/// first five distinct keys are kept. A repeated key takes its last value at its
/// first place, as `JSON.parse` does.
pub fn parse_metadata(header: &[u8]) -> Result<Metadata, MetadataError> {
    let members = match serde_json::from_slice::<OrderedMembers>(header) {
        Ok(members) => members,
        // Only on failure: tell valid JSON of the wrong shape from broken JSON.
        Err(_) if serde_json::from_slice::<Value>(header).is_ok() => {
            return Err(MetadataError::NotObject)
        }
        Err(_) => return Err(MetadataError::NotJson),
    };
    let mut entries: Vec<(String, MetadataValue)> = Vec::new();
    for (key, value) in members.0 {
        let value = match value {
            Value::String(s) => MetadataValue::String(s),
            Value::Number(n) => MetadataValue::Number(n),
            Value::Bool(b) => MetadataValue::Bool(b),
            Value::Null => return Err(bad_value(key, "null")),
            Value::Array(_) => return Err(bad_value(key, "an array")),
            Value::Object(_) => return Err(bad_value(key, "an object")),
        };
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(existing) => existing.1 = value,
            None => entries.push((key, value)),
        }
    }
    entries.truncate(MAX_METADATA_ENTRIES);
    Ok(Metadata { entries })
}

fn bad_value(key: String, found: &'static str) -> MetadataError {
    MetadataError::BadValue { key, found }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scalars_in_order() {
        let m = parse_metadata(br#"{"user":"u1","team":7,"beta":true,"ratio":0.5}"#).unwrap();
        let keys: Vec<&str> = m.entries().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["user", "team", "beta", "ratio"]);
        assert_eq!(m.get("user"), Some(&MetadataValue::String("u1".into())));
        assert_eq!(m.get("beta"), Some(&MetadataValue::Bool(true)));
        assert_eq!(
            m.to_json(),
            r#"{"user":"u1","team":7,"beta":true,"ratio":0.5}"#
        );
    }

    #[test]
    fn drops_entries_past_five() {
        let m = parse_metadata(br#"{"g":1,"f":2,"e":3,"d":4,"c":5,"b":6,"a":7}"#).unwrap();
        assert_eq!(m.to_json(), r#"{"g":1,"f":2,"e":3,"d":4,"c":5}"#);
    }

    #[test]
    fn repeated_key_takes_last_value_at_first_place() {
        let m = parse_metadata(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(m.to_json(), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn empty_object_is_empty_metadata() {
        let m = parse_metadata(b" {} ").unwrap();
        assert!(m.is_empty());
        assert_eq!(m.to_json(), "{}");
    }

    #[test]
    fn escapes_survive_the_round_trip() {
        let m = parse_metadata(br#"{"q\"k":"line\nbreak \u00e9"}"#).unwrap();
        let back: Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(back["q\"k"], "line\nbreak \u{e9}");
    }

    #[test]
    fn refuses_nested_null_and_non_objects() {
        let bad = |h: &[u8]| parse_metadata(h).unwrap_err();
        assert_eq!(
            bad(br#"{"a":{"b":1}}"#),
            MetadataError::BadValue {
                key: "a".into(),
                found: "an object"
            }
        );
        assert_eq!(
            bad(br#"{"a":1,"b":[1]}"#),
            MetadataError::BadValue {
                key: "b".into(),
                found: "an array"
            }
        );
        assert_eq!(
            bad(br#"{"a":null}"#),
            MetadataError::BadValue {
                key: "a".into(),
                found: "null"
            }
        );
        // Checked past the fifth entry too.
        assert!(matches!(
            bad(br#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":{}}"#),
            MetadataError::BadValue { .. }
        ));
        assert_eq!(bad(b"[1]"), MetadataError::NotObject);
        assert_eq!(bad(b"\"s\""), MetadataError::NotObject);
        assert_eq!(bad(b"null"), MetadataError::NotObject);
        assert_eq!(bad(b"{"), MetadataError::NotJson);
        assert_eq!(bad(b""), MetadataError::NotJson);
        assert_eq!(bad(b"{\"a\":\"\xff\"}"), MetadataError::NotJson);
    }
}
