//! Criterion cost of a dynamic route (issue 14, point 9): the request's scan alone, next
//! to the scan that also finds a route's body keys plus the walk of a route of start,
//! conditional (a metadata and a body field), percentage, model, end; 1 KB and 32 KB bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)] // criterion_group! defines an undocumented pub fn

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::config::Settings;
use sluice::http::parse_request_head;
use sluice::observe::parse_metadata;
use sluice::proxy::{route_decision, ControlState, SystemClock};

// As the gateway allocates (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONFIG: &str = r#"
[provider.openai]
keys = { default = "sk-x" }

[[gateway]]
id = "default"

[[gateway.route]]
name = "support"
[[gateway.route.elements]]
id = "start"
type = "start"
outputs = { next = { elementId = "plan" } }
[[gateway.route.elements]]
id = "plan"
type = "conditional"
properties = { conditions = { "metadata.plan" = "free", "body.max_tokens" = { "$lte" = 256 } } }
outputs = { true = { elementId = "small" }, false = { elementId = "split" } }
[[gateway.route.elements]]
id = "split"
type = "percentage"
properties = { key = "metadata.user" }
outputs = { "90%" = { elementId = "big" }, else = { elementId = "small" } }
[[gateway.route.elements]]
id = "big"
type = "model"
properties = { provider = "openai", model = "gpt-4o" }
outputs = { success = { elementId = "end" } }
[[gateway.route.elements]]
id = "small"
type = "model"
properties = { provider = "openai", model = "gpt-4o-mini" }
outputs = { success = { elementId = "end" } }
[[gateway.route.elements]]
id = "end"
type = "end"
"#;

/// A conversation of `size` bytes with escapes and non-ASCII text before the keys the
/// route reads, as chat clients send them.
fn body(size: usize) -> Vec<u8> {
    let turn = r#"{"role":"user","content":"Grüße \"quoted\" text, línea\nnext"},"#;
    let turns = turn.repeat(size.saturating_sub(120) / turn.len() + 1);
    format!(
        r#"{{"messages":[{}],"model":"dynamic/support","max_tokens":512,"temperature":0.2}}"#,
        turns.trim_end_matches(',')
    )
    .into_bytes()
}

fn bench_routing(c: &mut Criterion) {
    let settings = Settings::from_toml_str(CONFIG, "bench").unwrap();
    let gateway = settings.gateway("default").unwrap();
    let controls = ControlState::new(&settings, Arc::new(SystemClock));
    let raw = b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n\
        cf-aig-metadata: {\"plan\":\"paid\",\"user\":\"user-42\"}\r\ncontent-length: 1\r\n\r\n";
    let head = parse_request_head(raw, 65536).unwrap().unwrap();
    // Parsed for the request log before planning, on every request: not the route's cost.
    let metadata = parse_metadata(head.header("cf-aig-metadata").unwrap()).unwrap();
    let mut group = c.benchmark_group("dynamic-route");
    for size in [1024, 32 * 1024] {
        let body = body(size);
        let chosen = route_decision(gateway, &head, &body, Some(&metadata), &controls).unwrap();
        assert_eq!(chosen, ["gpt-4o"], "the paid user's split");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("scan", size), &body, |b, body| {
            b.iter(|| sluice::json::scan_request(black_box(body)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("scan+route", size), &body, |b, body| {
            b.iter(|| {
                route_decision(gateway, &head, black_box(body), Some(&metadata), &controls).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_routing);
criterion_main!(benches);
