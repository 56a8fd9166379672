//! Tests of the per-worker metrics: recording, the series cap, publishing and
//! merging across workers, and the Prometheus text.

use super::*;

fn record<'a>(
    gateway: &'a str,
    model: &'a str,
    status: u16,
    cache: CacheStatus,
) -> RequestRecord<'a> {
    RequestRecord {
        gateway,
        provider: "openai",
        model,
        status,
        cache,
        tokens_in: Some(10),
        tokens_out: Some(20),
        cost: Some(0.5),
        duration: Duration::from_millis(40),
        ttft: Some(Duration::from_millis(8)),
        overhead: Some(Duration::from_micros(70)),
    }
}

#[test]
fn status_classes() {
    assert_eq!(status_class(200), "2xx");
    assert_eq!(status_class(429), "4xx");
    assert_eq!(status_class(503), "5xx");
    assert_eq!(status_class(0), "none");
    assert_eq!(status_class(999), "none");
}

#[test]
fn series_past_the_cap_go_to_the_overflow_row() {
    let mut series: Series<2, u64> = Series::default();
    for i in 0..MAX_SERIES + 50 {
        *series.slot(["openai", &format!("model-{i}")]) += 1;
    }
    assert_eq!(series.len(), MAX_SERIES + 1);
    let overflow: Vec<_> = series
        .rows()
        .filter(|(labels, _)| labels.iter().all(|l| &**l == OVERFLOW_LABEL))
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(overflow, [50]);
    // Known series still count in place once the cap is reached.
    *series.slot(["openai", "model-3"]) += 1;
    assert_eq!(series.len(), MAX_SERIES + 1);
}

#[test]
fn a_scrape_sees_only_what_workers_published_merged() {
    let hub = MetricsHub::new(2);
    let w0 = hub.worker(0);
    let w1 = hub.worker(1);
    w0.record_request(&record("gw", "gpt-4o", 200, CacheStatus::Miss));
    w1.record_request(&record("gw", "gpt-4o", 200, CacheStatus::Miss));
    w1.record_request(&record("gw", "gpt-4o", 200, CacheStatus::Hit));
    assert_eq!(hub.merged().latency.count(), 0, "nothing published yet");

    let generation = hub.request_publish();
    assert!(w0.publish_wanted() && w1.publish_wanted());
    assert!(!hub.published_since(generation));
    w0.set_pool(PoolStats {
        idle: 1,
        in_use: 2,
        connects: 3,
        reuses: 9,
    });
    w0.publish();
    assert!(
        !hub.published_since(generation),
        "worker 1 has not published"
    );
    w1.publish();
    assert!(hub.published_since(generation));
    assert!(!w0.publish_wanted());

    let merged = hub.merged();
    let requests: Vec<_> = merged
        .requests
        .rows()
        .map(|(l, v)| (l[3].to_string(), *v))
        .collect();
    assert_eq!(requests, [("miss".to_string(), 2), ("hit".to_string(), 1)]);
    let usage: Vec<_> = merged.usage.rows().map(|(_, u)| *u).collect();
    assert_eq!(
        usage,
        [UsageTotals {
            tokens_in: 30,
            tokens_out: 60,
            cost_usd: 1.5
        }]
    );
    assert_eq!(merged.latency.count(), 3);
    assert_eq!(merged.pool.reuses, 9);
}

#[test]
fn unknown_usage_adds_no_usage_series() {
    let mut snapshot = MetricsSnapshot::default();
    let mut r = record("gw", "m", 502, CacheStatus::None);
    r.tokens_in = None;
    r.tokens_out = None;
    r.cost = None;
    r.ttft = None;
    snapshot.record(&r);
    assert!(snapshot.usage.is_empty());
    assert_eq!(snapshot.ttft.count(), 0);
    assert_eq!(snapshot.latency.count(), 1);
}

#[test]
fn prometheus_text_has_families_labels_and_cumulative_buckets() {
    let mut snapshot = MetricsSnapshot::default();
    snapshot.record(&record("gw", "gpt-4o", 200, CacheStatus::Miss));
    snapshot.record(&record("gw", "gpt-4o", 200, CacheStatus::Miss));
    snapshot.pool = PoolStats {
        idle: 2,
        in_use: 1,
        connects: 1,
        reuses: 3,
    };
    let logs = LogCounters {
        dropped: 7,
        written: 5,
        failed: 0,
    };
    snapshot.limits.count_timeout(TimeoutKind::UpstreamIdle);
    snapshot.limits.body_budget_refusals = 4;
    let text = render_prometheus(&snapshot, Some(logs));
    for line in [
        "sluice_timeouts_total{kind=\"upstream_idle\"} 1",
        "sluice_timeouts_total{kind=\"client_header\"} 0",
        "sluice_body_budget_refusals_total 4",
        "# TYPE sluice_buffered_body_bytes gauge",
        "# TYPE sluice_requests_total counter",
        "sluice_requests_total{gateway=\"gw\",provider=\"openai\",status_class=\"2xx\",cache=\"miss\"} 2",
        "sluice_tokens_in_total{provider=\"openai\",model=\"gpt-4o\"} 20",
        "sluice_tokens_out_total{provider=\"openai\",model=\"gpt-4o\"} 40",
        "sluice_cost_usd_total{provider=\"openai\",model=\"gpt-4o\"} 1",
        "# TYPE sluice_request_duration_seconds histogram",
        "sluice_request_duration_seconds_bucket{le=\"0.025\"} 0",
        "sluice_request_duration_seconds_bucket{le=\"0.05\"} 2",
        "sluice_request_duration_seconds_bucket{le=\"+Inf\"} 2",
        "sluice_request_duration_seconds_count 2",
        "sluice_time_to_first_token_seconds_bucket{le=\"0.01\"} 2",
        "sluice_gateway_overhead_seconds_bucket{le=\"0.00005\"} 0",
        "sluice_gateway_overhead_seconds_bucket{le=\"0.0001\"} 2",
        "sluice_upstream_idle_connections 2",
        "sluice_upstream_reuse_ratio 0.75",
        "sluice_log_entries_dropped_total 7",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    let sum_line = text
        .lines()
        .find(|l| l.starts_with("sluice_request_duration_seconds_sum "))
        .unwrap();
    let sum: f64 = sum_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((sum - 0.08).abs() < 1e-9);
    // Every non-comment line is `name{labels} value` with a parsable value.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{line}");
    }
    assert!(!render_prometheus(&snapshot, None).contains("sluice_log_entries"));
}

#[test]
fn label_values_are_escaped() {
    let mut snapshot = MetricsSnapshot::default();
    snapshot.record(&record("gw", "a\"b\\c\nd", 200, CacheStatus::None));
    let text = render_prometheus(&snapshot, None);
    assert!(text.contains("model=\"a\\\"b\\\\c\\nd\"}"), "{text}");
}
