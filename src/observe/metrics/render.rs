//! The Prometheus text exposition format (version 0.0.4) of a merged snapshot:
//! `# HELP`/`# TYPE` per family, escaped label values, cumulative buckets.

use std::fmt::Write;

use super::{Histogram, LimitCounters, MetricsSnapshot, TimeoutKind};

/// The log writer's counters, shown beside the request metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogCounters {
    /// Entries dropped because the queue was full.
    pub dropped: u64,
    /// Entries stored.
    pub written: u64,
    /// Entries lost to a failed write.
    pub failed: u64,
}

/// Reads one usage family's value.
type UsageValue = fn(&super::UsageTotals) -> f64;

/// The whole `/metrics` body. `logs` is `None` when the request log is off.
pub fn render_prometheus(snapshot: &MetricsSnapshot, logs: Option<LogCounters>) -> String {
    let mut out = String::with_capacity(4096);
    family(
        &mut out,
        "sluice_requests_total",
        "counter",
        "Requests by gateway, provider, status class and cache status.",
    );
    for (labels, count) in snapshot.requests.rows() {
        let names = ["gateway", "provider", "status_class", "cache"];
        sample(
            &mut out,
            "sluice_requests_total",
            &names,
            labels,
            *count as f64,
        );
    }
    let usage_families: [(&str, &str, UsageValue); 3] = [
        (
            "sluice_tokens_in_total",
            "Input tokens by provider and model.",
            |u| u.tokens_in as f64,
        ),
        (
            "sluice_tokens_out_total",
            "Output tokens by provider and model.",
            |u| u.tokens_out as f64,
        ),
        (
            "sluice_cost_usd_total",
            "Cost in USD by provider and model (known prices only).",
            |u| u.cost_usd,
        ),
    ];
    for (name, help, value) in usage_families {
        family(&mut out, name, "counter", help);
        for (labels, usage) in snapshot.usage.rows() {
            sample(&mut out, name, &["provider", "model"], labels, value(usage));
        }
    }
    histogram(
        &mut out,
        "sluice_request_duration_seconds",
        "Request duration, arrival to last byte.",
        &snapshot.latency,
    );
    histogram(
        &mut out,
        "sluice_time_to_first_token_seconds",
        "Time from arrival to the first body byte of a response.",
        &snapshot.ttft,
    );
    histogram(
        &mut out,
        "sluice_gateway_overhead_seconds",
        "Time spent in the gateway itself, upstream time excluded.",
        &snapshot.overhead,
    );
    let pool = snapshot.pool;
    let checkouts = pool.connects + pool.reuses;
    let reuse_ratio = if checkouts == 0 {
        0.0
    } else {
        pool.reuses as f64 / checkouts as f64
    };
    let gauges = [
        (
            "sluice_upstream_idle_connections",
            "gauge",
            "Upstream connections idle in the pools.",
            pool.idle as f64,
        ),
        (
            "sluice_upstream_in_use_connections",
            "gauge",
            "Upstream connections checked out.",
            pool.in_use as f64,
        ),
        (
            "sluice_upstream_connects_total",
            "counter",
            "New upstream connections made.",
            pool.connects as f64,
        ),
        (
            "sluice_upstream_reuses_total",
            "counter",
            "Upstream checkouts served from a pool.",
            pool.reuses as f64,
        ),
        (
            "sluice_upstream_reuse_ratio",
            "gauge",
            "Share of upstream checkouts served from a pool.",
            reuse_ratio,
        ),
    ];
    for (name, kind, help, value) in gauges {
        family(&mut out, name, kind, help);
        sample::<&str>(&mut out, name, &[], &[], value);
    }
    limits(&mut out, &snapshot.limits);
    if let Some(logs) = logs {
        let counters = [
            (
                "sluice_log_entries_dropped_total",
                "Log entries dropped because the writer fell behind.",
                logs.dropped,
            ),
            (
                "sluice_log_entries_written_total",
                "Log entries stored.",
                logs.written,
            ),
            (
                "sluice_log_entries_failed_total",
                "Log entries lost to a failed write.",
                logs.failed,
            ),
        ];
        for (name, help, value) in counters {
            family(&mut out, name, "counter", help);
            sample::<&str>(&mut out, name, &[], &[], value as f64);
        }
    }
    out
}

fn limits(out: &mut String, limits: &LimitCounters) {
    let name = "sluice_timeouts_total";
    family(out, name, "counter", "Expired deadlines by kind.");
    for kind in TimeoutKind::ALL {
        let value = limits.timeouts(kind) as f64;
        sample(out, name, &["kind"], &[kind.label()], value);
    }
    let rows = [
        (
            "sluice_body_budget_refusals_total",
            "counter",
            "Requests refused (503) because max_buffered_body_bytes was spent.",
            limits.body_budget_refusals,
        ),
        (
            "sluice_accept_errors_total",
            "counter",
            "Failed accepts (out of file descriptors and the like).",
            limits.accept_errors,
        ),
        (
            "sluice_access_log_dropped_total",
            "counter",
            "Access-log lines dropped because the access-log thread fell behind.",
            limits.access_lines_dropped,
        ),
        (
            "sluice_buffered_body_bytes",
            "gauge",
            "Request-body bytes held in memory, all workers.",
            limits.buffered_body_bytes,
        ),
    ];
    for (name, kind, help, value) in rows {
        family(out, name, kind, help);
        sample::<&str>(out, name, &[], &[], value as f64);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `sluice_spend_usd{gateway,rule}`: each spend rule's spend in its current window,
/// summed over its partitions (rules, not partitions, as labels: bounded cardinality).
pub fn render_spend(rows: &[(String, String, f64)]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    family(
        &mut out,
        "sluice_spend_usd",
        "gauge",
        "US dollars spent in each spend rule's current window.",
    );
    for (gateway, rule, usd) in rows {
        let labels = [gateway.as_str(), rule.as_str()];
        sample(
            &mut out,
            "sluice_spend_usd",
            &["gateway", "rule"],
            &labels,
            *usd,
        );
    }
    out
}

fn sample<L: AsRef<str>>(out: &mut String, name: &str, names: &[&str], values: &[L], value: f64) {
    out.push_str(name);
    if !names.is_empty() {
        out.push('{');
        for (i, (label, value)) in names.iter().zip(values).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"");
            escape_label_value(out, value.as_ref());
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    number(out, value);
    out.push('\n');
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    family(out, name, "histogram", help);
    let bucket = format!("{name}_bucket");
    for (bound, count) in h.cumulative() {
        let mut le = String::new();
        number(&mut le, bound);
        sample(out, &bucket, &["le"], &[le], count as f64);
    }
    sample::<&str>(out, &format!("{name}_sum"), &[], &[], h.sum_seconds());
    sample::<&str>(out, &format!("{name}_count"), &[], &[], h.count() as f64);
}

/// Prometheus' spelling of a float: `+Inf`, `NaN`, else Rust's shortest form.
fn number(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Backslash, double quote and line feed are escaped in label values.
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
