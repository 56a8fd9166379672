//! The response tap: watches the body bytes a request's answer forwards (size, first
//! byte, usage as it passes, a copy bounded by the log's limit), never holding them back.

use crate::observe::logdb::MAX_LOGGED_BODY_BYTES;
use crate::observe::{from_json_body, StreamUsage, Usage};
use crate::sse::SseEvent;
use std::time::Instant;

/// Watches response body bytes as they are forwarded, never holding them back.
#[derive(Debug, Default)]
pub struct ResponseTap {
    /// Body bytes seen (de-chunked).
    pub size: u64,
    pub(super) first_byte: Option<Instant>,
    /// Set for SSE responses: usage is read from the events as they pass.
    stream: Option<StreamUsage>,
    /// A copy of the body, kept while it stays under the log's body limit.
    pub(super) copy: Option<Vec<u8>>,
}

impl ResponseTap {
    /// `copy`: a buffer to keep the body in (for the log or a JSON body's usage);
    /// `stream`: an SSE body.
    pub fn new(copy: Option<Vec<u8>>, stream: bool) -> ResponseTap {
        ResponseTap {
            stream: stream.then(StreamUsage::new),
            copy,
            ..ResponseTap::default()
        }
    }

    /// Makes room for a body of `len` bytes (its content-length) in one allocation.
    pub fn expect_len(&mut self, len: u64) {
        if let (Some(copy), Ok(len)) = (&mut self.copy, usize::try_from(len)) {
            if len <= MAX_LOGGED_BODY_BYTES {
                copy.reserve_exact(len);
            }
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        self.size = self.size.saturating_add(data.len() as u64);
        let too_big = self
            .copy
            .as_ref()
            .is_some_and(|c| c.len().saturating_add(data.len()) > MAX_LOGGED_BODY_BYTES);
        if too_big {
            // The log would not store it, and a body this large is not worth scanning.
            self.copy = None;
        } else if let Some(copy) = &mut self.copy {
            copy.extend_from_slice(data);
        }
    }

    /// One event of an SSE body, from the pump's scan: usage is read as it passes.
    pub fn event(&mut self, event: &SseEvent<'_>) {
        if let Some(usage) = &mut self.stream {
            usage.observe_event(event.data);
        }
    }

    /// An SSE body.
    pub fn is_stream(&self) -> bool {
        self.stream.is_some()
    }

    pub(super) fn usage(&self) -> Option<Usage> {
        match (&self.stream, &self.copy) {
            (Some(stream), _) => stream.usage(),
            (None, Some(body)) => from_json_body(body),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_counts_and_copies_json_usage() {
        let mut tap = ResponseTap::new(Some(Vec::new()), false);
        let body =
            br#"{"id":"x","usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#;
        tap.push(&body[..20]);
        tap.push(&body[20..]);
        assert_eq!(tap.size, body.len() as u64);
        let usage = tap.usage().map(|u| (u.tokens_in, u.tokens_out));
        assert_eq!(usage, Some((7, 3)));
        assert!(tap.first_byte.is_some());
    }

    #[test]
    fn tap_reads_stream_usage_without_copy() {
        let mut tap = ResponseTap::new(None, true);
        let mut scanner = crate::sse::SseScanner::new();
        for piece in [
            &b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,"[..],
            b"\"completion_tokens\":5,\"total_tokens\":7}}\n\ndata: [DONE]\n\n",
        ] {
            tap.push(piece);
            scanner.feed(piece, |e| tap.event(e));
        }
        assert!(tap.copy.is_none());
        let usage = tap.usage().map(|u| (u.tokens_in, u.tokens_out));
        assert_eq!(usage, Some((2, 5)));
    }

    #[test]
    fn tap_gives_up_copy_over_the_limit() {
        let mut tap = ResponseTap::new(Some(Vec::new()), false);
        tap.push(&vec![b'a'; MAX_LOGGED_BODY_BYTES]);
        assert!(tap.copy.is_some());
        tap.push(b"b");
        assert!(tap.copy.is_none());
        assert_eq!(tap.size, MAX_LOGGED_BODY_BYTES as u64 + 1);
    }
}
