//! The report of a run as data: summaries, failures by kind and status, the sample error body,
//! bytes, the latency histogram and the timeline; serialised as the `--json` report.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::config::{LoadConfig, LoadShape};
use super::stats::Stats;
use super::timeline::Row;

/// Buckets of the latency histogram, as oha draws it.
const HISTOGRAM_BUCKETS: u64 = 11;

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Smallest.
    pub min: u64,
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
    /// The summary of `h`; `None` without samples, so no latency is ever shown as 0.
    fn of(h: &Histogram<u64>) -> Option<Self> {
        (!h.is_empty()).then(|| Self {
            count: h.len(),
            mean: h.mean(),
            min: h.min(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        })
    }
}

/// One bar of the latency histogram: requests at most `upper_us`, above the previous bar.
#[derive(Debug, Serialize)]
pub struct Bucket {
    /// Upper bound, microseconds.
    pub upper_us: u64,
    /// Requests in the bucket.
    pub count: u64,
}

/// Equal-width buckets from the fastest to the slowest request.
fn buckets(h: &Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let (low, high) = (h.min(), h.max());
    let width = (high - low).div_ceil(HISTOGRAM_BUCKETS).max(1);
    let count = (high - low).div_ceil(width).max(1);
    let mut out: Vec<Bucket> = (1..=count)
        .map(|i| Bucket {
            upper_us: low + width * i,
            count: 0,
        })
        .collect();
    for value in h.iter_recorded() {
        // Bucket i holds (low + width * i, low + width * (i + 1)]; the first also holds low.
        let v = value.value_iterated_to().clamp(low, high);
        let index = ((v - low).saturating_sub(1) / width).min(count - 1) as usize;
        out[index].count += value.count_at_value();
    }
    out
}

/// The sample error body.
#[derive(Debug, Serialize)]
pub struct SampleReport {
    /// Its status.
    pub status: u16,
    /// Its first bytes, as text (invalid UTF-8 replaced).
    pub body: String,
    /// The whole body's length.
    pub body_bytes: u64,
    /// Whether `body` is only the start.
    pub truncated: bool,
}

/// Failures by kind.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    /// All failures.
    pub total: u64,
    /// Connect and TLS handshake failures.
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
    /// Failures other than a status, by description ("connect: connection refused").
    pub kinds: BTreeMap<String, u64>,
    /// The start of the first failing response's body.
    pub sample: Option<SampleReport>,
}

/// The full report of a run.
#[derive(Debug, Serialize)]
pub struct Report<'c> {
    /// The run's settings.
    pub config: &'c LoadConfig,
    /// The IO driver of the workers ("io_uring" or "epoll").
    pub driver: &'static str,
    /// Wall time from start until the last request ended.
    pub elapsed_s: f64,
    /// Requests that ended, good or not.
    pub requests: u64,
    /// Requests that ended well.
    pub ok: u64,
    /// Failures.
    pub errors: ErrorReport,
    /// Failures over requests (0 without requests).
    pub error_rate: f64,
    /// Complete responses by status code, good or not.
    pub status_codes: BTreeMap<u16, u64>,
    /// Requests per second asked for (open loop).
    pub offered_rate: Option<f64>,
    /// Responses (good or not) per second achieved.
    pub achieved_rate: f64,
    /// Latency of good non-streaming requests.
    pub latency_us: Option<Summary>,
    /// Time to first token.
    pub ttft_us: Option<Summary>,
    /// Gap between consecutive content chunks.
    pub inter_chunk_us: Option<Summary>,
    /// Whole stream, good streams.
    pub total_us: Option<Summary>,
    /// Time until each failed request failed.
    pub failed_us: Option<Summary>,
    /// Good requests' latency (whole stream with `--stream`) in equal-width buckets.
    pub histogram: Vec<Bucket>,
    /// Content chunks over all good streams.
    pub chunks: u64,
    /// Content chunks per second over the run.
    pub chunks_per_s: f64,
    /// Bytes read: response heads and bodies (after TLS).
    pub bytes_received: u64,
    /// Bytes of requests written.
    pub bytes_sent: u64,
    /// `bytes_received` per second.
    pub received_per_s: f64,
    /// Per second of the run: requests, errors, p50 and p99.
    pub timeline: Vec<Row>,
}

impl<'c> Report<'c> {
    /// Builds the report of merged `stats` over `elapsed`.
    pub fn new(
        config: &'c LoadConfig,
        driver: &'static str,
        stats: &Stats,
        elapsed: Duration,
    ) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let errors = stats.errors();
        let requests = stats.ok + errors;
        let responses = stats.ok + stats.status.values().sum::<u64>();
        let summary = |h: &Histogram<u64>, wanted: bool| wanted.then(|| Summary::of(h)).flatten();
        let good = if config.stream {
            &stats.total
        } else {
            &stats.latency
        };
        Self {
            config,
            driver,
            elapsed_s: elapsed.as_secs_f64(),
            requests,
            ok: stats.ok,
            errors: ErrorReport {
                total: errors,
                connect: stats.connect,
                status: stats.status.clone(),
                timeout: stats.timeout,
                short_stream: stats.short_stream,
                corrupt_stream: stats.corrupt_stream,
                io: stats.io,
                kinds: stats.kinds.clone(),
                sample: stats.sample.as_ref().map(|s| SampleReport {
                    status: s.status,
                    body: String::from_utf8_lossy(&s.body).into_owned(),
                    body_bytes: s.body_bytes,
                    truncated: (s.body.len() as u64) < s.body_bytes,
                }),
            },
            error_rate: if requests == 0 {
                0.0
            } else {
                errors as f64 / requests as f64
            },
            status_codes: stats.status_codes.clone(),
            offered_rate: match config.shape {
                LoadShape::Open { rate, .. } => Some(rate),
                LoadShape::Closed { .. } => None,
            },
            achieved_rate: responses as f64 / secs,
            latency_us: summary(&stats.latency, !config.stream),
            ttft_us: summary(&stats.ttft, config.stream),
            inter_chunk_us: summary(&stats.gap, config.stream),
            total_us: summary(&stats.total, config.stream),
            failed_us: Summary::of(&stats.failed),
            histogram: buckets(good),
            chunks: stats.chunks,
            chunks_per_s: stats.chunks as f64 / secs,
            bytes_received: stats.bytes_received,
            bytes_sent: stats.bytes_sent,
            received_per_s: stats.bytes_received as f64 / secs,
            timeline: stats.timeline.rows(),
        }
    }

    /// Why the run counts as failed, if it does: nothing answered, no request ended, or more
    /// failures than `--max-error-rate` allows.
    pub fn verdict(&self) -> Result<(), String> {
        let e = &self.errors;
        if self.requests == 0 {
            return Err("no request ended within the run".to_owned());
        }
        if self.status_codes.is_empty() {
            let (kind, count) = e
                .kinds
                .iter()
                .max_by_key(|(_, count)| **count)
                .map_or(("no response", 0), |(k, c)| (k.as_str(), *c));
            return Err(format!(
                "no response from {} ({}): {kind} ({count} of {} attempts)",
                self.config.url, self.config.addr, self.requests
            ));
        }
        if self.error_rate > self.config.max_error_rate {
            return Err(format!(
                "{} of {} requests failed ({:.2}%), more than --max-error-rate {} allows",
                e.total,
                self.requests,
                self.error_rate * 100.0,
                self.config.max_error_rate
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_min_to_max() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in [100, 150, 200, 1_200] {
            h.record(v).unwrap();
        }
        let b = buckets(&h);
        assert_eq!(b.len(), 11);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 4);
        assert_eq!(b[0].count, 3, "{b:?}");
        assert_eq!(b[10].count, 1);
        assert!(b[10].upper_us >= 1_200);
        let mut one = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        one.record(500).unwrap();
        one.record(500).unwrap();
        let b = buckets(&one);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].count, 2);
        assert!(Summary::of(&Histogram::<u64>::new(3).unwrap()).is_none());
    }
}
