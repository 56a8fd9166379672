//! Tests of the log writer on a temporary directory: round trip, batching,
//! drop-and-count on a full queue, retention, and logs surviving a restart.

use super::*;

/// A fully set entry; `n` makes it distinct and orders it in time.
pub(super) fn sample(n: i64, gateway: &str) -> LogEntry {
    LogEntry {
        id: format!("log-{gateway}-{n:05}"),
        event_id: format!("event-{n}"),
        created_at: 1_700_000_000_000 + n,
        gateway: gateway.into(),
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        path: "/v1/acct/gw/compat/chat/completions".into(),
        status: 200,
        success: true,
        cached: false,
        stream: true,
        duration_ms: 120,
        ttft_ms: Some(35),
        tokens_in: Some(10),
        tokens_out: Some(20),
        cost: Some(1.35e-5),
        custom_cost: false,
        metadata: r#"{"user":"u1"}"#.into(),
        request_size: 300,
        response_size: 4000,
        user_agent: "OpenAI/Python 1.0".into(),
        feedback: None,
        score: None,
        request_body: Some(br#"{"model":"openai/gpt-4o-mini"}"#.to_vec()),
        response_body: Some(b"data: [DONE]\n\n".to_vec()),
    }
}

fn temp_db() -> (tempfile::TempDir, LogDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(&dir.path().join("data")).unwrap();
    (dir, db)
}

fn created_ats(store: &LogStore, gateway: &str) -> Vec<i64> {
    let query = ListQuery {
        filter: LogFilter {
            gateway: Some(gateway.into()),
            ..LogFilter::default()
        },
        direction: Direction::Asc,
        per_page: MAX_PER_PAGE,
        ..ListQuery::default()
    };
    let list = store.list(&query).unwrap();
    list.entries
        .iter()
        .map(|e| e.created_at - 1_700_000_000_000)
        .collect()
}

#[test]
fn round_trip_keeps_every_field() {
    let (_dir, db) = temp_db();
    assert!(db.path().ends_with("data/logs.db"));
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    let mut entry = sample(1, "gw");
    entry.ttft_ms = None;
    entry.cost = None;
    entry.feedback = Some(-1);
    entry.score = Some(42.5);
    assert!(sender.try_log(entry.clone(), 100));
    assert!(sender.try_log(sample(2, "gw"), 100));
    writer.flush().unwrap();

    let store = db.store().unwrap();
    assert_eq!(store.get(&entry.id).unwrap(), Some(entry.clone()));
    assert_eq!(store.get("no-such-id").unwrap(), None);
    // Listing leaves the bodies out, and only them.
    let listed = store.list(&ListQuery::default()).unwrap();
    assert_eq!(listed.entries.len(), 2);
    let mut without_bodies = entry;
    without_bodies.request_body = None;
    without_bodies.response_body = None;
    assert_eq!(listed.entries[1], without_bodies);
    assert_eq!(writer.stats().written(), 2);
}

#[test]
fn queued_entries_are_written_in_batches() {
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(2000);
    // Queued before the thread starts, so the batch boundaries are known.
    for n in 0..1000 {
        assert!(sender.try_log(sample(n, "gw"), u64::MAX));
    }
    let writer = pending.start().unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.stats().written(), 1000);
    assert_eq!(writer.stats().batches(), 2, "512 + 488");
    assert_eq!(MAX_BATCH, 512);
    let totals = db.store().unwrap().totals(&LogFilter::default()).unwrap();
    assert_eq!(totals.requests, 1000);
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(4);
    let accepted: Vec<bool> = (0..7)
        .map(|n| sender.try_log(sample(n, "gw"), 100))
        .collect();
    assert_eq!(accepted, [true, true, true, true, false, false, false]);
    assert_eq!(sender.stats().dropped(), 3);
    let writer = pending.start().unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.stats().written(), 4);
    assert_eq!(created_ats(&db.store().unwrap(), "gw"), [0, 1, 2, 3]);
}

#[test]
fn a_writer_never_started_drops_and_counts() {
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(4);
    drop(pending);
    assert!(!sender.try_log(sample(0, "gw"), 100));
    assert_eq!(sender.stats().dropped(), 1);
}

#[test]
fn retention_keeps_the_newest_per_gateway() {
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(64);
    let writer = pending.start().unwrap();
    let store = db.store().unwrap();
    // Logged out of time order: "oldest" is by created_at, not arrival.
    for n in [3, 1, 5, 2, 4] {
        assert!(sender.try_log(sample(n, "a"), 3));
    }
    for n in [1, 2] {
        assert!(sender.try_log(sample(n, "b"), 3));
    }
    writer.flush().unwrap();
    assert_eq!(created_ats(&store, "a"), [3, 4, 5]);
    assert_eq!(created_ats(&store, "b"), [1, 2]);
    assert_eq!(writer.stats().trimmed(), 2);

    assert!(sender.try_log(sample(6, "a"), 3));
    writer.flush().unwrap();
    assert_eq!(created_ats(&store, "a"), [4, 5, 6]);

    // After a delete through the store the writer recounts: a stale count of 3
    // would trim one entry too many here.
    let old = LogFilter {
        gateway: Some("a".into()),
        created_to: Some(1_700_000_000_005),
        ..LogFilter::default()
    };
    assert_eq!(store.delete(&old).unwrap(), 1);
    assert!(sender.try_log(sample(7, "a"), 3));
    writer.flush().unwrap();
    assert_eq!(created_ats(&store, "a"), [5, 6, 7]);

    // A lower limit from a config reload applies to the next batch.
    assert!(sender.try_log(sample(8, "a"), 1));
    writer.flush().unwrap();
    assert_eq!(created_ats(&store, "a"), [8]);
    assert_eq!(created_ats(&store, "b"), [1, 2]);
}

#[test]
fn logs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = LogDb::open(dir.path()).unwrap();
        let (sender, pending) = db.writer(16);
        let writer = pending.start().unwrap();
        for n in 0..3 {
            assert!(sender.try_log(sample(n, "gw"), 3));
        }
        // No flush: shutting down writes what is queued.
        writer.shutdown().unwrap();
    }
    let db = LogDb::open(dir.path()).unwrap();
    let store = db.store().unwrap();
    assert_eq!(created_ats(&store, "gw"), [0, 1, 2]);
    assert_eq!(store.get("log-gw-00001").unwrap(), Some(sample(1, "gw")));
    // The new writer counts what is already there for retention.
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    assert!(sender.try_log(sample(3, "gw"), 3));
    writer.flush().unwrap();
    assert_eq!(created_ats(&store, "gw"), [1, 2, 3]);
}

#[test]
fn dropping_the_writer_writes_what_is_queued() {
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    assert!(sender.try_log(sample(0, "gw"), 10));
    drop(writer);
    assert_eq!(created_ats(&db.store().unwrap(), "gw"), [0]);
    // The thread is gone: later entries are dropped and counted, not blocked on.
    assert!(!sender.try_log(sample(1, "gw"), 10));
    assert_eq!(sender.stats().dropped(), 1);
}

#[test]
fn a_repeated_id_is_stored_once() {
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    assert!(sender.try_log(sample(0, "gw"), 10));
    assert!(sender.try_log(sample(0, "gw"), 10));
    writer.flush().unwrap();
    assert_eq!(writer.stats().written(), 1);
}

#[test]
fn log_ids_are_distinct_uuid_v7() {
    let ids: Vec<String> = (0..100).map(|_| new_log_id()).collect();
    for id in &ids {
        assert_eq!(
            uuid::Uuid::parse_str(id).unwrap().get_version_num(),
            7,
            "{id}"
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}
