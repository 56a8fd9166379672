//! Criterion cost of the controls on a cache miss (issue 4, point 8): what a request pays
//! with cache and rate limit on, next to the merge alone (both off), per body size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)] // criterion_group! defines an undocumented pub fn

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::config::{GatewayConfig, RateLimitConfig, RateTechnique};
use sluice::controls::{
    default_key, DefaultKeyParts, Effective, RateLimiter, RequestControls, ResponseCache,
};

fn body(size: usize) -> Vec<u8> {
    let filler = "x".repeat(size.saturating_sub(80));
    format!(r#"{{"messages":[{{"role":"user","content":"{filler}"}}],"model":"gpt-4o-mini"}}"#)
        .into_bytes()
}

fn bench_controls(c: &mut Criterion) {
    let mut group = c.benchmark_group("controls-miss");
    let on = GatewayConfig {
        cache_ttl_s: 60,
        ..GatewayConfig::default()
    };
    let off = GatewayConfig::default();
    let cache = ResponseCache::new(256 << 20);
    // A limit no run reaches, so every call is an admission (the miss path's cost).
    let limits = |technique| RateLimitConfig {
        limit: u64::from(u32::MAX),
        interval_s: 3600,
        technique,
    };
    let fixed = RateLimiter::new(&limits(RateTechnique::Fixed));
    let now = Instant::now();
    let wall = SystemTime::now();
    for size in [1024, 32 * 1024] {
        let body = body(size);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("both-off", size), &body, |b, _| {
            b.iter(|| black_box(Effective::merge(&off, RequestControls::default())))
        });
        group.bench_with_input(
            BenchmarkId::new("cache+fixed-limit", size),
            &body,
            |b, body| {
                b.iter(|| {
                    let effective = Effective::merge(&on, RequestControls::default());
                    let key = default_key(&DefaultKeyParts {
                        gateway_id: "default",
                        provider: "openai",
                        upstream_path: "/v1/chat/completions",
                        model: b"gpt-4o-mini",
                        credential: b"Bearer sk-test",
                        body: black_box(body),
                    });
                    let hit = cache.get(&key, now);
                    let admitted = fixed.try_acquire(wall);
                    black_box((effective, hit, admitted))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_controls);
criterion_main!(benches);
