//! Deserialisation errors in the words of a config file, not of Rust: "a whole number"
//! for `usize`, "a table" for a map, and the nearest valid name for an unknown key.

use super::did_you_mean;

/// `message` (serde's, its quoted values already scrubbed) rewritten for a user.
pub(super) fn plain_words(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return unknown("key", rest);
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return unknown("value", rest);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!("expected {}, found {}", kind(expected), kind(found));
        }
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!("expected {}, found {}", kind(expected), kind(found));
        }
    }
    message.to_string()
}

/// "`listn`, expected one of `listen`, `workers`" -> "unknown key `listn`; did you mean
/// `listen`?", or the valid names when none is near.
fn unknown(what: &str, rest: &str) -> String {
    let (name, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
    let valid: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let bare = name.trim_matches('`');
    let hint = did_you_mean(bare, valid.iter().copied());
    if !hint.is_empty() || valid.is_empty() {
        return format!("unknown {what} {name}{hint}");
    }
    format!("unknown {what} {name}; valid: {}", valid.join(", "))
}

/// A serde type or value description in plain words.
fn kind(description: &str) -> String {
    let words = match description.split_whitespace().next().unwrap_or("") {
        "usize" | "u64" | "u32" | "u16" | "u8" | "i64" | "i32" | "integer" => "a whole number",
        "f64" | "f32" | "floating" => "a number",
        "boolean" => "true or false",
        "string" | "str" | "char" => "a string",
        "sequence" => "a list",
        "map" | "struct" => "a table",
        "a" | "an" => match description {
            "a sequence" => "a list",
            "a map" => "a table",
            "a boolean" => "true or false",
            "a string" | "a borrowed string" => "a string",
            _ => return description.to_string(),
        },
        _ => return description.to_string(),
    };
    words.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_words_become_config_words() {
        assert_eq!(
            plain_words("invalid type: string \"[redacted]\", expected usize"),
            "expected a whole number, found a string"
        );
        assert_eq!(
            plain_words("invalid type: integer `3`, expected a map"),
            "expected a table, found a whole number"
        );
        assert_eq!(
            plain_words("invalid type: integer `3`, expected struct ProviderConfig"),
            "expected a table, found a whole number"
        );
        assert_eq!(
            plain_words("invalid type: a string, expected a sequence"),
            "expected a list, found a string"
        );
        assert_eq!(
            plain_words("invalid type: string \"x\", expected a boolean"),
            "expected true or false, found a string"
        );
        assert_eq!(
            plain_words("unknown field `listn`, expected one of `listen`, `workers`"),
            "unknown key `listn`; did you mean `listen`?"
        );
        assert_eq!(
            plain_words("unknown field `zzz`, expected one of `listen`, `workers`"),
            "unknown key `zzz`; valid: listen, workers"
        );
        assert_eq!(
            plain_words("unknown variant `slidin`, expected `fixed` or `sliding`"),
            "unknown value `slidin`; did you mean `sliding`?"
        );
    }
}
