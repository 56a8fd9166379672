//! Helpers shared by the fuzz targets: deterministic "arbitrary" splits of an input.
//!
//! The split points come from a hash of the input rather than from bytes taken off its
//! front, so a fixture copied into a corpus as it is stays a well-formed seed. Every
//! mutation changes the hash, so libFuzzer still sees many different splits.
#![allow(dead_code)]

/// A small PRNG (xorshift64*) seeded with the FNV-1a hash of `data`.
pub struct Rng(u64);

impl Rng {
    pub fn for_input(data: &[u8]) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(h | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn flag(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// `data` cut into pieces of random lengths (1 to `max_piece` bytes, some 0-length
/// pieces in between, which a caller must also accept).
pub fn random_pieces<'a>(data: &'a [u8], rng: &mut Rng, max_piece: usize) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rng.below(8) == 0 {
            pieces.push(&rest[..0]);
        }
        let n = 1 + rng.below(max_piece.max(1).min(rest.len()));
        let (piece, tail) = rest.split_at(n);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Single cut points to try: every one for short inputs, else a random sample.
pub fn cut_points(len: usize, rng: &mut Rng, all_below: usize, sample: usize) -> Vec<usize> {
    if len <= all_below {
        (0..=len).collect()
    } else {
        let mut cuts: Vec<usize> = (0..sample).map(|_| rng.below(len + 1)).collect();
        cuts.push(0);
        cuts.push(len);
        cuts
    }
}

/// The ways a stream test feeds one input: whole, byte by byte, cut once at each of
/// `cuts`, and in random pieces.
pub fn splittings<'a>(data: &'a [u8], rng: &mut Rng, all_below: usize) -> Vec<Vec<&'a [u8]>> {
    let mut ways = vec![vec![data], data.chunks(1).collect()];
    for cut in cut_points(data.len(), rng, all_below, 8) {
        ways.push(vec![&data[..cut], &data[cut..]]);
    }
    for _ in 0..3 {
        let max = 1 + rng.below(64);
        ways.push(random_pieces(data, rng, max));
    }
    ways
}

use sluice::sse::{EventFilter, SseScanner};
use sluice::translate::{chat_to_anthropic, messages_to_chat};
use sluice::translate::{StreamTranslator, Translation};

/// The client's stream for upstream bytes fed in `pieces`, and whether it was complete.
fn translate(translation: &Translation, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut translator = StreamTranslator::new(translation, 1_700_000_000);
    let mut scanner = SseScanner::new();
    let mut out = Vec::new();
    for piece in pieces {
        let before = out.len();
        scanner.feed_filter(piece, &mut translator, &mut out, |_| {});
        // Whole events only: nothing is held back or cut.
        assert!(out.len() == before || out.ends_with(b"\n\n"), "a cut event");
    }
    let complete = translator.end(&mut out);
    assert!(
        out.is_empty() || out.ends_with(b"\n\n"),
        "a cut event at the end"
    );
    (out, complete)
}

/// The events of a client stream, as (event name, data).
fn events(stream: &[u8]) -> Vec<(Option<String>, Vec<u8>)> {
    let mut scanner = SseScanner::new();
    let mut events = Vec::new();
    scanner.feed(stream, |e| {
        events.push((e.event.map(str::to_owned), e.data.to_vec()));
    });
    events
}

/// A stream translator on arbitrary upstream bytes: it never panics; the client's
/// stream is the same however the upstream bytes were cut; it is made of whole SSE
/// events whose data is JSON (or OpenAI's `[DONE]`); nothing follows the end of the
/// stream (`[DONE]`, `message_stop` or an error); and a translator for the client's
/// API, in the other direction, reads every event of it.
pub fn check_stream_translation(translation: Translation, data: &[u8]) {
    let mut rng = Rng::for_input(data);
    let (whole, complete) = translate(translation, &[data]);
    for pieces in splittings(data, &mut rng, 64) {
        let (got, got_complete) = translate(translation, &pieces);
        assert!(
            got == whole && got_complete == complete,
            "pieces {:?} give another client stream",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
    }

    let client_is_anthropic = translation.client_is_anthropic();
    let events = events(&whole);
    let mut ended = false;
    for (name, data) in &events {
        assert!(!ended, "an event after the end of the stream");
        if data == b"[DONE]" {
            assert!(!client_is_anthropic, "[DONE] to an Anthropic client");
            ended = true;
            continue;
        }
        let value: serde_json::Value = match serde_json::from_slice(data) {
            Ok(v) => v,
            // Upstream JSON nested up to serde_json's limit, plus the client's envelope.
            Err(e) if e.to_string().starts_with("recursion limit exceeded") => continue,
            Err(e) => panic!(
                "event data is not JSON ({e}): {}",
                String::from_utf8_lossy(data)
            ),
        };
        if client_is_anthropic {
            let name = name.as_deref().expect("Anthropic events are named");
            assert_eq!(
                value["type"].as_str(),
                Some(name),
                "event name and type differ"
            );
            ended = matches!(name, "message_stop" | "error");
        } else {
            assert!(name.is_none(), "OpenAI chunks are unnamed");
            ended = value.get("error").is_some();
        }
    }

    // The client's stream is readable as its API's stream.
    let mut out = Vec::new();
    if client_is_anthropic {
        let mut reader = chat_to_anthropic::AnthropicToOpenAiStream::new(
            chat_to_anthropic::StreamOptions::default(),
        );
        for (name, data) in &events {
            if let Err(e) = reader.push_event(name.as_deref(), data, &mut out) {
                if !e.to_string().contains("recursion limit exceeded") {
                    panic!(
                        "our Anthropic event does not read back ({e}): {}",
                        String::from_utf8_lossy(data)
                    );
                }
            }
        }
    } else {
        let mut reader = messages_to_chat::OpenAiToAnthropicStream::new(
            messages_to_chat::StreamOptions::default(),
        );
        for (name, data) in &events {
            if let Err(e) = reader.push_event(name.as_deref(), data, &mut out) {
                if !e.to_string().contains("recursion limit exceeded") {
                    panic!(
                        "our OpenAI chunk does not read back ({e}): {}",
                        String::from_utf8_lossy(data)
                    );
                }
            }
        }
    }
}
