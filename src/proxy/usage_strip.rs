//! Removes the usage-only chunk from an OpenAI stream whose usage the gateway asked for
//! itself (`stream_options.include_usage`): an event filter the pump runs.

use crate::observe::is_usage_only_chunk;

/// Splits a de-chunked SSE body into its events (raw bytes, blank line included) and
/// drops the usage-only one. A partial event that could be it waits for its end (the
/// client could not use half an event anyway); one whose data cannot be a JSON object
/// (`[DONE]`, plain text) passes at once, as it would without the strip.
#[derive(Debug, Default)]
pub struct UsageChunkStrip {
    pending: Vec<u8>,
    /// The current event is already known not to be the usage chunk: its bytes pass.
    passing: bool,
    /// The last bytes passed of the current event, to find its end across reads.
    carry: Vec<u8>,
    /// Whether the usage chunk was seen and removed.
    pub removed: bool,
}

impl UsageChunkStrip {
    pub fn new() -> UsageChunkStrip {
        UsageChunkStrip::default()
    }

    /// Appends to `out` the bytes of `data` (after what was pending) that may go to the
    /// client now: whole events other than the usage-only chunk, and passing events.
    pub fn filter(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(end) = self.current_event_end(&self.pending[start..]) {
            let event = &self.pending[start..start + end];
            if self.passing {
                out.extend_from_slice(event);
            } else if !self.removed && is_usage_only_chunk(&event_data(event)) {
                self.removed = true;
            } else {
                out.extend_from_slice(event);
            }
            self.passing = false;
            self.carry.clear();
            start += end;
        }
        let partial = &self.pending[start..];
        if !self.passing && !could_be_usage_chunk(partial) {
            self.passing = true;
        }
        if self.passing && !partial.is_empty() {
            out.extend_from_slice(partial);
            self.carry.extend_from_slice(partial);
            let keep_from = self.carry.len().saturating_sub(2);
            self.carry.drain(..keep_from);
            start = self.pending.len();
        }
        self.pending.drain(..start);
    }

    /// The body ended: what is left (an unterminated event) goes out as it came.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.pending);
    }

    /// Where the current event ends in `rest`, counting the bytes of it already passed.
    fn current_event_end(&self, rest: &[u8]) -> Option<usize> {
        if self.carry.is_empty() {
            return event_end(rest);
        }
        // The carry alone held no end, so an end found here lies in `rest`.
        let joined = [self.carry.as_slice(), rest].concat();
        event_end(&joined).map(|end| end - self.carry.len())
    }
}

/// False once a partial event starts with a `data:` value whose first byte does not
/// open a JSON object (the usage chunk's does); true while it cannot be told yet.
fn could_be_usage_chunk(partial: &[u8]) -> bool {
    let Some(value) = partial.strip_prefix(b"data:") else {
        return true;
    };
    match value.iter().find(|&&b| b != b' ') {
        Some(&first) => first == b'{',
        None => true,
    }
}

/// The length of the first complete event in `bytes`: up to and including the blank line
/// that ends it (LF or CRLF line ends).
fn event_end(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(pos) = bytes[i..].iter().position(|&b| b == b'\n') {
        let after = i + pos + 1;
        match bytes.get(after..) {
            Some([b'\n', ..]) => return Some(after + 1),
            Some([b'\r', b'\n', ..]) => return Some(after + 2),
            _ => i = after,
        }
    }
    None
}

/// The event's `data` field: its `data:` lines joined with LF, as SSE defines it.
fn event_data(event: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut first = true;
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(value) = line.strip_prefix(b"data:") else {
            continue;
        };
        if !first {
            data.push(b'\n');
        }
        first = false;
        data.extend_from_slice(value.strip_prefix(b" ").unwrap_or(value));
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTENT: &str =
        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
    const USAGE: &str =
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n";
    const DONE: &str = "data: [DONE]\n\n";

    fn stripped_at_every_split(stream: &str) -> Vec<Vec<u8>> {
        let bytes = stream.as_bytes();
        (0..=bytes.len())
            .map(|split| {
                let mut strip = UsageChunkStrip::new();
                let mut out = Vec::new();
                strip.filter(&bytes[..split], &mut out);
                strip.filter(&bytes[split..], &mut out);
                strip.finish(&mut out);
                assert!(strip.removed, "split at {split}");
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
    fn an_event_that_cannot_be_the_usage_chunk_passes_before_its_end() {
        let mut strip = UsageChunkStrip::new();
        let mut out = Vec::new();
        strip.filter(b"data: 1", &mut out);
        assert_eq!(out, b"data: 1");
        strip.filter(b"\r\n", &mut out);
        assert_eq!(out, b"data: 1\r\n");
        strip.filter(b"\r", &mut out);
        strip.filter(format!("\n{USAGE}{DONE}").as_bytes(), &mut out);
        strip.finish(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("data: 1\r\n\r\n{DONE}")
        );
        assert!(strip.removed);
    }

    #[test]
    fn a_stream_without_usage_is_unchanged_and_a_cut_tail_kept() {
        let mut strip = UsageChunkStrip::new();
        let mut out = Vec::new();
        strip.filter(format!("{CONTENT}data: {{\"partial").as_bytes(), &mut out);
        assert_eq!(out, CONTENT.as_bytes());
        strip.finish(&mut out);
        assert_eq!(out, format!("{CONTENT}data: {{\"partial").as_bytes());
        assert!(!strip.removed);
    }
}
