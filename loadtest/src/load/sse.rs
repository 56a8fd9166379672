//! An incremental SSE event classifier for `--stream`: splits lines at any byte, groups them into
//! events and says whether each carries content, is `[DONE]`, or is something else.

/// Longest line kept in full; longer lines keep only their start (enough to classify them).
const MAX_LINE: usize = 1 << 20;

/// What one SSE event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SseEvent {
    /// A data event with non-empty `content` or `text` (a token); with sluice-mock's
    /// `tok{i} ` content, its number `i`.
    Content(Option<u64>),
    /// A data event without content (role, finish, usage, ...).
    Other,
    /// `data: [DONE]`.
    Done,
}

/// Classifies the events of one stream as its bytes arrive.
#[derive(Debug, Default)]
pub struct SseScanner {
    line: Vec<u8>,
    has_data: bool,
    has_content: bool,
    is_done: bool,
    token: Option<u64>,
}

impl SseScanner {
    /// Forgets any partial event, for the next stream.
    pub fn reset(&mut self) {
        self.line.clear();
        self.has_data = false;
        self.has_content = false;
        self.is_done = false;
        self.token = None;
    }

    /// Feeds body bytes; calls `on_event` for every event they complete.
    pub fn feed(&mut self, mut bytes: &[u8], mut on_event: impl FnMut(SseEvent)) {
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n') {
            self.push(&bytes[..pos]);
            bytes = &bytes[pos + 1..];
            self.end_line(&mut on_event);
        }
        self.push(bytes);
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.line.len());
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_line(&mut self, on_event: &mut impl FnMut(SseEvent)) {
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        if line.is_empty() {
            if self.has_data {
                on_event(if self.is_done {
                    SseEvent::Done
                } else if self.has_content {
                    SseEvent::Content(self.token)
                } else {
                    SseEvent::Other
                });
            }
            self.has_data = false;
            self.has_content = false;
            self.is_done = false;
            self.token = None;
        } else if let Some(payload) = line.strip_prefix(b"data:") {
            let payload = crate::wire::trim(payload);
            self.has_data = true;
            self.is_done |= payload == b"[DONE]";
            self.has_content |=
                carries_text(payload, b"\"content\":") || carries_text(payload, b"\"text\":");
            self.token = self.token.or_else(|| mock_token(payload));
        }
        self.line.clear();
    }
}

/// Whether `key` is followed by a non-empty JSON string somewhere in `payload`.
/// The `i` of a `"tok{i} "` string (sluice-mock's content), if the payload has one.
fn mock_token(payload: &[u8]) -> Option<u64> {
    const MARK: &[u8] = b"\"tok";
    let start = payload.windows(MARK.len()).position(|w| w == MARK)? + MARK.len();
    let digits = payload[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if payload.get(start + digits..start + digits + 2) != Some(b" \"") {
        return None;
    }
    std::str::from_utf8(&payload[start..start + digits])
        .ok()?
        .parse()
        .ok()
}

fn carries_text(payload: &[u8], key: &[u8]) -> bool {
    let mut rest = payload;
    while let Some(pos) = rest.windows(key.len()).position(|w| w == key) {
        rest = &rest[pos + key.len()..];
        let value = crate::wire::trim(rest);
        if let [b'"', next, ..] = value {
            if *next != b'"' {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_tokens_are_numbered() {
        assert_eq!(mock_token(br#"{"delta":{"content":"tok12 "}}"#), Some(12));
        assert_eq!(mock_token(br#"{"delta":{"content":"tok1"}}"#), None);
        assert_eq!(mock_token(br#"{"delta":{"content":"token 1 "}}"#), None);
        assert_eq!(mock_token(br#"{"delta":{"content":"hi"}}"#), None);
    }

    const STREAM: &[u8] = b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n: ping\r\n\r\ndata: {\"choices\":[{\"delta\":{\"content\": \"hi\"}}]}\r\n\r\nevent: x\ndata: {\"a\":1}\ndata: {\"text\":\"yo\"}\n\ndata: {\"choices\":[],\"usage\":{}}\n\ndata: [DONE]\n\n";

    #[test]
    fn classifies_events_split_anywhere() {
        let expected = [
            SseEvent::Other,
            SseEvent::Content(None),
            SseEvent::Content(None),
            SseEvent::Other,
            SseEvent::Done,
        ];
        for piece in 1..STREAM.len() {
            let mut scanner = SseScanner::default();
            let mut seen = Vec::new();
            for part in STREAM.chunks(piece) {
                scanner.feed(part, |e| seen.push(e));
            }
            assert_eq!(seen, expected, "piece {piece}");
        }
    }

    #[test]
    fn unfinished_event_is_not_reported() {
        let mut scanner = SseScanner::default();
        let mut seen = Vec::new();
        scanner.feed(b"data: [DONE]\n", |e| seen.push(e));
        assert!(seen.is_empty());
        scanner.reset();
        scanner.feed(b"\n", |e| seen.push(e));
        assert!(seen.is_empty(), "reset forgets the pending event");
    }
}
