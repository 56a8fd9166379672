//! The report as text, the way oha and wrk print theirs: summary, latency table (milliseconds),
//! histogram, status codes, error kinds and the first error body.

use std::fmt::Write;

use super::config::{Bound, LoadShape};
use super::report::Report;

/// Width of the longest histogram bar.
const BAR: u64 = 40;

impl Report<'_> {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.summary(&mut out);
        self.latencies(&mut out);
        self.bars(&mut out);
        self.statuses(&mut out);
        out
    }

    fn summary(&self, out: &mut String) {
        let c = self.config;
        let shape = match c.shape {
            LoadShape::Closed { concurrency } => format!("closed loop, {concurrency} connections"),
            LoadShape::Open { rate, connections } => {
                format!("open loop at {rate} req/s, up to {connections} connections")
            }
        };
        let bound = match c.bound {
            Bound::Duration(s) => format!("{s} s"),
            Bound::Requests(n) => format!("{n} requests"),
        };
        let _ = writeln!(out, "Target:     {} {} ({})", c.method, c.url, c.addr);
        let _ = writeln!(
            out,
            "Load:       {shape}, {bound}, {} worker{} ({})",
            c.workers,
            if c.workers == 1 { "" } else { "s" },
            self.driver
        );
        let _ = write!(
            out,
            "Requests:   {} in {:.2} s: {} ok, {} errors ({:.2}%); achieved {:.1} req/s",
            self.requests,
            self.elapsed_s,
            self.ok,
            self.errors.total,
            self.error_rate * 100.0,
            self.achieved_rate
        );
        if let Some(rate) = self.offered_rate {
            let _ = write!(out, " (offered {rate:.1} req/s)");
        }
        let _ = writeln!(
            out,
            "\nData:       received {} ({}/s), sent {}",
            bytes(self.bytes_received as f64),
            bytes(self.received_per_s),
            bytes(self.bytes_sent as f64)
        );
        if c.stream {
            let _ = writeln!(
                out,
                "Chunks:     {} ({:.0}/s)",
                self.chunks, self.chunks_per_s
            );
        }
    }

    fn latencies(&self, out: &mut String) {
        let rows = [
            ("ok", &self.latency_us),
            ("ttft", &self.ttft_us),
            ("inter-chunk", &self.inter_chunk_us),
            ("total", &self.total_us),
            ("failed", &self.failed_us),
        ];
        if rows.iter().all(|(_, s)| s.is_none()) {
            return;
        }
        let _ = writeln!(
            out,
            "\n{:<14}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>9}",
            "Latency (ms)", "mean", "min", "p50", "p90", "p99", "p99.9", "max", "count"
        );
        for (name, summary) in rows {
            if let Some(s) = summary {
                let _ = writeln!(
                    out,
                    "  {name:<12}{:>10.3}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>9}",
                    s.mean / 1000.0,
                    ms(s.min),
                    ms(s.p50),
                    ms(s.p90),
                    ms(s.p99),
                    ms(s.p999),
                    ms(s.max),
                    s.count
                );
            }
        }
        if self.latency_us.is_none() && self.total_us.is_none() {
            let _ = writeln!(
                out,
                "  (no request succeeded, so no latency of good requests)"
            );
        }
    }

    fn bars(&self, out: &mut String) {
        let Some(most) = self.histogram.iter().map(|b| b.count).max() else {
            return;
        };
        let what = if self.config.stream {
            "whole stream"
        } else {
            "good requests"
        };
        let _ = writeln!(out, "\nLatency histogram ({what}, ms):");
        for bucket in &self.histogram {
            let bar = (bucket.count * BAR).div_ceil(most.max(1)) as usize;
            let _ = writeln!(
                out,
                "  {:>10} [{:>8}] {}",
                ms(bucket.upper_us),
                bucket.count,
                "■".repeat(bar)
            );
        }
    }

    fn statuses(&self, out: &mut String) {
        if !self.status_codes.is_empty() {
            let _ = writeln!(out, "\nStatus codes:");
            for (code, count) in &self.status_codes {
                let _ = writeln!(out, "  [{code}] {count} responses");
            }
        }
        let e = &self.errors;
        if !e.kinds.is_empty() || !e.status.is_empty() {
            let _ = writeln!(out, "\nErrors:");
            for (code, count) in &e.status {
                let _ = writeln!(out, "  [{count:>8}] status {code}");
            }
            for (kind, count) in &e.kinds {
                let _ = writeln!(out, "  [{count:>8}] {kind}");
            }
        }
        if let Some(sample) = &e.sample {
            let cut = if sample.truncated { ", truncated" } else { "" };
            let _ = writeln!(
                out,
                "\nFirst error response: status {}, {} body bytes{cut}:\n  {}",
                sample.status,
                sample.body_bytes,
                sample.body.trim_end().replace('\n', "\n  ")
            );
        }
    }
}

/// Microseconds as milliseconds with three decimals.
fn ms(micros: u64) -> String {
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

/// A byte count in binary units.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(ms(1_234_567), "1234.567");
        assert_eq!(ms(5), "0.005");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.50 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0), "3.00 MiB");
    }
}
