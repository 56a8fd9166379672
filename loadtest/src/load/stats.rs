//! What a run measured: per-worker histograms (microseconds) and outcome counts, merged at the
//! end into the report printed as text and written as JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::config::{LoadConfig, LoadShape};
use crate::error::ToolError;

/// Highest latency recorded exactly: one hour, in microseconds.
const MAX_MICROS: u64 = 3_600_000_000;

/// How one request ended, when it did not end well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Could not connect.
    Connect,
    /// A complete response with a non-2xx status.
    Status(u16),
    /// No complete response within `--timeout-ms`.
    Timeout,
    /// A stream that ended without `data: [DONE]`.
    ShortStream,
    /// A stream whose content events were not `--expect-chunks` in order.
    CorruptStream,
    /// A socket error or an unparsable response.
    Io,
}

/// One worker's (or, merged, the run's) measurements.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Non-streaming latency.
    pub latency: Histogram<u64>,
    /// Time to first content event.
    pub ttft: Histogram<u64>,
    /// Gaps between consecutive content events.
    pub gap: Histogram<u64>,
    /// Whole stream time.
    pub total: Histogram<u64>,
    /// Requests that ended well.
    pub ok: u64,
    /// Content events over all good streams.
    pub chunks: u64,
    /// Failures by kind (status failures by code).
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
}

impl Stats {
    /// Empty measurements.
    pub fn new() -> Result<Self, ToolError> {
        let histogram = || Histogram::new_with_bounds(1, MAX_MICROS, 3);
        Ok(Self {
            latency: histogram()?,
            ttft: histogram()?,
            gap: histogram()?,
            total: histogram()?,
            ok: 0,
            chunks: 0,
            connect: 0,
            timeout: 0,
            short_stream: 0,
            corrupt_stream: 0,
            io: 0,
            status: BTreeMap::new(),
        })
    }
}

/// Records a duration in microseconds, clamped into the histogram's range.
pub fn record(histogram: &mut Histogram<u64>, duration: Duration) {
    let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, MAX_MICROS));
}

impl Stats {
    /// Counts one failure.
    pub fn fail(&mut self, failure: Failure) {
        match failure {
            Failure::Connect => self.connect += 1,
            Failure::Status(code) => *self.status.entry(code).or_default() += 1,
            Failure::Timeout => self.timeout += 1,
            Failure::ShortStream => self.short_stream += 1,
            Failure::CorruptStream => self.corrupt_stream += 1,
            Failure::Io => self.io += 1,
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
    }
}

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl Summary {
    fn of(h: &Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// Failures by kind.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    /// All failures.
    pub total: u64,
    /// Connect failures.
    pub connect: u64,
    /// Non-2xx responses by status code.
    pub status: BTreeMap<u16, u64>,
    /// Timeouts.
    pub timeout: u64,
    /// Streams without `[DONE]`.
    pub short_stream: u64,
    /// Streams with lost or reordered content.
    pub corrupt_stream: u64,
    /// Socket errors and bad responses.
    pub io: u64,
}

/// The full report of a run.
#[derive(Debug, Serialize)]
pub struct Report<'c> {
    /// The run's settings.
    pub config: &'c LoadConfig,
    /// Wall time from start until the last request ended.
    pub elapsed_s: f64,
    /// Requests that ended well.
    pub ok: u64,
    /// Failures.
    pub errors: ErrorReport,
    /// Requests per second asked for (open loop).
    pub offered_rate: Option<f64>,
    /// Responses (good or not) per second achieved.
    pub achieved_rate: f64,
    /// Non-streaming latency.
    pub latency_us: Option<Summary>,
    /// Time to first token.
    pub ttft_us: Option<Summary>,
    /// Gap between consecutive content chunks.
    pub inter_chunk_us: Option<Summary>,
    /// Whole stream.
    pub total_us: Option<Summary>,
    /// Content chunks over all good streams.
    pub chunks: u64,
    /// Content chunks per second over the run.
    pub chunks_per_s: f64,
}

impl<'c> Report<'c> {
    /// Builds the report of merged `stats` over `elapsed`.
    pub fn new(config: &'c LoadConfig, stats: &Stats, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let responses = stats.ok + stats.status.values().sum::<u64>();
        let summary = |h: &Histogram<u64>, wanted: bool| wanted.then(|| Summary::of(h));
        Self {
            config,
            elapsed_s: elapsed.as_secs_f64(),
            ok: stats.ok,
            errors: ErrorReport {
                total: stats.errors(),
                connect: stats.connect,
                status: stats.status.clone(),
                timeout: stats.timeout,
                short_stream: stats.short_stream,
                corrupt_stream: stats.corrupt_stream,
                io: stats.io,
            },
            offered_rate: match config.shape {
                LoadShape::Open { rate, .. } => Some(rate),
                LoadShape::Closed { .. } => None,
            },
            achieved_rate: responses as f64 / secs,
            latency_us: summary(&stats.latency, !config.stream),
            ttft_us: summary(&stats.ttft, config.stream),
            inter_chunk_us: summary(&stats.gap, config.stream),
            total_us: summary(&stats.total, config.stream),
            chunks: stats.chunks,
            chunks_per_s: stats.chunks as f64 / secs,
        }
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} for {:.2}s: {} ok, {} errors; achieved {:.1} req/s",
            self.config.url, self.elapsed_s, self.ok, self.errors.total, self.achieved_rate
        );
        if let Some(rate) = self.offered_rate {
            out.push_str(&format!(" (offered {rate:.1} req/s)"));
        }
        out.push('\n');
        let e = &self.errors;
        if e.total > 0 {
            out.push_str(&format!(
                "errors: connect {} timeout {} short_stream {} corrupt_stream {} io {} status {:?}\n",
                e.connect, e.timeout, e.short_stream, e.corrupt_stream, e.io, e.status
            ));
        }
        out.push_str(&format!(
            "{:<12}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}   (microseconds)\n",
            "", "mean", "p50", "p90", "p99", "p99.9", "max"
        ));
        let rows = [
            ("latency", &self.latency_us),
            ("ttft", &self.ttft_us),
            ("inter-chunk", &self.inter_chunk_us),
            ("total", &self.total_us),
        ];
        for (name, summary) in rows {
            if let Some(s) = summary {
                out.push_str(&format!(
                    "{name:<12}{:>10.0}{:>10}{:>10}{:>10}{:>10}{:>10}\n",
                    s.mean, s.p50, s.p90, s.p99, s.p999, s.max
                ));
            }
        }
        if self.config.stream {
            out.push_str(&format!(
                "chunks: {} ({:.0}/s)\n",
                self.chunks, self.chunks_per_s
            ));
        }
        out
    }
}
