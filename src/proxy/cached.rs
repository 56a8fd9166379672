//! The response cache on the wire: a bounded copy of a body taken while it streams, the
//! entry stored from it, and a stored entry written back to a client (`cf-aig-cache-status`).

use crate::controls::CachedResponse;
use crate::http::{is_hop_by_hop, HeadWriter, HttpError, ResponseHead};
use bytes::Bytes;
use std::time::Instant;

pub const CACHE_STATUS: &str = "cf-aig-cache-status";
pub const STEP: &str = "cf-aig-step";

/// What to do with a complete captured body (store it).
pub type OnComplete<'a> = Box<dyn FnOnce(Vec<u8>) + 'a>;

/// A copy of the body bytes as they are forwarded (de-chunked), given up for good once it
/// would pass `limit`: the cache could not store it anyway.
pub struct BodyCapture<'a> {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
    on_complete: Option<OnComplete<'a>>,
}

impl<'a> BodyCapture<'a> {
    pub fn new(limit: usize, on_complete: OnComplete<'a>) -> BodyCapture<'a> {
        BodyCapture {
            bytes: Vec::new(),
            limit,
            overflowed: false,
            on_complete: Some(on_complete),
        }
    }

    /// The upstream body ended cleanly: hands the copy on. Called before the last bytes
    /// are written to the client, so that a client which got the whole answer and asks
    /// again (on any worker) finds it stored.
    pub fn complete(&mut self) {
        if let Some(on_complete) = self.on_complete.take() {
            if !self.overflowed {
                on_complete(std::mem::take(&mut self.bytes));
            }
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.overflowed {
            return;
        }
        if self.bytes.len().saturating_add(data.len()) > self.limit {
            self.overflowed = true;
            self.bytes = Vec::new();
            return;
        }
        self.bytes.extend_from_slice(data);
    }
}

/// The entry for a complete 2xx response: its status, end-to-end headers (framing and
/// the gateway's own headers are set again on replay) and body.
pub fn entry(head: &ResponseHead, body: Vec<u8>, now: Instant) -> CachedResponse {
    let headers = head
        .headers
        .iter()
        .filter(|h| {
            let name = h.name.as_str();
            !(is_hop_by_hop(name)
                || name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case(CACHE_STATUS)
                || name.eq_ignore_ascii_case(STEP)
                || head
                    .connection_tokens
                    .iter()
                    .any(|t| name.eq_ignore_ascii_case(t)))
        })
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    CachedResponse {
        status: head.status,
        headers,
        body: Bytes::from(body),
        stored_at: now,
    }
}

/// A hit as one write: head (`cf-aig-cache-status: HIT`, `Content-Length`) and body. A
/// streamed answer comes back as the same body bytes, framed by length.
pub fn replay(
    hit: &CachedResponse,
    step: Option<usize>,
    close: bool,
    http10: bool,
    is_head: bool,
    extra: &[(&str, &[u8])],
) -> Result<Vec<u8>, HttpError> {
    let mut w = HeadWriter::with_capacity(256 + hit.body.len());
    w.status_line(hit.status);
    for (name, value) in &hit.headers {
        w.header(name, value);
    }
    w.content_length(hit.body.len() as u64)
        .header(CACHE_STATUS, b"HIT");
    if let Some(index) = step {
        w.header(STEP, index.to_string().as_bytes());
    }
    for (name, value) in extra {
        w.header(name, value);
    }
    w.connection(close, http10);
    let mut bytes = w.finish()?;
    if !is_head {
        bytes.extend_from_slice(&hit.body);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(limit: usize, pieces: &[&[u8]], complete: bool) -> Option<Vec<u8>> {
        let stored = std::cell::RefCell::new(None);
        let mut capture = BodyCapture::new(limit, Box::new(|b| *stored.borrow_mut() = Some(b)));
        for piece in pieces {
            capture.push(piece);
        }
        if complete {
            capture.complete();
            capture.complete();
        }
        drop(capture);
        stored.into_inner()
    }

    #[test]
    fn capture_gives_up_past_the_limit() {
        assert_eq!(
            captured(8, &[b"abcd", b"efgh"], true),
            Some(b"abcdefgh".to_vec())
        );
        assert_eq!(captured(8, &[b"abcd", b"efghi", b"j"], true), None);
    }

    #[test]
    fn an_incomplete_body_is_never_stored() {
        assert_eq!(captured(8, &[b"abcd"], false), None);
    }

    #[test]
    fn replay_sets_length_status_and_step() {
        let hit = CachedResponse {
            status: 200,
            headers: vec![("content-type".into(), b"text/event-stream".to_vec())],
            body: Bytes::from_static(b"data: x\n\n"),
            stored_at: Instant::now(),
        };
        let bytes = replay(&hit, Some(2), false, false, false, &[]).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("content-type: text/event-stream\r\n"));
        assert!(text.contains("Content-Length: 9\r\n"));
        assert!(text.contains("cf-aig-cache-status: HIT\r\n"));
        assert!(text.contains("cf-aig-step: 2\r\n"));
        assert!(text.ends_with("\r\n\r\ndata: x\n\n"));
    }
}
