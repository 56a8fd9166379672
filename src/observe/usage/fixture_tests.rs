//! Usage read from every recorded provider body in `tests/fixtures/`, with the
//! expected counts read by hand from the files; streams are split at every byte.

use super::*;

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn usage(tokens_in: u64, tokens_out: u64) -> Option<Usage> {
    Some(Usage {
        tokens_in,
        tokens_out,
    })
}

/// Every stream fixture and what its last usage report says.
const STREAMS: &[(&str, Option<(u64, u64)>)] = &[
    (
        "openai/chat-stream-include-usage-length.sse",
        Some((12, 100)),
    ),
    ("openai/chat-stream-include-usage-text.sse", Some((78, 9))),
    (
        "openai/chat-stream-include-usage-tool-call.sse",
        Some((53, 15)),
    ),
    (
        "openai/chat-stream-include-usage-two-tools.sse",
        Some((364, 40)),
    ),
    ("openai/chat-stream-text.sse", None),
    ("openai/chat-stream-tool-calls-parallel.sse", None),
    // message_start's input_tokens, message_delta's cumulative output_tokens.
    ("anthropic/stream-text.sse", Some((10, 4))),
    ("anthropic/stream-thinking.sse", Some((46, 133))),
    ("anthropic/stream-tool-use-empty-input.sse", Some((542, 62))),
    // message_start says 5 output tokens; message_delta's 153 replaces it.
    ("anthropic/stream-tool-use.sse", Some((506, 153))),
    // Gemini: candidates + thoughts = total - prompt in each file.
    (
        "gemini/stream-sse-function-call-thought-signature.sse",
        Some((29, 10 + 202)),
    ),
    ("gemini/stream-sse-function-calls.sse", Some((37, 14))),
    ("gemini/stream-sse-text-usage.sse", Some((18, 80 + 35))),
    ("gemini/stream-sse-text.sse", Some((13, 8))),
    ("gemini/stream-sse-thinking.sse", Some((34, 469 + 787))),
];

fn expected(counts: Option<(u64, u64)>) -> Option<Usage> {
    counts.and_then(|(i, o)| usage(i, o))
}

#[test]
fn every_stream_fixture_whole() {
    for (path, counts) in STREAMS {
        let mut stream = Scanned::default();
        stream.feed(&fixture(path));
        assert_eq!(stream.usage(), expected(*counts), "{path}");
    }
}

/// Files under 8 KB (all but two): every split rescans the whole file, and the
/// two larger ones are still fed byte by byte below.
#[test]
fn every_stream_fixture_split_at_every_byte() {
    let mut tested = 0;
    for (path, counts) in STREAMS {
        let bytes = fixture(path);
        if bytes.len() > 8 * 1024 {
            continue;
        }
        tested += 1;
        for split in 0..=bytes.len() {
            let mut stream = Scanned::default();
            stream.feed(&bytes[..split]);
            stream.feed(&bytes[split..]);
            assert_eq!(stream.usage(), expected(*counts), "{path} split at {split}");
        }
    }
    assert_eq!(tested, STREAMS.len() - 2);
}

#[test]
fn every_stream_fixture_byte_by_byte() {
    for (path, counts) in STREAMS {
        let mut stream = Scanned::default();
        for byte in fixture(path).chunks(1) {
            stream.feed(byte);
        }
        assert_eq!(stream.usage(), expected(*counts), "{path}");
    }
}

#[test]
fn json_fixtures() {
    assert_eq!(
        from_json_body(&fixture("openai/chat-completion-text.json")),
        usage(8, 82)
    );
    assert_eq!(
        from_json_body(&fixture("openai/error-400-unsupported-parameter.json")),
        None
    );
    assert_eq!(
        from_json_body(&fixture("openai/error-404-model-not-found.json")),
        None
    );
}

#[test]
fn exactly_one_usage_only_chunk_per_include_usage_stream() {
    use crate::observe::is_usage_only_chunk;
    for (path, _) in STREAMS {
        let mut scanner = SseScanner::new();
        let mut usage_only = 0;
        scanner.feed(&fixture(path), |event| {
            usage_only += usize::from(is_usage_only_chunk(event.data));
        });
        let want = usize::from(path.contains("include-usage"));
        assert_eq!(usage_only, want, "{path}");
    }
}
