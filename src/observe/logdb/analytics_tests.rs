//! Tests of the analytics scan: buckets, sums, percentiles and groups over hand-set
//! entries, and (ignored: run with `--release --ignored`) a week of a million entries.

use std::time::Instant;

use super::writer_tests::sample;
use super::*;

const HOUR: i64 = 3_600_000;
/// A whole UTC day, so that buckets start where the entries do.
const T0: i64 = 1_700_006_400_000;

fn query(from: i64, to: i64, bucket: Bucket, group_by: Vec<GroupBy>) -> AnalyticsQuery {
    AnalyticsQuery {
        filter: LogFilter {
            gateway: Some("gw".into()),
            ..LogFilter::default()
        },
        from,
        to,
        bucket,
        group_by,
    }
}

/// Entries at T0 + (hour, ms): provider, status, cached, duration, ttft, tokens, cost, token.
fn seeded() -> (tempfile::TempDir, LogStore) {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(64);
    type Row = (
        i64,
        &'static str,
        u16,
        bool,
        u64,
        Option<u64>,
        u64,
        Option<f64>,
        &'static str,
    );
    let rows: [Row; 6] = [
        (
            0,
            "openai",
            200,
            false,
            100,
            Some(10),
            30,
            Some(0.5),
            "tok-a",
        ),
        (0, "openai", 200, true, 5, None, 30, Some(0.0), "tok-a"),
        (0, "anthropic", 500, false, 300, Some(50), 0, None, ""),
        (
            2,
            "openai",
            200,
            false,
            200,
            Some(20),
            60,
            Some(1.0),
            "tok-b",
        ),
        (2, "groq", 429, false, 10, None, 0, None, "tok-b"),
        // Outside the range asked for below.
        (
            5,
            "openai",
            200,
            false,
            100,
            Some(10),
            30,
            Some(9.0),
            "tok-a",
        ),
    ];
    for (n, (hour, provider, status, cached, duration, ttft, tokens, cost, token)) in
        rows.into_iter().enumerate()
    {
        let mut entry = sample(0, "gw");
        entry.id = LogId::new(T0 + hour * HOUR + n as i64);
        entry.created_at = T0 + hour * HOUR + n as i64;
        entry.provider = provider.into();
        entry.status = status;
        entry.success = status == 200;
        entry.cached = cached;
        entry.duration_ms = duration;
        entry.ttft_ms = ttft;
        entry.tokens_in = Some(tokens / 3);
        entry.tokens_out = Some(tokens - tokens / 3);
        entry.cost = cost;
        entry.access_token = token.into();
        assert!(sender.try_log(entry, 100));
    }
    let mut other = sample(1, "other");
    other.created_at = T0 + 1;
    other.id = LogId::new(T0 + 1);
    assert!(sender.try_log(other, 100));
    pending.start().unwrap().shutdown().unwrap();
    (dir, db.store().unwrap())
}

#[test]
fn buckets_sum_and_rank_the_range() {
    let (_dir, store) = seeded();
    let groups = vec![GroupBy::Provider, GroupBy::Token, GroupBy::Status];
    let answer = store
        .analytics(&query(T0, T0 + 4 * HOUR, Bucket::Hour, groups))
        .unwrap();
    let starts: Vec<i64> = answer.series.iter().map(|(start, _)| *start).collect();
    assert_eq!(starts, [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]);
    let requests: Vec<u64> = answer.series.iter().map(|(_, s)| s.requests).collect();
    assert_eq!(requests, [3, 0, 2, 0], "empty buckets are there, zeroed");
    let first = &answer.series[0].1;
    assert_eq!((first.errors, first.cached), (1, 1));
    assert_eq!((first.tokens_in, first.tokens_out), (20, 40));
    assert!((first.cost - 0.5).abs() < 1e-9);
    // Nearest rank over 5, 100, 300: the median is 100, p99 the largest.
    assert_eq!(
        (first.duration_p50_ms, first.duration_p99_ms),
        (Some(100), Some(300))
    );
    // Only entries with a time to first token count for its percentiles.
    assert_eq!((first.ttft_p50_ms, first.ttft_p99_ms), (Some(10), Some(50)));
    assert_eq!(answer.series[1].1, Stats::default());

    let totals = &answer.totals;
    assert_eq!((totals.requests, totals.errors, totals.cached), (5, 2, 1));
    assert!(
        (totals.cost - 1.5).abs() < 1e-9,
        "the entry at hour 5 is out"
    );
    assert_eq!(totals.duration_p50_ms, Some(100));

    let keys = |i: usize| -> Vec<(String, u64)> {
        answer.groups[i]
            .1
            .iter()
            .map(|g| (g.key.clone(), g.stats.requests))
            .collect()
    };
    assert_eq!(answer.groups[0].0, GroupBy::Provider);
    let provider_keys = keys(0);
    assert_eq!(
        provider_keys[0],
        ("openai".to_string(), 3),
        "most requests first"
    );
    assert_eq!(provider_keys.len(), 3);
    assert_eq!(
        keys(1),
        [("tok-a".into(), 2), ("tok-b".into(), 2), (String::new(), 1)]
    );
    assert_eq!(
        keys(2),
        [("200".into(), 3), ("429".into(), 1), ("500".into(), 1)]
    );
}

#[test]
fn filters_and_minute_buckets() {
    let (_dir, store) = seeded();
    let mut q = query(T0, T0 + 3 * HOUR, Bucket::Minute, vec![GroupBy::Model]);
    q.filter.provider = Some("openai".into());
    let answer = store.analytics(&q).unwrap();
    assert_eq!(answer.series.len(), 180);
    assert_eq!(answer.totals.requests, 3);
    assert_eq!(answer.series[0].1.requests, 2);
    assert_eq!(answer.series[120].1.requests, 1);
    assert_eq!(answer.groups[0].1[0].key, "openai/gpt-4o-mini");
}

#[test]
fn refuses_empty_ranges_and_too_many_buckets() {
    let (_dir, store) = seeded();
    for q in [
        query(T0, T0, Bucket::Hour, vec![]),
        query(T0, T0 + 30 * 86_400_000, Bucket::Minute, vec![]),
    ] {
        assert!(matches!(store.analytics(&q), Err(LogDbError::BadQuery(_))));
    }
    assert_eq!(Bucket::for_span(HOUR), Bucket::Minute);
    assert_eq!(Bucket::for_span(7 * 24 * HOUR), Bucket::Hour);
    assert_eq!(Bucket::for_span(30 * 24 * HOUR), Bucket::Day);
}

/// A week of 1,000,000 entries (about 1.65 a second) written through the real writer:
/// the whole week by hour, with three top tables, within 200 ms. Ignored by default
/// (filling takes a while); run with
/// `cargo test --release --lib analytics_week -- --ignored --nocapture`.
#[test]
#[ignore]
fn analytics_week_of_a_million_entries() {
    const ENTRIES: i64 = 1_000_000;
    const WEEK: i64 = 7 * 86_400_000;
    let dir = tempfile::tempdir().unwrap();
    // SLUICE_KEEP_ANALYTICS_DB=DIR keeps the filled logs.db there, to look at it afterwards.
    let kept = std::env::var_os("SLUICE_KEEP_ANALYTICS_DB").map(std::path::PathBuf::from);
    let db = LogDb::open(kept.as_deref().unwrap_or(dir.path())).unwrap();
    let (sender, pending) = db.writer(MAX_BATCH * 4);
    let writer = pending.start().unwrap();
    let filling = Instant::now();
    let providers = [
        "openai",
        "anthropic",
        "groq",
        "google-ai-studio",
        "workers-ai",
    ];
    for n in 0..ENTRIES {
        let mut entry = sender.blank();
        *entry = sample(0, "gw");
        let at = T0 + n * WEEK / ENTRIES;
        entry.created_at = at;
        entry.id = LogId::new(at);
        entry.provider = providers[(n % 5) as usize].into();
        entry.model = format!("{}/model-{}", entry.provider, n % 12);
        entry.status = if n % 50 == 0 { 500 } else { 200 };
        entry.success = entry.status == 200;
        entry.cached = n % 7 == 0;
        entry.duration_ms = 50 + (n * 7919 % 2000) as u64;
        entry.ttft_ms = Some(10 + (n * 104_729 % 500) as u64);
        entry.access_token = format!("token-{}", n % 20);
        while !sender.try_log(entry.clone(), u64::MAX) {
            writer.flush().unwrap();
        }
    }
    writer.shutdown().unwrap();
    eprintln!("filled {ENTRIES} entries in {:?}", filling.elapsed());
    let store = db.store().unwrap();
    let groups = vec![GroupBy::Provider, GroupBy::Model, GroupBy::Token];
    let q = query(T0, T0 + WEEK, Bucket::Hour, groups);
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let answer = store.analytics(&q).unwrap();
        times.push(started.elapsed());
        assert_eq!(answer.totals.requests, ENTRIES as u64);
        assert_eq!(answer.series.len(), 168);
        assert_eq!(answer.groups[2].1.len(), 20);
    }
    eprintln!("analytics over a week of {ENTRIES} entries: {times:?}");
    let best = times.iter().min().copied().unwrap_or_default();
    if !cfg!(debug_assertions) {
        assert!(best.as_millis() <= 200, "{best:?}");
    }
}
