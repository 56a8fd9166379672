//! A fixed-bucket histogram in seconds, as Prometheus renders it: plain counters
//! owned by one worker, merged bucket by bucket when scraped.

use std::time::Duration;

/// Whole-request latency and time to first token: 5 ms to 2 minutes.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// What the gateway itself adds to a request: 50 µs to 100 ms.
pub const OVERHEAD_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];

/// Observations by bucket; `counts[i]` holds those `<= bounds[i]` and above the
/// bound before (not cumulative, so that merging is a plain sum), the last slot
/// those above every bound.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum_seconds: f64,
}

impl Histogram {
    /// An empty histogram over these bucket bounds (seconds, ascending).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum_seconds: 0.0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, value: Duration) {
        let seconds = value.as_secs_f64();
        let slot = self.bounds.partition_point(|&bound| bound < seconds);
        if let Some(count) = self.counts.get_mut(slot) {
            *count += 1;
        }
        self.sum_seconds += seconds;
    }

    /// Adds `other`'s observations; histograms of other buckets are skipped
    /// (never the case: every worker uses the same constants).
    pub fn merge(&mut self, other: &Histogram) {
        if self.bounds != other.bounds {
            return;
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.sum_seconds += other.sum_seconds;
    }

    /// Observations counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Sum of every observation, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_seconds
    }

    /// `(upper bound, cumulative count)` per bucket, `+Inf` last (as `f64::INFINITY`).
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut running = 0;
        let bounds = self.bounds.iter().copied().chain([f64::INFINITY]);
        bounds
            .zip(&self.counts)
            .map(|(bound, count)| {
                running += count;
                (bound, running)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut h = Histogram::new(&[0.01, 0.1]);
        h.observe(Duration::from_millis(10)); // on the bound: le="0.01"
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_secs(3));
        assert_eq!(h.cumulative(), [(0.01, 1), (0.1, 2), (f64::INFINITY, 3)]);
        assert_eq!(h.count(), 3);
        assert!((h.sum_seconds() - 3.06).abs() < 1e-9);
    }

    #[test]
    fn merge_adds_bucket_by_bucket() {
        let mut a = Histogram::new(LATENCY_BUCKETS);
        let mut b = Histogram::new(LATENCY_BUCKETS);
        a.observe(Duration::from_millis(1));
        b.observe(Duration::from_millis(1));
        b.observe(Duration::from_secs(500));
        a.merge(&b);
        let cumulative = a.cumulative();
        assert_eq!(cumulative[0], (0.005, 2));
        assert_eq!(cumulative.last(), Some(&(f64::INFINITY, 3)));
        let mut other = Histogram::new(OVERHEAD_BUCKETS);
        other.merge(&a);
        assert_eq!(other.count(), 0);
    }
}
