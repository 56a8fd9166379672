//! Criterion comparison of the `model` scan approaches on realistic 1 KB, 32 KB
//! and 200 KB chat bodies (messages first, as the OpenAI Python SDK sends them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)] // criterion_group! defines an undocumented pub fn

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::json::{alt, rewrite_model, scan_request};

// `tape.rs` finds these under `super`, as the library's `json` module has them.
use sluice::json::{JsonError, ModelField, RequestScan};
mod escape {
    pub use sluice::json::alt::check_escape;
}
mod scanner {
    pub use sluice::json::alt::hand_scan_request as scan_request;
}
#[path = "rewrite/tape.rs"]
mod tape;

const TURNS: &[(&str, &str)] = &[
    ("user", r#"Can you explain how the \"borrow checker\" works?\nKeep it short — café, naïve, 日本語, 😀."#),
    ("assistant", r#"Sure. Each value has one owner; references borrow it.\n\n```rust\nfn main() {\n    let s = String::from(\"hi\");\n    let r = &s;\n    println!(\"{r}\");\n}\n```\nThe checker rejects a mutable borrow while a shared one lives.\t(see the \\\"NLL\\\" RFC)"#),
    ("user", "What about lifetimes in structs? Please include an example with two fields and explain the elided rules for methods as well."),
    ("assistant", r#"A struct holding references needs a lifetime parameter: `struct Pair<'a> { a: &'a str, b: &'a str }`. Methods on `&self` get the lifetime of `self` for their output when elided.\u00a0Done."#),
];

const TOOLS: &str = r#"[{"type":"function","function":{"name":"get_weather","description":"Get the current weather in a given city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"City name, e.g. Paris"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}]"#;

/// A chat body of about `target` bytes: system prompt, alternating turns,
/// tools, then `model` and `stream` last.
fn chat_body(target: usize) -> Bytes {
    let mut messages = vec![
        r#"{"role":"system","content":"You are a helpful assistant. Answer in the user's language."}"#
            .to_owned(),
    ];
    let tail = format!(
        r#"],"tools":{TOOLS},"temperature":0.7,"max_tokens":1024,"model":"openai/gpt-4o-mini","stream":true}}"#
    );
    let mut len = 14 + messages[0].len() + tail.len();
    for (role, content) in TURNS.iter().cycle() {
        let message = format!(r#"{{"role":"{role}","content":"{content}"}}"#);
        if len + message.len() + 1 > target {
            break;
        }
        len += message.len() + 1;
        messages.push(message);
    }
    let body = format!(r#"{{"messages":[{}{tail}"#, messages.join(","));
    Bytes::from(body)
}

fn sonic_get_model(body: &[u8]) -> usize {
    // A lower bound, not a candidate: no full validation, no duplicate check.
    sonic_rs::get_from_slice(body, ["model"]).map_or(0, |v| v.as_raw_str().len())
}

fn bench_scan(c: &mut Criterion) {
    let mut group = c.benchmark_group("scan_request");
    for (label, size) in [("1KB", 1024), ("32KB", 32 * 1024), ("200KB", 200 * 1024)] {
        let body = chat_body(size);
        let scan = scan_request(&body).unwrap_or_default();
        assert_eq!(
            scan.model.map(|m| m.value).as_deref(),
            Some("openai/gpt-4o-mini")
        );
        assert!(scan.stream);
        // The tape reference does not note where the messages are.
        let without_messages = |mut scan: RequestScan| {
            scan.messages.clear();
            scan
        };
        assert_eq!(
            tape::scan_request(&body),
            scan_request(&body).map(without_messages)
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("hand", label), &body, |b, body| {
            b.iter(|| alt::hand_scan_request(black_box(body)))
        });
        group.bench_with_input(BenchmarkId::new("simd-best", label), &body, |b, body| {
            b.iter(|| scan_request(black_box(body)))
        });
        for path in alt::Path::available() {
            if path == alt::Path::Scalar {
                continue;
            }
            assert_eq!(
                alt::scan_request_with(&body, &[], path),
                scan_request(&body)
            );
            let name = format!("simd-{path:?}").to_lowercase();
            group.bench_with_input(BenchmarkId::new(name, label), &body, |b, body| {
                b.iter(|| alt::scan_request_with(black_box(body), &[], path))
            });
        }
        group.bench_with_input(
            BenchmarkId::new("simd-json-tape", label),
            &body,
            |b, body| b.iter(|| tape::scan_request(black_box(body))),
        );
        group.bench_with_input(
            BenchmarkId::new("sonic-rs-get-unvalidated", label),
            &body,
            |b, body| b.iter(|| sonic_get_model(black_box(body))),
        );
        group.bench_with_input(
            BenchmarkId::new("serde_json-value", label),
            &body,
            |b, body| {
                b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body)).is_ok())
            },
        );
        group.bench_with_input(BenchmarkId::new("scan+rewrite", label), &body, |b, body| {
            b.iter(|| {
                let span = scan_request(black_box(body)).ok()?.model?.span;
                Some(rewrite_model(body, span, "gpt-4o-mini").len)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_scan);
criterion_main!(benches);
