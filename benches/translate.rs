//! Criterion cost of a translated stream's per-chunk work in the gateway: the usage tap
//! and the translator (`translate::StreamTranslator`), fed one upstream event per read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(missing_docs)] // criterion_group! defines an undocumented pub fn

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice::observe::StreamUsage;
use sluice::sse::{EventFilter, SseScanner};
use sluice::translate::responses_to_chat::ResponseOptions;
use sluice::translate::{ResponsesTranslation, ResponsesUpstream, StreamTranslator, Translation};

const ANTHROPIC: &[u8] = include_bytes!("../tests/fixtures/anthropic/stream-tool-use.sse");
const ANTHROPIC_TEXT: &[u8] = include_bytes!("../tests/fixtures/anthropic/stream-text.sse");
const GEMINI: &[u8] = include_bytes!("../tests/fixtures/gemini/stream-sse-text-usage.sse");
const OPENAI: &[u8] = include_bytes!("../tests/fixtures/openai/chat-stream-include-usage-text.sse");

/// The stream cut after each blank line (LF or CRLF), as an upstream writes it.
fn per_event(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..text.len() {
        let lf_lf = text[i] == b'\n' && text[i - 1] == b'\n';
        let crlf_crlf = i >= 3 && &text[i - 3..=i] == b"\r\n\r\n";
        if lf_lf || crlf_crlf {
            out.push(&text[start..=i]);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Translates the whole stream; returns the client bytes written (so nothing is elided).
fn run(translation: &Translation, reads: &[&[u8]]) -> usize {
    let mut translator = StreamTranslator::new(translation, 1_700_000_000);
    let mut scanner = SseScanner::new();
    let mut usage = StreamUsage::new();
    let mut out = Vec::with_capacity(4096);
    let mut written = 0;
    for read in reads {
        // The pump's one scan: the usage tap and the translator see the same events.
        scanner.feed_filter(black_box(read), &mut translator, &mut out, |e| {
            usage.observe_event(e.data)
        });
        written += out.len();
        out.clear();
    }
    translator.end(&mut out);
    black_box(usage.usage());
    written + out.len()
}

fn bench_translate(c: &mut Criterion) {
    let openai_client = |stream| Translation::ChatToAnthropic {
        stream,
        include_usage: true,
        json_tool: false,
    };
    let responses_client = |upstream| {
        Translation::Responses(Box::new(ResponsesTranslation {
            upstream,
            stream: true,
            options: ResponseOptions {
                id: "resp_0193a1b2c3d4e5f60718293a4b5c6d7e".into(),
                created_at: 1_700_000_000,
                model: "p/m".into(),
                ..ResponseOptions::default()
            },
        }))
    };
    let cases = [
        (
            "openai-chat-text-to-responses",
            OPENAI,
            responses_client(ResponsesUpstream::Chat),
        ),
        (
            "anthropic-tool-use-to-responses",
            ANTHROPIC,
            responses_client(ResponsesUpstream::Anthropic { json_tool: false }),
        ),
        (
            "gemini-text-to-responses",
            GEMINI,
            responses_client(ResponsesUpstream::Gemini),
        ),
        (
            "anthropic-tool-use-to-openai",
            ANTHROPIC,
            openai_client(true),
        ),
        (
            "anthropic-text-to-openai",
            ANTHROPIC_TEXT,
            openai_client(true),
        ),
        (
            "gemini-text-to-openai",
            GEMINI,
            Translation::ChatToGemini {
                stream: true,
                include_usage: true,
            },
        ),
        (
            "openai-text-to-anthropic",
            OPENAI,
            Translation::MessagesToChat { stream: true },
        ),
        (
            "gemini-text-to-anthropic",
            GEMINI,
            Translation::MessagesToGemini { stream: true },
        ),
    ];
    let mut group = c.benchmark_group("translate-stream");
    for (name, text, translation) in cases {
        let reads = per_event(text);
        assert!(
            run(&translation, &reads) > 0,
            "{name} translates to nothing"
        );
        // Per element = per upstream chunk (one event per read).
        group.throughput(Throughput::Elements(reads.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &reads, |b, reads| {
            b.iter(|| run(&translation, reads))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_translate);
criterion_main!(benches);
