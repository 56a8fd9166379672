//! What a run measured: per-worker histograms (microseconds), outcome and status counts, bytes,
//! a sample error body and the per-second timeline, merged at the end into one `Stats`.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::timeline::Timeline;
use crate::error::ToolError;

/// Highest latency recorded exactly: one hour, in microseconds.
pub const MAX_MICROS: u64 = 3_600_000_000;

/// Distinct error descriptions kept; later new ones count as "other".
const MAX_KINDS: usize = 32;

/// How one request ended, when it did not end well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Could not connect or complete the TLS handshake; why, in a few words.
    Connect(String),
    /// A complete response with a non-2xx status.
    Status(u16),
    /// No complete response within the timeout.
    Timeout,
    /// A stream that ended without `data: [DONE]`.
    ShortStream,
    /// A stream whose content events were not `--expect-chunks` in order.
    CorruptStream,
    /// A socket error or an unparsable response; why, in a few words.
    Io(String),
}

impl Failure {
    /// How the report names this kind of failure (status failures are counted by code instead).
    fn kind(&self) -> Option<&str> {
        match self {
            Failure::Connect(why) | Failure::Io(why) => Some(why),
            Failure::Status(_) => None,
            Failure::Timeout => Some("timeout"),
            Failure::ShortStream => Some("stream ended without [DONE]"),
            Failure::CorruptStream => Some("stream content lost or reordered"),
        }
    }
}

/// The start of the first failing response's body.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its status.
    pub status: u16,
    /// Its first bytes.
    pub body: Vec<u8>,
    /// The whole body's length.
    pub body_bytes: u64,
}

/// One worker's (or, merged, the run's) measurements.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Non-streaming latency of good requests.
    pub latency: Histogram<u64>,
    /// Time to first content event.
    pub ttft: Histogram<u64>,
    /// Gaps between consecutive content events.
    pub gap: Histogram<u64>,
    /// Whole stream time of good streams.
    pub total: Histogram<u64>,
    /// Time until each failed request was known to have failed.
    pub failed: Histogram<u64>,
    /// Requests that ended well.
    pub ok: u64,
    /// Content events over all good streams.
    pub chunks: u64,
    /// Connect and TLS handshake failures.
    pub connect: u64,
    /// Timeouts.
    pub timeout: u64,
    /// Short streams.
    pub short_stream: u64,
    /// Streams with lost or reordered content (`--expect-chunks`).
    pub corrupt_stream: u64,
    /// IO errors.
    pub io: u64,
    /// Non-2xx responses by status.
    pub status: BTreeMap<u16, u64>,
    /// Every complete response by status, good or not.
    pub status_codes: BTreeMap<u16, u64>,
    /// Failures other than a status, by description.
    pub kinds: BTreeMap<String, u64>,
    /// The first failing response's body.
    pub sample: Option<Sample>,
    /// Bytes read (response heads and bodies, after TLS).
    pub bytes_received: u64,
    /// Bytes of requests written.
    pub bytes_sent: u64,
    /// Per-second counts and latencies.
    pub timeline: Timeline,
}

/// A histogram over 1 us ..= one hour, 3 significant digits.
fn histogram() -> Result<Histogram<u64>, ToolError> {
    Ok(Histogram::new_with_bounds(1, MAX_MICROS, 3)?)
}

/// A duration in microseconds, clamped into the histograms' range.
pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MICROS)
}

/// Records a duration in microseconds, clamped into the histogram's range.
pub fn record(histogram: &mut Histogram<u64>, duration: Duration) {
    histogram.saturating_record(micros(duration));
}

impl Stats {
    /// Empty measurements.
    pub fn new() -> Result<Self, ToolError> {
        Ok(Self {
            latency: histogram()?,
            ttft: histogram()?,
            gap: histogram()?,
            total: histogram()?,
            failed: histogram()?,
            ok: 0,
            chunks: 0,
            connect: 0,
            timeout: 0,
            short_stream: 0,
            corrupt_stream: 0,
            io: 0,
            status: BTreeMap::new(),
            status_codes: BTreeMap::new(),
            kinds: BTreeMap::new(),
            sample: None,
            bytes_received: 0,
            bytes_sent: 0,
            timeline: Timeline::default(),
        })
    }

    /// Counts a complete response's status.
    pub fn response(&mut self, status: u16) {
        *self.status_codes.entry(status).or_default() += 1;
    }

    /// Counts a good request that took `elapsed` and ended in `second` of the run.
    pub fn succeed(&mut self, elapsed: Duration, second: usize) {
        self.ok += 1;
        self.timeline.record(second, Some(micros(elapsed)));
    }

    /// Counts one failure that took `elapsed` and ended in `second` of the run.
    pub fn fail(&mut self, failure: &Failure, elapsed: Duration, second: usize) {
        record(&mut self.failed, elapsed);
        self.timeline.record(second, None);
        if let Some(kind) = failure.kind() {
            count_kind(&mut self.kinds, kind, 1);
        }
        match failure {
            Failure::Connect(_) => self.connect += 1,
            Failure::Status(code) => *self.status.entry(*code).or_default() += 1,
            Failure::Timeout => self.timeout += 1,
            Failure::ShortStream => self.short_stream += 1,
            Failure::CorruptStream => self.corrupt_stream += 1,
            Failure::Io(_) => self.io += 1,
        }
    }

    /// All failures.
    pub fn errors(&self) -> u64 {
        self.connect
            + self.timeout
            + self.short_stream
            + self.corrupt_stream
            + self.io
            + self.status.values().sum::<u64>()
    }

    /// Adds another worker's measurements.
    pub fn merge(&mut self, other: &Stats) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.ttft.add(&other.ttft);
        let _ = self.gap.add(&other.gap);
        let _ = self.total.add(&other.total);
        let _ = self.failed.add(&other.failed);
        self.ok += other.ok;
        self.chunks += other.chunks;
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.short_stream += other.short_stream;
        self.corrupt_stream += other.corrupt_stream;
        self.io += other.io;
        for (code, count) in &other.status {
            *self.status.entry(*code).or_default() += count;
        }
        for (code, count) in &other.status_codes {
            *self.status_codes.entry(*code).or_default() += count;
        }
        for (kind, count) in &other.kinds {
            count_kind(&mut self.kinds, kind, *count);
        }
        if self.sample.is_none() {
            self.sample.clone_from(&other.sample);
        }
        self.bytes_received += other.bytes_received;
        self.bytes_sent += other.bytes_sent;
        self.timeline.merge(&other.timeline);
    }
}

/// Adds `count` to `kind`, or to "other" once `MAX_KINDS` descriptions are known.
fn count_kind(kinds: &mut BTreeMap<String, u64>, kind: &str, count: u64) {
    if let Some(known) = kinds.get_mut(kind) {
        *known += count;
    } else if kinds.len() < MAX_KINDS {
        kinds.insert(kind.to_owned(), count);
    } else {
        *kinds.entry("other".to_owned()).or_default() += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_timed_and_counted_apart_from_successes() {
        let mut stats = Stats::new().unwrap();
        stats.succeed(Duration::from_millis(2), 0);
        let refused = Failure::Connect("connect: connection refused".to_owned());
        stats.fail(&refused, Duration::from_millis(3), 1);
        stats.fail(&Failure::Status(503), Duration::from_millis(4), 1);
        let mut merged = Stats::new().unwrap();
        merged.merge(&stats);
        merged.merge(&stats);
        assert_eq!((merged.ok, merged.errors(), merged.connect), (2, 4, 2));
        assert_eq!(merged.failed.len(), 4);
        assert!(merged.failed.min() >= 2_990, "{}", merged.failed.min());
        assert_eq!(merged.kinds["connect: connection refused"], 2);
        assert_eq!(merged.status[&503], 2);
    }

    #[test]
    fn error_kinds_are_bounded() {
        let mut kinds = BTreeMap::new();
        for i in 0..MAX_KINDS + 5 {
            count_kind(&mut kinds, &format!("kind {i}"), 1);
        }
        assert_eq!(kinds.len(), MAX_KINDS + 1);
        assert_eq!(kinds["other"], 5);
    }
}
