//! The per-second timeline of a run: requests ended, errors and the latency of good requests
//! in each second (by end time), for the JSON report.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::stats::MAX_MICROS;

/// One second's requests; latencies with 2 significant digits, enough for p50 and p99.
#[derive(Debug, Clone, Default)]
struct Second {
    requests: u64,
    errors: u64,
    latency: Option<Histogram<u32>>,
}

/// Seconds since the run's start, each with what ended in it.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    seconds: Vec<Second>,
}

/// One second as the JSON report shows it.
#[derive(Debug, Serialize, PartialEq)]
pub struct Row {
    /// Seconds since the start (this row covers `second .. second + 1`).
    pub second: usize,
    /// Requests that ended in this second, good or not.
    pub requests: u64,
    /// Of these, failures.
    pub errors: u64,
    /// Median latency of the good ones, microseconds.
    pub p50_us: Option<u64>,
    /// 99th percentile latency of the good ones, microseconds.
    pub p99_us: Option<u64>,
}

impl Timeline {
    /// Counts a request ending in `second`: good with its latency, or failed.
    pub fn record(&mut self, second: usize, ok_micros: Option<u64>) {
        if self.seconds.len() <= second {
            self.seconds.resize_with(second + 1, Second::default);
        }
        let slot = &mut self.seconds[second];
        slot.requests += 1;
        let Some(micros) = ok_micros else {
            slot.errors += 1;
            return;
        };
        if slot.latency.is_none() {
            slot.latency = Histogram::new_with_bounds(1, MAX_MICROS, 2).ok();
        }
        if let Some(histogram) = &mut slot.latency {
            histogram.saturating_record(micros);
        }
    }

    /// Adds another worker's timeline.
    pub fn merge(&mut self, other: &Timeline) {
        if self.seconds.len() < other.seconds.len() {
            self.seconds
                .resize_with(other.seconds.len(), Second::default);
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(&other.seconds) {
            mine.requests += theirs.requests;
            mine.errors += theirs.errors;
            match (&mut mine.latency, &theirs.latency) {
                // Same bounds on both sides, so adding cannot fail.
                (Some(mine), Some(theirs)) => drop(mine.add(theirs)),
                (None, Some(theirs)) => mine.latency = Some(theirs.clone()),
                (_, None) => {}
            }
        }
    }

    /// The rows, one per second from the start to the last request's end.
    pub fn rows(&self) -> Vec<Row> {
        let quantile = |s: &Second, q| s.latency.as_ref().map(|h| h.value_at_quantile(q));
        self.seconds
            .iter()
            .enumerate()
            .map(|(second, s)| Row {
                second,
                requests: s.requests,
                errors: s.errors,
                p50_us: quantile(s, 0.5),
                p99_us: quantile(s, 0.99),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_merge_and_quiet_seconds_stay_empty() {
        let mut a = Timeline::default();
        a.record(0, Some(1_000));
        a.record(2, None);
        let mut b = Timeline::default();
        b.record(0, Some(3_000));
        a.merge(&b);
        let rows = a.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].requests, rows[0].errors), (2, 0));
        assert!(rows[0].p50_us.is_some_and(|p| (990..=1_010).contains(&p)));
        assert!(rows[0].p99_us.is_some_and(|p| (2_970..=3_030).contains(&p)));
        assert_eq!(
            rows[1],
            Row {
                second: 1,
                requests: 0,
                errors: 0,
                p50_us: None,
                p99_us: None
            }
        );
        assert_eq!((rows[2].errors, rows[2].p50_us), (1, None));
    }
}
