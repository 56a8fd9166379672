//! Removes the usage-only chunk from an OpenAI stream whose usage the gateway asked for
//! itself: an event filter over the response's one SSE scan.

use super::is_usage_only_chunk;
use crate::sse::{EventFilter, SseEvent};

/// A usage-only chunk is a few hundred bytes: an event still open past this is passed.
const MAX_HELD_BYTES: usize = 64 * 1024;

/// Drops the usage-only event, byte for byte, and passes every other. An open event
/// that could be it waits for its end (the client could not use half an event
/// anyway); one whose data cannot be a JSON object (`[DONE]`, plain text) passes at
/// once, as it would without the strip.
#[derive(Debug, Default)]
pub struct UsageChunkStrip {
    /// The start of the current event, held while it could be the usage chunk.
    held: Vec<u8>,
    /// The current event is known not to be the usage chunk: its bytes pass.
    passing: bool,
    /// The dropped event ended in a CR whose LF (the same line end) opens the next chunk.
    drop_lf: bool,
    /// Whether the usage chunk was seen and removed.
    pub removed: bool,
}

impl UsageChunkStrip {
    /// A strip for one response stream.
    pub fn new() -> UsageChunkStrip {
        UsageChunkStrip::default()
    }

    /// `raw` without the LF that belongs to a dropped event's line end.
    fn skip_dropped_lf<'a>(&mut self, raw: &'a [u8]) -> &'a [u8] {
        if !self.drop_lf || raw.is_empty() {
            return raw;
        }
        self.drop_lf = false;
        raw.strip_prefix(b"\n").unwrap_or(raw)
    }
}

impl EventFilter for UsageChunkStrip {
    fn event(&mut self, raw: &[u8], event: Option<&SseEvent<'_>>, out: &mut Vec<u8>) {
        let raw = self.skip_dropped_lf(raw);
        let usage_only =
            !self.passing && !self.removed && event.is_some_and(|e| is_usage_only_chunk(e.data));
        if usage_only {
            self.removed = true;
            self.drop_lf = raw.last() == Some(&b'\r');
        } else {
            out.append(&mut self.held);
            out.extend_from_slice(raw);
        }
        self.held.clear();
        self.passing = false;
    }

    fn partial(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let raw = self.skip_dropped_lf(raw);
        if self.passing {
            out.extend_from_slice(raw);
            return;
        }
        self.held.extend_from_slice(raw);
        if self.removed || !could_be_usage_chunk(&self.held) || self.held.len() > MAX_HELD_BYTES {
            self.passing = true;
            out.append(&mut self.held);
        }
    }

    /// What is left (an unterminated event) goes out as it came.
    fn end(&mut self, out: &mut Vec<u8>) -> bool {
        out.append(&mut self.held);
        true
    }
}

/// False once an open event starts with a `data:` value whose first byte does not
/// open a JSON object (the usage chunk's does); true while it cannot be told yet.
fn could_be_usage_chunk(open: &[u8]) -> bool {
    let Some(value) = open.strip_prefix(b"data:") else {
        return true;
    };
    match value.iter().find(|&&b| b != b' ') {
        Some(&first) => first == b'{',
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseScanner;

    const CONTENT: &str =
        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
    const USAGE: &str =
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n";
    const DONE: &str = "data: [DONE]\n\n";

    /// Feeds `pieces` through one scan and the strip, as the pump does.
    fn strip(pieces: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut scanner = SseScanner::new();
        let mut strip = UsageChunkStrip::new();
        let mut out = Vec::new();
        for piece in pieces {
            scanner.feed_filter(piece, &mut strip, &mut out, |_| {});
        }
        strip.end(&mut out);
        (out, strip.removed)
    }

    fn stripped_at_every_split(stream: &str) -> Vec<Vec<u8>> {
        let bytes = stream.as_bytes();
        (0..=bytes.len())
            .map(|split| {
                let (out, removed) = strip(&[&bytes[..split], &bytes[split..]]);
                assert!(removed, "split at {split}");
                out
            })
            .collect()
    }

    #[test]
    fn usage_chunk_is_removed_wherever_the_reads_split() {
        let stream = format!("{CONTENT}{USAGE}{DONE}");
        let expected = format!("{CONTENT}{DONE}");
        for out in stripped_at_every_split(&stream) {
            assert_eq!(String::from_utf8_lossy(&out), expected);
        }
    }

    #[test]
    fn crlf_events_and_other_fields_pass_unchanged() {
        let content = "event: x\r\ndata: {\"choices\":[]}\r\n\r\n";
        let usage = "data: {\"choices\":[],\r\ndata: \"usage\":{\"prompt_tokens\":1}}\r\n\r\n";
        let stream = format!("{content}{usage}{DONE}");
        for out in stripped_at_every_split(&stream) {
            assert_eq!(String::from_utf8_lossy(&out), format!("{content}{DONE}"));
        }
    }

    #[test]
    fn bare_cr_line_ends_are_events_too() {
        let usage = USAGE.replace('\n', "\r");
        let stream = format!("data: {{\"choices\":[]}}\r\r{usage}data: [DONE]\r\r");
        for out in stripped_at_every_split(&stream) {
            assert_eq!(
                String::from_utf8_lossy(&out),
                "data: {\"choices\":[]}\r\rdata: [DONE]\r\r"
            );
        }
    }

    #[test]
    fn comments_before_the_usage_chunk_stay() {
        let stream = format!(": keep-alive\n\n{USAGE}{DONE}");
        for out in stripped_at_every_split(&stream) {
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!(": keep-alive\n\n{DONE}")
            );
        }
    }

    #[test]
    fn an_event_that_cannot_be_the_usage_chunk_passes_before_its_end() {
        let mut scanner = SseScanner::new();
        let mut strip = UsageChunkStrip::new();
        let mut out = Vec::new();
        let mut feed = |bytes: &[u8], out: &mut Vec<u8>| {
            scanner.feed_filter(bytes, &mut strip, out, |_| {});
        };
        feed(b"data: 1", &mut out);
        assert_eq!(out, b"data: 1");
        feed(b"\r\n", &mut out);
        assert_eq!(out, b"data: 1\r\n");
        feed(b"\r", &mut out);
        feed(format!("\n{USAGE}{DONE}").as_bytes(), &mut out);
        strip.end(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("data: 1\r\n\r\n{DONE}")
        );
        assert!(strip.removed);
    }

    #[test]
    fn a_stream_without_usage_is_unchanged_and_a_cut_tail_kept() {
        let head = format!("{CONTENT}data: {{\"partial");
        let (out, removed) = strip(&[head.as_bytes()]);
        assert_eq!(out, head.as_bytes());
        assert!(!removed);
    }

    #[test]
    fn a_long_open_event_is_not_held() {
        let mut scanner = SseScanner::new();
        let mut strip = UsageChunkStrip::new();
        let mut out = Vec::new();
        let long = format!("data: {{\"x\":\"{}", "a".repeat(MAX_HELD_BYTES));
        scanner.feed_filter(long.as_bytes(), &mut strip, &mut out, |_| {});
        assert_eq!(out, long.as_bytes());
    }
}
