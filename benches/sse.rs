//! Criterion cost of the SSE scanner on recorded OpenAI and Anthropic streams,
//! fed one event per read and in 4 KiB reads; divide by the event count for ns/event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)] // criterion_group! defines an undocumented pub fn

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::sse::SseScanner;

const OPENAI: &[u8] = include_bytes!("../tests/fixtures/openai/chat-stream-text.sse");
const ANTHROPIC: &[u8] = include_bytes!("../tests/fixtures/anthropic/stream-tool-use.sse");

/// The stream cut after each blank line, as an upstream writes it.
fn per_event(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..text.len() {
        if text[i] == b'\n' && text[i - 1] == b'\n' {
            out.push(&text[start..=i]);
            start = i + 1;
        }
    }
    out.push(&text[start..]);
    out
}

fn run(reads: &[&[u8]]) -> usize {
    let mut scanner = SseScanner::new();
    let mut events = 0;
    for read in reads {
        scanner.feed(black_box(read), |e| events += e.data.len().min(1));
    }
    events
}

fn bench_sse(c: &mut Criterion) {
    let mut group = c.benchmark_group("sse");
    for (name, text) in [("openai-text", OPENAI), ("anthropic-tool-use", ANTHROPIC)] {
        let by_event = per_event(text);
        let by_4k: Vec<&[u8]> = text.chunks(4096).collect();
        let events = run(&by_event);
        assert_eq!(events, run(&by_4k));
        println!("{name}: {} bytes, {events} events", text.len());
        group.throughput(Throughput::Elements(events as u64));
        group.bench_with_input(
            BenchmarkId::new("event-per-read", name),
            &by_event,
            |b, r| b.iter(|| run(r)),
        );
        group.bench_with_input(BenchmarkId::new("4KiB-reads", name), &by_4k, |b, r| {
            b.iter(|| run(r))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sse);
criterion_main!(benches);
