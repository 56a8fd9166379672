//! The `/compat` body rewrite: find the one top-level `"model"` string and the
//! `stream` flag in one validating pass, and swap the model's bytes zero-copy.

mod escape;
mod grammar;
mod scanner;
mod simd;
/// The simd-json candidate the benchmark compares, for the differential tests.
#[cfg(test)]
#[path = "../../benches/rewrite/tape.rs"]
mod tape;

#[cfg(test)]
mod differential;

use std::ops::Range;

use bytes::Bytes;

pub use escape::json_string;

/// Why a request body cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not valid JSON (RFC 8259); `offset` is where the scanner gave up.
    #[error("request body is not valid JSON (near byte {offset})")]
    Invalid {
        /// Byte offset where the scanner gave up.
        offset: usize,
    },
    /// Valid JSON, but the top-level value is not an object.
    #[error("request body is not a JSON object")]
    NotObject,
    /// Two top-level `model` keys (however escaped): parsers disagree on which
    /// wins, so a client could be routed as one model and served as another.
    #[error("request body has more than one top-level \"model\" key")]
    DuplicateModel,
    /// The top-level `model` is present but is not a string.
    #[error("\"model\" must be a string")]
    ModelNotString,
}

/// The top-level `model` string of a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelField {
    /// The unescaped value (`"openai\/gpt-4o"` gives `openai/gpt-4o`).
    pub value: String,
    /// The value token in the body, quotes included.
    pub span: Range<usize>,
}

/// What the gateway reads from a request body before forwarding it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestScan {
    /// The top-level `model`, if present.
    pub model: Option<ModelField>,
    /// True only when the top-level `stream` value is the literal `true`.
    /// With repeated `stream` keys the last one counts, as in the providers' parsers.
    pub stream: bool,
    /// The value token of that last top-level `stream` key, if any.
    pub stream_span: Option<Range<usize>>,
    /// For `scan_request_for`: where each wanted top-level key's value is, if present.
    pub fields: Vec<Option<Range<usize>>>,
    /// Where each element of the top-level `messages` (or Responses' `input`) array is
    /// (of the last such key whose value is an array): what the request log stores once
    /// per conversation.
    pub messages: Vec<Range<usize>>,
}

/// Scans a request body: validates it as JSON and reads the top-level `model`
/// and `stream`. SIMD structural indexing (AVX2, SSE2 or NEON, chosen once at run
/// time) in front of the hand scanner's state machine (see docs/rewrite.md).
pub fn scan_request(body: &[u8]) -> Result<RequestScan, JsonError> {
    simd::scan_request_for(body, &[])
}

/// [`scan_request`], also finding the values of the top-level keys in `wanted` (a route's
/// body fields) in the same pass: `RequestScan::fields`.
pub fn scan_request_for(body: &[u8], wanted: &[String]) -> Result<RequestScan, JsonError> {
    simd::scan_request_for(body, wanted)
}

pub use scanner::find_path;

/// A body with its model value replaced: prefix, new quoted value, suffix.
/// The prefix and suffix share the original buffer; write all three with one `writev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrittenBody {
    /// Body bytes before the old value, the new quoted value, body bytes after it.
    pub parts: [Bytes; 3],
    /// Total length: the new `Content-Length`.
    pub len: usize,
}

impl RewrittenBody {
    /// The parts joined, for tests and for paths that need one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for part in &self.parts {
            out.extend_from_slice(part);
        }
        out
    }
}

/// Replaces the value token at `span` (from [`ModelField::span`]) with `new_value`
/// as a JSON string. A span outside the body is clamped to it rather than panicking.
pub fn rewrite_model(body: &Bytes, span: Range<usize>, new_value: &str) -> RewrittenBody {
    let end = span.end.min(body.len());
    let start = span.start.min(end);
    let parts = [
        body.slice(..start),
        Bytes::from(json_string(new_value)),
        body.slice(end..),
    ];
    let len = parts.iter().map(Bytes::len).sum();
    RewrittenBody { parts, len }
}

/// What the benchmark and the fuzz targets need to compare the approaches with
/// [`scan_request`]: the hand scanner under its own name, each SIMD path forced, and
/// the escape check that the simd-json candidate (`benches/rewrite/tape.rs`) shares.
#[doc(hidden)]
pub mod alt {
    pub use super::escape::check_escape;
    pub use super::scanner::scan_request as hand_scan_request;
    pub use super::simd::{scan_request_with, Path};
}

#[cfg(test)]
mod tests {
    use super::*;

    type Scan = fn(&[u8]) -> Result<RequestScan, JsonError>;
    /// Every path; one this CPU lacks runs the scalar scanner instead.
    const SCANNERS: [(&str, Scan); 6] = [
        ("hand", scanner::scan_request),
        ("simd-json tape", tape::scan_request),
        ("best", scan_request),
        ("sse2", |b| {
            simd::scan_request_with(b, &[], simd::Path::Sse2)
        }),
        ("avx2", |b| {
            simd::scan_request_with(b, &[], simd::Path::Avx2)
        }),
        ("neon", |b| {
            simd::scan_request_with(b, &[], simd::Path::Neon)
        }),
    ];

    fn model_of(body: &str) -> Vec<Result<(String, Range<usize>), JsonError>> {
        SCANNERS
            .iter()
            .map(|(_, scan)| {
                scan(body.as_bytes()).map(|s| {
                    let m = s.model.unwrap_or(ModelField {
                        value: "<none>".into(),
                        span: 0..0,
                    });
                    (m.value, m.span)
                })
            })
            .collect()
    }

    fn all_agree(body: &str) -> Result<(String, Range<usize>), JsonError> {
        let results = model_of(body);
        for (i, r) in results.iter().enumerate() {
            let same = match (r, &results[0]) {
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
                _ => false,
            };
            assert!(same, "{} disagrees on {body:?}: {results:?}", SCANNERS[i].0);
        }
        results.into_iter().next().unwrap()
    }

    #[test]
    fn finds_model_after_messages() {
        let body = r#"{"messages":[{"role":"user","content":"hi \"there\"","model":"nested"}],"model":"openai/gpt-4o","stream":true}"#;
        let (value, span) = all_agree(body).unwrap();
        assert_eq!(value, "openai/gpt-4o");
        assert_eq!(&body[span], "\"openai/gpt-4o\"");
        for (name, scan) in SCANNERS {
            let s = scan(body.as_bytes()).unwrap();
            assert!(s.stream, "{name}");
            assert_eq!(&body[s.stream_span.unwrap()], "true", "{name}");
        }
    }

    #[test]
    fn escaped_key_and_value_are_unescaped() {
        let body = r#"{ "\u006dodel" : "openai\/gpt-4o\u00e9" }"#;
        let (value, span) = all_agree(body).unwrap();
        assert_eq!(value, "openai/gpt-4oé");
        assert_eq!(&body[span], r#""openai\/gpt-4o\u00e9""#);
    }

    #[test]
    fn duplicate_model_is_rejected_however_escaped() {
        for body in [
            r#"{"model":"a","model":"b"}"#,
            r#"{"model":"a","x":{"model":1},"m\u006fdel":"b"}"#,
            r#"{"model":1,"model":"b"}"#,
        ] {
            assert_eq!(all_agree(body), Err(JsonError::DuplicateModel), "{body}");
        }
    }

    #[test]
    fn nested_model_is_ignored() {
        let body = r#"{"a":{"model":"x"},"b":[{"model":"y"}],"models":"z"}"#;
        assert_eq!(all_agree(body).unwrap().0, "<none>");
    }

    #[test]
    fn model_must_be_a_string() {
        for body in [
            r#"{"model":null}"#,
            r#"{"model":["a"]}"#,
            r#"{"model":{"a":1}}"#,
            r#"{"model":5}"#,
        ] {
            assert_eq!(all_agree(body), Err(JsonError::ModelNotString), "{body}");
        }
    }

    #[test]
    fn top_level_must_be_an_object() {
        for body in [r#"["model"]"#, r#""model""#, "1", "null", " true "] {
            assert_eq!(all_agree(body), Err(JsonError::NotObject), "{body}");
        }
    }

    #[test]
    fn invalid_json_is_rejected_before_anything_else() {
        for body in [
            "",
            " ",
            "{",
            r#"{"model":"a","model":"b""#,
            r#"{"model":"a",}"#,
            r#"{"model":"a"} x"#,
            r#"{"model":'a'}"#,
            r#"{"model":"a\x"}"#,
            "{\"model\":\"tab\there\"}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a" 1}"#,
            r#"{"a":"\ud800"}"#,
            "[1,2",
            "\u{feff}{}",
        ] {
            assert!(
                matches!(all_agree(body), Err(JsonError::Invalid { .. })),
                "{body:?}"
            );
        }
        let not_utf8 = b"{\"model\":\"\xff\"}";
        for (name, scan) in SCANNERS {
            assert!(
                matches!(scan(not_utf8), Err(JsonError::Invalid { .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn stream_is_true_only_for_literal_true() {
        for (body, want) in [
            (r#"{"stream":true}"#, true),
            (r#"{"stream":"true"}"#, false),
            (r#"{"stream":1}"#, false),
            (r#"{"stream":false}"#, false),
            (r#"{"a":{"stream":true}}"#, false),
            (r#"{"stream":false,"stream":true}"#, true),
            (r#"{"stream":true,"stream":null}"#, false),
            (r#"{"str\u0065am":true}"#, true),
        ] {
            for (name, scan) in SCANNERS {
                assert_eq!(scan(body.as_bytes()).unwrap().stream, want, "{name} {body}");
            }
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 200_000;
        let body = format!(
            r#"{{"a":{}{},"model":"m"}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert_eq!(all_agree(&body).unwrap().0, "m");
    }

    #[test]
    fn rewrite_keeps_every_other_byte() {
        let body = Bytes::from_static(
            br#"{"messages":[{"role":"user","content":"x"}], "model" : "openai\/gpt-4o" ,"n":1}"#,
        );
        let span = scan_request(&body).unwrap().model.unwrap().span;
        let out = rewrite_model(&body, span, "gpt-4o");
        assert_eq!(
            out.to_vec(),
            br#"{"messages":[{"role":"user","content":"x"}], "model" : "gpt-4o" ,"n":1}"#
        );
        assert_eq!(out.len, out.to_vec().len());
        // Prefix and suffix are views of the original buffer, not copies.
        assert_eq!(out.parts[0].as_ptr(), body.as_ptr());
        assert_eq!(
            out.parts[2].as_ptr() as usize - body.as_ptr() as usize,
            body.len() - out.parts[2].len()
        );
    }

    #[test]
    fn rewrite_with_out_of_range_span_does_not_panic() {
        let body = Bytes::from_static(b"{}");
        let (start, end) = (5, 1);
        let out = rewrite_model(&body, start..end, "m");
        assert_eq!(out.to_vec(), b"{\"m\"}");
    }

    #[test]
    fn wanted_keys_are_found_in_the_same_pass_and_paths_inside_them() {
        let body = br#"{"messages":[{"role":"user","content":"{\"max_tokens\":1}"}],"model":"m",
            "max_tokens":  16 ,"metadata":{"tier":{"name":"gold"},"x":[1,{"tier":2}]},
            "max_tokens":32}"#;
        let wanted = ["max_tokens".to_string(), "metadata".into(), "absent".into()];
        let scan = scan_request_for(body, &wanted).unwrap();
        assert_eq!(scan.model.unwrap().value, "m");
        let text = |r: &Option<Range<usize>>| r.clone().map(|r| &body[r]);
        // Repeated: the last one, as parsers take it; a key inside a string is not one.
        assert_eq!(text(&scan.fields[0]), Some(&b"32"[..]));
        assert!(text(&scan.fields[1]).unwrap().starts_with(b"{\"tier\""));
        assert_eq!(scan.fields[2], None);
        let metadata = &body[scan.fields[1].clone().unwrap()];
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let at = |p: &[&str]| find_path(metadata, &path(p)).map(|r| &metadata[r]);
        assert_eq!(at(&["tier", "name"]), Some(&b"\"gold\""[..]));
        assert_eq!(at(&[]), Some(metadata));
        assert_eq!(at(&["x", "tier"]), None, "arrays are not walked by key");
        assert_eq!(at(&["tier", "name", "deeper"]), None);
        assert_eq!(at(&["nope"]), None);
        // An escaped key matches its unescaped name.
        let escaped = br#"{"ti\u0065r": 7}"#;
        assert_eq!(
            find_path(escaped, &path(&["tier"])).map(|r| &escaped[r]),
            Some(&b"7"[..])
        );
        // Without wanted keys nothing is collected.
        assert!(scan_request(body).unwrap().fields.is_empty());
    }
}
