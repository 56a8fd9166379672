//! Event filters: what turns an upstream's SSE events into the client's bytes (the
//! usage-chunk strip, a stream translator), fed by the one scan of each response.

use super::{SseEvent, SseScanner};

/// Consumes a stream's events as the scanner finds them; plain types without IO.
pub trait EventFilter {
    /// One event ended. `raw` is its bytes in this chunk (the start of a long event may
    /// have come in earlier chunks, through [`Self::partial`]); `event` is what it
    /// dispatched, `None` for a blank line that dispatched nothing.
    fn event(&mut self, raw: &[u8], event: Option<&SseEvent<'_>>, out: &mut Vec<u8>);
    /// The bytes after the chunk's last event end: the start of an event still open.
    fn partial(&mut self, raw: &[u8], out: &mut Vec<u8>);
    /// The stream ended cleanly: appends the rest. `false` when what was written is not
    /// a whole stream (a translated stream without its end): the client's body is then
    /// left cut, as the upstream's was.
    fn end(&mut self, out: &mut Vec<u8>) -> bool;
}

impl SseScanner {
    /// Scans `chunk` once: every event goes to `observe`, then with its raw bytes to
    /// `filter`, whose output is appended to `out`.
    pub fn feed_filter(
        &mut self,
        chunk: &[u8],
        filter: &mut dyn EventFilter,
        out: &mut Vec<u8>,
        mut observe: impl FnMut(&SseEvent<'_>),
    ) {
        let mut start = 0;
        self.feed_spans(chunk, |end, event| {
            if let Some(event) = event {
                observe(event);
            }
            filter.event(&chunk[start..end], event, out);
            start = end;
        });
        filter.partial(&chunk[start..], out);
    }
}
