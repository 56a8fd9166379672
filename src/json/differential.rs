//! Randomised differential test (test builds only): every scan path and simd-json
//! against a serde_json reference on generated chat bodies and byte-level mutations.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::simd::{scan_request_with, Path};
use super::{rewrite_model, scan_request, JsonError, RequestScan};

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TEXTS: &[&str] = &[
    "Hello",
    "What is the capital of France?",
    r#"quote \" and backslash \\ and slash \/"#,
    r"line\nbreak\ttab\r",
    r"\u00e9t\u00e9 \ud83d\ude00",
    "héllo wörld ✓ 日本語 😀",
    "",
    r#"{\"model\": \"fake\"}"#,
];
const MODELS: &[&str] = &[
    r#""openai/gpt-4o""#,
    r#""openai\/gpt-4o-mini""#,
    r#""workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast""#,
    r#""gpt-4o""#,
    r#""\u006fpenai/gpt""#,
    r#""""#,
    "null",
    "42",
    r#"["openai/gpt-4o"]"#,
    r#"{"id":"x"}"#,
];
const MODEL_KEYS: &[&str] = &[r#""model""#, r#""\u006dodel""#, r#""mod\u0065l""#];
const STREAMS: &[&str] = &["true", "false", r#""true""#, "1", "null"];
const WS: &[&str] = &["", "", " ", "\n  ", "\t", "\r\n"];

fn message(rng: &mut Rng) -> String {
    let role = rng.pick(&["system", "user", "assistant", "tool"]);
    let text = rng.pick(TEXTS);
    let extra = match rng.below(4) {
        0 => r#","model":"nested/ignored""#.to_string(),
        1 => r#","tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{\"a\":1}"}}]"#
            .to_string(),
        _ => String::new(),
    };
    format!(r#"{{"role":"{role}","content":"{text}"{extra}}}"#)
}

/// A chat body with fields in random order; `model` appears 0-2 times.
pub(super) fn generate(rng: &mut Rng) -> String {
    let mut fields = Vec::new();
    let messages: Vec<String> = (0..rng.below(5)).map(|_| message(rng)).collect();
    fields.push(format!(r#""messages":[{}]"#, messages.join(",")));
    let model_count = [0, 1, 1, 1, 1, 1, 2][rng.below(7)];
    for _ in 0..model_count {
        fields.push(format!("{}:{}", rng.pick(MODEL_KEYS), rng.pick(MODELS)));
    }
    for _ in 0..rng.below(3) {
        let key = rng.pick(&[r#""stream""#, r#""str\u0065am""#]);
        fields.push(format!("{key}:{}", rng.pick(STREAMS)));
    }
    if rng.below(2) == 0 {
        fields.push(r#""temperature":0.7,"max_tokens":1024,"top_p":-1.5e-3"#.into());
    }
    if rng.below(3) == 0 {
        fields.push(
            r#""tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]"#.into(),
        );
    }
    for i in (1..fields.len()).rev() {
        let j = rng.below(i + 1);
        fields.swap(i, j);
    }
    let sep = rng.pick(WS);
    let inner: Vec<String> = fields.iter().map(|f| format!("{sep}{f}")).collect();
    format!(
        "{}{{{}{sep}}}{}",
        rng.pick(WS),
        inner.join(","),
        rng.pick(WS)
    )
}

/// One to three random byte edits.
pub(super) fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    const INSERTS: &[&[u8]] = &[
        b"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"\\",
        b"\\u",
        b" ",
        b"0",
        b"-",
        b"e",
        b"1.",
        b"t",
        b"\x00",
        b"\x1f",
        b"\xff",
        "é".as_bytes(),
        b"\"model\":\"x\",",
    ];
    let mut out = body.to_vec();
    for _ in 0..1 + rng.below(3) {
        if out.is_empty() {
            break;
        }
        let at = rng.below(out.len());
        match rng.below(3) {
            0 => {
                out.remove(at);
            }
            1 => {
                let bytes = rng.pick(INSERTS);
                out.splice(at..at, bytes.iter().copied());
            }
            _ => out[at] = *rng.pick(INSERTS).first().unwrap_or(&b'x'),
        }
    }
    out
}

/// Every top-level `model` value and the last top-level `stream` value.
#[derive(Default)]
struct TopKeys {
    models: Vec<Value>,
    stream: Option<Value>,
}

impl<'de> serde::Deserialize<'de> for TopKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopKeys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKeys, A::Error> {
                let mut top = TopKeys::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "model" => top.models.push(map.next_value()?),
                        "stream" => top.stream = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(top)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    Invalid,
    NotObject,
    DuplicateModel,
    ModelNotString,
    Ok { model: Option<String>, stream: bool },
}

/// serde_json's decision on `body`.
pub(super) fn reference(body: &[u8]) -> Verdict {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Verdict::Invalid;
    };
    if !value.is_object() {
        return Verdict::NotObject;
    }
    let top: TopKeys = serde_json::from_slice(body).unwrap();
    match top.models.as_slice() {
        [_, _, ..] => Verdict::DuplicateModel,
        [m] if !m.is_string() => Verdict::ModelNotString,
        models => Verdict::Ok {
            model: models.first().and_then(|m| m.as_str()).map(str::to_owned),
            stream: top.stream == Some(Value::Bool(true)),
        },
    }
}

/// A scan result reduced to what serde_json can decide too.
pub(super) fn verdict(result: &Result<RequestScan, JsonError>) -> Verdict {
    match result {
        Err(JsonError::Invalid { .. }) => Verdict::Invalid,
        Err(JsonError::NotObject) => Verdict::NotObject,
        Err(JsonError::DuplicateModel) => Verdict::DuplicateModel,
        Err(JsonError::ModelNotString) => Verdict::ModelNotString,
        Ok(scan) => Verdict::Ok {
            model: scan.model.as_ref().map(|m| m.value.clone()),
            stream: scan.stream,
        },
    }
}

/// The span is right iff replacing it yields the same document with only
/// the top-level model changed.
fn check_spans(body: &[u8], scan: &RequestScan) {
    let original: Value = serde_json::from_slice(body).unwrap();
    if let Some(model) = &scan.model {
        let token: String = serde_json::from_slice(&body[model.span.clone()]).unwrap();
        assert_eq!(token, model.value);
        let new = "sentinel/\"é\"\n";
        let rewritten = rewrite_model(
            &bytes::Bytes::copy_from_slice(body),
            model.span.clone(),
            new,
        );
        let mut after: Value = serde_json::from_slice(&rewritten.to_vec()).unwrap();
        assert_eq!(after["model"], Value::from(new));
        let mut before = original.clone();
        before["model"] = Value::Null;
        after["model"] = Value::Null;
        assert_eq!(before, after, "rewrite changed more than the model");
        assert_eq!(rewritten.len, rewritten.to_vec().len());
    }
    if let Some(span) = &scan.stream_span {
        let token: Value = serde_json::from_slice(&body[span.clone()]).unwrap();
        assert_eq!(Some(&token), original.get("stream"));
    }
}

/// Every path available here reaches serde_json's decision `want` on `body`, with the
/// scalar path's spans; `scan_request` gives exactly the scalar result, error offsets
/// included. Returns the scalar result.
pub(super) fn check_every_path(
    body: &[u8],
    wanted: &[String],
    want: &Verdict,
) -> Result<RequestScan, JsonError> {
    let show = String::from_utf8_lossy(body);
    let scalar = scan_request_with(body, wanted, Path::Scalar);
    for path in Path::available() {
        let got = scan_request_with(body, wanted, path);
        assert_eq!(&verdict(&got), want, "{path:?} on {show:?}");
        if got.is_ok() {
            assert_eq!(got, scalar, "{path:?} differs from scalar on {show:?}");
        }
    }
    if wanted.is_empty() {
        assert_eq!(scan_request(body), scalar, "scan_request on {show:?}");
    }
    scalar
}

#[test]
fn scanners_agree_with_serde_json_on_random_bodies() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut counts = [0usize; 5];
    for case in 0..4000 {
        let valid = generate(&mut rng).into_bytes();
        let mutated = mutate(&mut rng, &valid);
        for body in [&valid, &mutated] {
            let want = reference(body);
            let hand = check_every_path(body, &[], &want);
            let tape = super::tape::scan_request(body);
            let show = String::from_utf8_lossy(body);
            assert_eq!(verdict(&tape), want, "simd-json, case {case}: {show}");
            if let (Ok(h), Ok(t)) = (&hand, &tape) {
                // The tape reference does not note where messages are.
                let h_but_messages = RequestScan {
                    messages: Vec::new(),
                    ..h.clone()
                };
                assert_eq!(&h_but_messages, t, "spans differ, case {case}: {show}");
                check_spans(body, h);
            }
            counts[match want {
                Verdict::Invalid => 0,
                Verdict::NotObject => 1,
                Verdict::DuplicateModel => 2,
                Verdict::ModelNotString => 3,
                Verdict::Ok { .. } => 4,
            }] += 1;
        }
    }
    // Every outcome except NotObject must be well exercised, or the test is vacuous.
    for (i, n) in counts.iter().enumerate() {
        if i != 1 {
            assert!(*n > 100, "outcome {i} seen only {n} times: {counts:?}");
        }
    }
}

#[test]
fn every_path_finds_each_message_where_serde_json_does() {
    let bodies = [
        r#"{"model":"m","messages":[{"role":"user","content":"a \"]},"},{"role":"assistant","content":[{"type":"text","text":"[{"}]}]}"#,
        r#"{ "messages" : [ 1 , "two\\" , [3, {"x": [4]}] , null ] , "model" : "m" }"#,
        r#"{"messages":[],"model":"m"}"#,
        r#"{"input":[{"role":"user","content":"hi"}],"messages":"not an array","model":"m"}"#,
        r#"{"messages":[{"a":1}],"messages":[{"b":2},{"c":3}],"model":"m"}"#,
    ];
    for body in bodies {
        let want = reference(body.as_bytes());
        let scan = check_every_path(body.as_bytes(), &[], &want).unwrap();
        let value: Value = serde_json::from_str(body).unwrap();
        // The last array of the two keys, as the scan keeps the last.
        let last_array = body
            .rfind(r#""messages":["#)
            .or_else(|| body.rfind(r#""messages" : ["#))
            .map(|_| &value["messages"])
            .filter(|v| v.is_array())
            .or_else(|| value.get("input").filter(|v| v.is_array()));
        let elements: Vec<Value> = scan
            .messages
            .iter()
            .map(|span| serde_json::from_str(&body[span.clone()]).unwrap())
            .collect();
        let expected = last_array
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert_eq!(elements, expected, "{body}");
    }
}
