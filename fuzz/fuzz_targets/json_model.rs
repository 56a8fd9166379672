//! `json::scan_request` and `json::rewrite_model` on arbitrary bodies.
//!
//! Input: the body, then optionally a 0xFF byte (never in valid JSON, which is UTF-8)
//! and the new model name; without one a fixed awkward name is used, so JSON fixtures
//! are seeds as they are.
//!
//! Checked against serde_json as the reference parser (where serde_json's own limits,
//! nesting depth 128 and f64 range, do not get in the way): the verdict (invalid, not
//! an object, duplicate or non-string model, or the model and stream values), the
//! spans, and that the rewritten body is the same document with only the new model.
#![no_main]

mod common;

use std::fmt;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use sluice::json::{json_string, rewrite_model, scan_request, JsonError, RequestScan};

/// Every top-level `model` value, as serde_json reads the object.
struct TopModels(Vec<Value>);

impl<'de> serde::Deserialize<'de> for TopModels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopModels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopModels, A::Error> {
                let mut models = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "model" {
                        models.push(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(TopModels(models))
            }
        }
        d.deserialize_map(V)
    }
}

/// serde_json's verdict; `None` when one of its own limits stopped it.
fn reference(body: &[u8]) -> Option<Result<Value, JsonError>> {
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(e) => {
            let why = e.to_string();
            if why.starts_with("recursion limit exceeded") || why.starts_with("number out of range")
            {
                return None;
            }
            return Some(Err(JsonError::Invalid { offset: 0 }));
        }
    };
    if !value.is_object() {
        return Some(Err(JsonError::NotObject));
    }
    let models = serde_json::from_slice::<TopModels>(body)
        .expect("valid object")
        .0;
    Some(match models.as_slice() {
        [_, _, ..] => Err(JsonError::DuplicateModel),
        [m] if !m.is_string() => Err(JsonError::ModelNotString),
        _ => Ok(value),
    })
}

fn same_error(a: &JsonError, b: &JsonError) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn check_ok(body: &[u8], scan: &RequestScan, doc: &Value, new_model: &str) {
    assert_eq!(
        scan.model.as_ref().map(|m| m.value.as_str()),
        doc.get("model").map(|m| m.as_str().expect("a string")),
        "model"
    );
    assert_eq!(
        scan.stream,
        doc.get("stream") == Some(&Value::Bool(true)),
        "stream"
    );
    match &scan.stream_span {
        Some(span) => {
            let token: Value = serde_json::from_slice(&body[span.clone()]).expect("stream token");
            assert_eq!(Some(&token), doc.get("stream"), "stream span");
        }
        None => assert!(doc.get("stream").is_none(), "stream span missing"),
    }
    let Some(model) = &scan.model else {
        return;
    };
    let token: String = serde_json::from_slice(&body[model.span.clone()]).expect("model token");
    assert_eq!(token, model.value, "model span");

    let original = Bytes::copy_from_slice(body);
    let out = rewrite_model(&original, model.span.clone(), new_model);
    let joined = out.to_vec();
    assert_eq!(out.len, joined.len());
    assert_eq!(&out.parts[0][..], &body[..model.span.start]);
    assert_eq!(&out.parts[2][..], &body[model.span.end..]);
    let mut after: Value = serde_json::from_slice(&joined).expect("rewritten body is JSON");
    assert_eq!(after["model"], Value::from(new_model), "new model");
    let mut before = doc.clone();
    before["model"] = Value::Null;
    after["model"] = Value::Null;
    assert_eq!(before, after, "the rewrite changed more than the model");
    // The gateway's own scanner reads its own output back.
    let rescan = scan_request(&joined).expect("rewritten body scans");
    let new_span = rescan.model.as_ref().expect("model").span.clone();
    assert_eq!(rescan.model.map(|m| m.value).as_deref(), Some(new_model));
    let quoted_len = json_string(new_model).len();
    assert_eq!(new_span, model.span.start..model.span.start + quoted_len);
    assert_eq!(rescan.stream, scan.stream);
}

fuzz_target!(|data: &[u8]| {
    let (body, new_model) = match data.iter().rposition(|&b| b == 0xff) {
        Some(i) => (
            &data[..i],
            String::from_utf8_lossy(&data[i + 1..]).into_owned(),
        ),
        None => (data, "fuzz/m\u{e9}\"\\\n\u{1}\u{2028}\u{1f600}".to_owned()),
    };
    let scan = scan_request(body);

    // A span from anywhere never panics: it is clamped.
    let mut rng = common::Rng::for_input(data);
    let (a, b) = (rng.below(body.len() + 8), rng.below(body.len() + 8));
    let out = rewrite_model(&Bytes::copy_from_slice(body), a..b, &new_model);
    assert_eq!(out.len, out.to_vec().len());

    let Some(want) = reference(body) else {
        return;
    };
    match (&scan, &want) {
        (Ok(scan), Ok(doc)) => check_ok(body, scan, doc, &new_model),
        (Err(got), Err(want)) if same_error(got, want) => {}
        _ => panic!(
            "scan_request says {:?}, serde_json says {:?}",
            scan.as_ref().map(|_| "ok"),
            want.as_ref().map(|_| "ok")
        ),
    }
});
