//! Criterion benchmarks of the sans-IO HTTP layer: request and response head parsing
//! on realistic OpenAI heads, and chunked decoding of a recorded SSE stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)] // criterion_group! defines an undocumented pub fn

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice::http::{
    parse_request_head, parse_response_head, write_chunk_header, ChunkedDecoder, CHUNK_END,
    LAST_CHUNK,
};
use std::hint::black_box;

// The gateway binary runs on mimalloc; measure the header copies with the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the official OpenAI Python SDK sends for a chat completion.
const OPENAI_SDK_REQUEST_HEAD: &[u8] = b"POST /v1/chat/completions HTTP/1.1\r\n\
Host: 127.0.0.1:8787\r\n\
Accept-Encoding: gzip, deflate\r\n\
Connection: keep-alive\r\n\
Accept: application/json\r\n\
Content-Type: application/json\r\n\
User-Agent: OpenAI/Python 1.54.4\r\n\
X-Stainless-Lang: python\r\n\
X-Stainless-Package-Version: 1.54.4\r\n\
X-Stainless-OS: Linux\r\n\
X-Stainless-Arch: x64\r\n\
X-Stainless-Runtime: CPython\r\n\
X-Stainless-Runtime-Version: 3.12.3\r\n\
Authorization: Bearer sk-proj-0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef\r\n\
X-Stainless-Async: false\r\n\
x-stainless-retry-count: 0\r\n\
x-stainless-read-timeout: 600\r\n\
Content-Length: 187\r\n\r\n";

/// The shape of OpenAI's answer to a streaming chat completion.
const OPENAI_RESPONSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Tue, 14 Jan 2025 10:00:00 GMT\r\n\
Content-Type: text/event-stream; charset=utf-8\r\n\
Transfer-Encoding: chunked\r\n\
Connection: keep-alive\r\n\
access-control-expose-headers: X-Request-ID\r\n\
openai-organization: user-abc123\r\n\
openai-processing-ms: 182\r\n\
openai-version: 2020-10-01\r\n\
x-ratelimit-limit-requests: 10000\r\n\
x-ratelimit-limit-tokens: 200000\r\n\
x-ratelimit-remaining-requests: 9999\r\n\
x-ratelimit-remaining-tokens: 199975\r\n\
x-ratelimit-reset-requests: 8.64s\r\n\
x-ratelimit-reset-tokens: 7ms\r\n\
x-request-id: req_0123456789abcdef0123456789abcdef\r\n\
strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n\
cf-cache-status: DYNAMIC\r\n\
X-Content-Type-Options: nosniff\r\n\
Server: cloudflare\r\n\
CF-RAY: 9012345678abcdef-FRA\r\n\
alt-svc: h3=\":443\"; ma=86400\r\n\r\n";

/// A recorded OpenAI stream, chunked one SSE event per chunk as OpenAI sends it.
fn chunked_sse_body() -> Vec<u8> {
    let sse = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/openai/chat-stream-text.sse"
    ));
    let mut out = Vec::with_capacity(sse.len() * 2);
    for event in sse
        .split_inclusive(|&b| b == b'\n')
        .collect::<Vec<_>>()
        .chunks(2)
    {
        let event = event.concat();
        write_chunk_header(event.len(), &mut out);
        out.extend_from_slice(&event);
        out.extend_from_slice(CHUNK_END);
    }
    out.extend_from_slice(LAST_CHUNK);
    out
}

fn bench_heads(c: &mut Criterion) {
    let mut group = c.benchmark_group("head");
    group.throughput(Throughput::Bytes(OPENAI_SDK_REQUEST_HEAD.len() as u64));
    group.bench_function("parse_request_head/openai_sdk", |b| {
        b.iter(|| parse_request_head(black_box(OPENAI_SDK_REQUEST_HEAD), 65536))
    });
    group.throughput(Throughput::Bytes(OPENAI_RESPONSE_HEAD.len() as u64));
    group.bench_function("parse_response_head/openai_stream", |b| {
        b.iter(|| parse_response_head(black_box(OPENAI_RESPONSE_HEAD), false))
    });
    group.finish();
}

fn bench_chunked(c: &mut Criterion) {
    let body = chunked_sse_body();
    let mut decoded = Vec::new();
    let progress = ChunkedDecoder::new().feed(&body, |d| decoded.extend_from_slice(d));
    assert!(progress.is_ok_and(|p| p.done && p.consumed == body.len()));
    assert_eq!(
        decoded.len(),
        14452,
        "the bench must decode the whole fixture"
    );
    let mut group = c.benchmark_group("chunked");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("decode/openai_sse_whole", |b| {
        b.iter(|| {
            let mut decoder = ChunkedDecoder::new();
            let mut data = 0usize;
            let progress = decoder.feed(black_box(&body), |d| data += d.len());
            (progress, data)
        })
    });
    // Reads of 1.5 KB, about what one TCP segment brings.
    group.bench_function("decode/openai_sse_1500b_reads", |b| {
        b.iter(|| {
            let mut decoder = ChunkedDecoder::new();
            let mut data = 0usize;
            for piece in black_box(&body).chunks(1500) {
                if decoder.feed(piece, |d| data += d.len()).is_err() {
                    break;
                }
            }
            data
        })
    });
    group.finish();
}

criterion_group!(benches, bench_heads, bench_chunked);
criterion_main!(benches);
