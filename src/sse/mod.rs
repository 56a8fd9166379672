//! Incremental Server-Sent Events scanner (WHATWG parsing rules) that watches a
//! forwarded stream on the side: any chunking, bounded memory, never a panic.

mod filter;
#[cfg(test)]
mod fixture_tests;

pub use filter::EventFilter;

/// One dispatched event. Borrowed from the scanner; copy what must outlive the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, if the event set a non-empty one.
    pub event: Option<&'a str>,
    /// The `data:` lines joined with `\n`.
    pub data: &'a [u8],
    /// The last event ID seen on the stream (it persists across events, per WHATWG).
    pub id: Option<&'a str>,
}

/// Events larger than this are dropped unless set otherwise.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8] = "\u{feff}".as_bytes();

/// Scans a byte stream for SSE events; feed it each chunk as it is forwarded.
#[derive(Debug)]
pub struct SseScanner {
    max_event_bytes: usize,
    /// The start of a line whose end has not arrived yet.
    partial_line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    event: String,
    id: Option<String>,
    /// The last chunk ended in CR: an LF opening the next one ends no second line.
    after_cr: bool,
    /// That CR ended an event: the LF is the rest of its raw bytes.
    cr_ended_event: bool,
    /// No line has been completed yet, so a BOM may still open the stream.
    at_stream_start: bool,
    /// The current event went over the limit: ignore lines until the blank one.
    dropping_event: bool,
    /// The current line went over the limit: ignore bytes until its end.
    dropping_line: bool,
    overflowed: bool,
}

impl Default for SseScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl SseScanner {
    /// A scanner that drops events over 16 MiB.
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A scanner that drops events whose data (or any one line) exceeds `n` bytes.
    pub fn with_max_event_bytes(n: usize) -> Self {
        SseScanner {
            max_event_bytes: n,
            partial_line: Vec::new(),
            data: Vec::new(),
            has_data: false,
            event: String::new(),
            id: None,
            after_cr: false,
            cr_ended_event: false,
            at_stream_start: true,
            dropping_event: false,
            dropping_line: false,
            overflowed: false,
        }
    }

    /// True once any event has been dropped for being over the limit.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Scans the next chunk of the stream, calling `on_event` for each event
    /// it completes, in order.
    pub fn feed(&mut self, chunk: &[u8], mut on_event: impl FnMut(&SseEvent<'_>)) {
        self.feed_spans(chunk, |_, event| {
            if let Some(event) = event {
                on_event(event);
            }
        });
    }

    /// Like [`Self::feed`], and reports every event's end (each blank line): where in
    /// `chunk` it ended, and the event it dispatched (`None` for one without data or
    /// dropped for its size). The bytes between two ends are one event's raw bytes, so
    /// a filter can pass or drop whole events byte for byte.
    pub fn feed_spans(
        &mut self,
        chunk: &[u8],
        mut on_end: impl FnMut(usize, Option<&SseEvent<'_>>),
    ) {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            let cr_ended_event = std::mem::take(&mut self.cr_ended_event);
            if let Some(tail) = rest.strip_prefix(b"\n") {
                rest = tail;
                if cr_ended_event {
                    // The event's end, completed: its last byte belongs to its span.
                    on_end(1, None);
                }
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            let (line_tail, after) = rest.split_at(end);
            let mut next = &after[1..];
            if after[0] == b'\r' {
                match next.first() {
                    Some(b'\n') => next = &next[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let ended_at = chunk.len() - next.len();
            let mut ended_event = false;
            self.complete_line(line_tail, &mut |event| {
                ended_event = true;
                on_end(ended_at, event);
            });
            self.cr_ended_event = self.after_cr && ended_event;
            rest = next;
        }
        self.keep_partial(rest);
    }

    /// A line ended; `tail` is its part in the current chunk.
    fn complete_line(&mut self, tail: &[u8], on_end: &mut impl FnMut(Option<&SseEvent<'_>>)) {
        if self.dropping_line {
            self.dropping_line = false;
            self.partial_line.clear();
            return;
        }
        if self.partial_line.is_empty() {
            self.process_line(tail, on_end);
        } else if self.partial_line.len() + tail.len() > self.max_event_bytes {
            self.partial_line.clear();
            self.overflow();
        } else {
            let mut line = std::mem::take(&mut self.partial_line);
            line.extend_from_slice(tail);
            self.process_line(&line, on_end);
            line.clear();
            self.partial_line = line;
        }
    }

    /// Buffers the unterminated end of a chunk, within the event limit.
    fn keep_partial(&mut self, rest: &[u8]) {
        if rest.is_empty() || self.dropping_line {
            return;
        }
        if self.data.len() + self.partial_line.len() + rest.len() > self.max_event_bytes {
            self.partial_line.clear();
            self.dropping_line = true;
            self.overflow();
            return;
        }
        self.partial_line.extend_from_slice(rest);
    }

    fn overflow(&mut self) {
        self.overflowed = true;
        self.dropping_event = true;
        self.reset_event();
    }

    fn process_line(&mut self, line: &[u8], on_end: &mut impl FnMut(Option<&SseEvent<'_>>)) {
        let mut line = line;
        if self.at_stream_start {
            self.at_stream_start = false;
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(on_end);
            return;
        }
        if self.dropping_event || line[0] == b':' {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    self.overflow();
                    return;
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            b"id" if !value.contains(&0) => {
                self.id = (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, on_end: &mut impl FnMut(Option<&SseEvent<'_>>)) {
        if self.dropping_event || !self.has_data {
            self.dropping_event = false;
            on_end(None);
        } else {
            on_end(Some(&SseEvent {
                event: (!self.event.is_empty()).then_some(self.event.as_str()),
                data: &self.data,
                id: self.id.as_deref(),
            }));
        }
        self.reset_event();
    }

    fn reset_event(&mut self) {
        self.data.clear();
        self.has_data = false;
        self.event.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (event, data, id) of every event, with `text` fed in pieces of `step` bytes.
    pub(super) fn scan(
        scanner: &mut SseScanner,
        text: &[u8],
        step: usize,
    ) -> Vec<(Option<String>, Vec<u8>, Option<String>)> {
        let mut out = Vec::new();
        for piece in text.chunks(step.max(1)) {
            scanner.feed(piece, |e| {
                out.push((
                    e.event.map(str::to_owned),
                    e.data.to_vec(),
                    e.id.map(str::to_owned),
                ))
            });
        }
        out
    }

    fn datas(text: &str, step: usize) -> Vec<String> {
        scan(&mut SseScanner::new(), text.as_bytes(), step)
            .into_iter()
            .map(|(_, d, _)| String::from_utf8(d).unwrap())
            .collect()
    }

    #[test]
    fn every_line_ending_works_and_cr_lf_split_is_one_line_end() {
        for text in [
            "data: a\n\ndata: b\n\n",
            "data: a\r\n\r\ndata: b\r\n\r\n",
            "data: a\r\rdata: b\r\r",
            "data: a\r\n\ndata: b\n\r\n",
        ] {
            for step in 1..=text.len() {
                assert_eq!(datas(text, step), ["a", "b"], "{text:?} step {step}");
            }
        }
        // CR at the end of one chunk, LF at the start of the next: one line end,
        // so no blank line and nothing dispatched yet.
        let mut s = SseScanner::new();
        let mut n = 0;
        s.feed(b"data: a\r", |_| n += 1);
        s.feed(b"\n", |_| n += 1);
        assert_eq!(n, 0);
        s.feed(b"\r\n", |_| n += 1);
        assert_eq!(n, 1);
    }

    /// The raw bytes of each event end, in order, with `text` split once at `split`.
    fn spans(text: &[u8], split: usize) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let mut scanner = SseScanner::new();
        let mut spans: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![(Vec::new(), None)];
        for piece in [&text[..split], &text[split..]] {
            let mut start = 0;
            scanner.feed_spans(piece, |end, event| {
                let open = spans.last_mut().unwrap();
                open.0.extend_from_slice(&piece[start..end]);
                open.1 = event.map(|e| e.data.to_vec());
                spans.push((Vec::new(), None));
                start = end;
            });
            spans
                .last_mut()
                .unwrap()
                .0
                .extend_from_slice(&piece[start..]);
        }
        spans
    }

    #[test]
    fn spans_cover_every_byte_and_end_where_events_end() {
        let text = b": c\n\ndata: a\r\n\r\ndata: b\r\rtail";
        for split in 0..=text.len() {
            let mut got = spans(text, split);
            let joined: Vec<u8> = got.iter().flat_map(|(raw, _)| raw.clone()).collect();
            assert_eq!(joined, text, "split {split}");
            // A CR ending an event at a split reports the LF after it as an end of its own.
            let lf_end = got
                .iter()
                .position(|(raw, event)| raw.as_slice() == b"\n" && event.is_none());
            assert_eq!(lf_end.is_some(), split == 15, "split {split}");
            got.retain(|(raw, event)| !(raw.as_slice() == b"\n" && event.is_none()));
            let ends: Vec<_> = got.iter().map(|(_, e)| e.as_deref()).collect();
            assert_eq!(
                ends,
                [None, Some(&b"a"[..]), Some(b"b"), None],
                "split {split}"
            );
        }
    }

    #[test]
    fn fields_comments_and_multiline_data() {
        let text = ": ping\nevent: delta\nid: 7\ndata:no-space\ndata:  two spaces\ndata\nretry: 10\nunknown: x\n\n";
        let got = scan(&mut SseScanner::new(), text.as_bytes(), 1);
        assert_eq!(
            got,
            [(
                Some("delta".to_owned()),
                b"no-space\n two spaces\n".to_vec(),
                Some("7".to_owned())
            )]
        );
    }

    #[test]
    fn events_without_data_are_not_dispatched_and_id_persists() {
        let text = "event: a\n\n: c\n\nid: 9\n\ndata: x\n\nevent: b\ndata:\n\n";
        let got = scan(&mut SseScanner::new(), text.as_bytes(), 3);
        assert_eq!(
            got,
            [
                (None, b"x".to_vec(), Some("9".to_owned())),
                (Some("b".to_owned()), b"".to_vec(), Some("9".to_owned())),
            ]
        );
    }

    #[test]
    fn leading_bom_is_ignored_even_when_split() {
        let text = "\u{feff}data: a\n\n";
        for step in 1..=text.len() {
            assert_eq!(datas(text, step), ["a"], "step {step}");
        }
        // Only at the very start: later it is part of a field name.
        assert_eq!(datas("data: a\n\n\u{feff}data: b\n\n", 2), ["a"]);
    }

    #[test]
    fn unterminated_event_is_not_dispatched() {
        assert!(datas("data: a\n", 1).is_empty());
        assert!(datas("data: a", 1).is_empty());
    }

    #[test]
    fn oversized_events_are_dropped_and_the_stream_recovers() {
        let big = "x".repeat(100);
        let text =
            format!("data: small\n\ndata: {big}\n\ndata: {big}\ndata: {big}\n\ndata: after\n\n");
        for step in [1, 7, 64, text.len()] {
            let mut s = SseScanner::with_max_event_bytes(150);
            let got: Vec<_> = scan(&mut s, text.as_bytes(), step)
                .into_iter()
                .map(|(_, d, _)| String::from_utf8(d).unwrap())
                .collect();
            assert_eq!(got, ["small", big.as_str(), "after"], "step {step}");
            assert!(s.overflowed(), "step {step}");
        }
        // A single line over the limit, split across chunks, is dropped too.
        let mut s = SseScanner::with_max_event_bytes(10);
        let text = format!("data: {big}\n\ndata: ok\n\n");
        let got = scan(&mut s, text.as_bytes(), 4);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, b"ok");
        assert!(s.overflowed());
        assert!(!SseScanner::new().overflowed());
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_the_stream_recovers() {
        let mut s = SseScanner::with_max_event_bytes(64);
        let mut x: u32 = 12345;
        let alphabet = b"data: \r\n:\xff\xfe\x00ide";
        let mut oks = 0;
        for _ in 0..2000 {
            let garbage: Vec<u8> = (0..x % 90)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    alphabet[(x >> 16) as usize % alphabet.len()]
                })
                .collect();
            s.feed(&garbage, |_| {});
            // Two line ends close whatever the garbage left open.
            s.feed(b"\n\ndata: ok\n\n", |e| oks += usize::from(e.data == b"ok"));
        }
        assert_eq!(oks, 2000);
    }
}
