//! Tests of the log writer on a temporary directory: round trip, batching,
//! drop-and-count on a full queue, retention, and logs surviving a restart.

use super::*;

/// A UUIDv7 of millisecond `ms`, the same on every call.
pub(super) fn fixed_id(ms: i64, n: u64) -> LogId {
    let text = format!("{:08x}-{:04x}-7000-8000-{n:012x}", ms >> 16, ms & 0xffff);
    LogId::parse(&text).unwrap()
}

/// A fully set entry; `n` makes it distinct and orders it in time.
pub(super) fn sample(n: i64, gateway: &str) -> LogEntry {
    let gateway_tag = gateway
        .bytes()
        .fold(0u64, |acc, b| acc * 256 + u64::from(b));
    LogEntry {
        id: fixed_id(1_700_000_000_000 + n, gateway_tag),
        event_id: Some(format!("event-{n}")),
        created_at: 1_700_000_000_000 + n,
        gateway: gateway.into(),
        provider: "openai".into(),
        model: "openai/gpt-4o-mini".into(),
        upstream_model: "gpt-4o-mini".into(),
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
        route: "support".into(),
        route_version: "0123456789ab".into(),
        route_path: r#"["start","plan","small","end"]"#.into(),
        access_token: String::new(),
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
    // Nine entries: the first eight share one insert statement, the last has its own.
    let mut last = sample(10, "gw");
    last.cached = true;
    last.stream = false;
    last.success = false;
    last.custom_cost = true;
    last.event_id = None;
    last.request_body = None;
    // Asked as sent (a native path): stored once, read back as both.
    last.model = "gpt-4o".into();
    last.upstream_model = "gpt-4o".into();
    assert!(sender.try_log(entry.clone(), 100));
    for n in 2..9 {
        assert!(sender.try_log(sample(n, "gw"), 100));
    }
    assert!(sender.try_log(last.clone(), 100));
    writer.flush().unwrap();

    let store = db.store().unwrap();
    assert_eq!(store.get(entry.id.as_str()).unwrap(), Some(entry.clone()));
    assert_eq!(store.get(last.id.as_str()).unwrap(), Some(last));
    assert_eq!(store.get("no-such-id").unwrap(), None);
    // Listing leaves the bodies out, and only them.
    let listed = store.list(&ListQuery::default()).unwrap();
    assert_eq!(listed.entries.len(), 9);
    let mut without_bodies = entry;
    without_bodies.request_body = None;
    without_bodies.response_body = None;
    assert_eq!(listed.entries[8], without_bodies);
    assert_eq!(writer.stats().written(), 9);
    drop(writer);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let upstream: Vec<Option<String>> = conn
        .prepare("SELECT upstream_model FROM logs ORDER BY rowid")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(upstream[0].as_deref(), Some("gpt-4o-mini"));
    assert_eq!(upstream[8], None, "nothing stored twice");
}

#[test]
fn queued_entries_are_written_in_batches() {
    let (_dir, db) = temp_db();
    let total = MAX_BATCH + 952;
    let (sender, pending) = db.writer(total);
    // Queued before the thread starts, so the batch boundaries are known.
    for n in 0..total {
        assert!(sender.try_log(sample(n as i64, "gw"), u64::MAX));
    }
    let writer = pending.start().unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.stats().written(), total as u64);
    assert_eq!(writer.stats().batches(), 2, "a full batch, then the rest");
    let totals = db.store().unwrap().totals(&LogFilter::default()).unwrap();
    assert_eq!(totals.requests, total as u64);
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
    assert_eq!(
        store.get(sample(1, "gw").id.as_str()).unwrap(),
        Some(sample(1, "gw"))
    );
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
fn entries_of_one_millisecond_survive_a_restart_of_the_key_sequence() {
    let (_dir, db) = temp_db();
    let same_ms = |tag: &str| LogEntry {
        id: LogId::new(1_700_000_000_000),
        event_id: Some(tag.to_string()),
        ..sample(0, "gw")
    };
    let mut ids = Vec::new();
    // Two writers, each numbering its keys from the start: the second one's first keys
    // are taken and skipped over, in a statement of several rows and of one.
    for round in 0..2 {
        let (sender, pending) = db.writer(32);
        for n in 0..19 {
            let entry = same_ms(&format!("{round}-{n}"));
            ids.push(entry.id);
            assert!(sender.try_log(entry, 100));
        }
        pending.start().unwrap().shutdown().unwrap();
    }
    let store = db.store().unwrap();
    for id in &ids {
        assert!(store.get(id.as_str()).unwrap().is_some(), "{id}");
    }
    assert_eq!(created_ats(&store, "gw"), [0; 38]);
    assert_eq!(store.get("not-a-log-id").unwrap(), None);
}

#[test]
fn counts_past_i64_are_clamped_not_wrapped() {
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    let entry = LogEntry {
        duration_ms: u64::MAX,
        tokens_in: Some(u64::MAX),
        tokens_out: None,
        ..sample(0, "gw")
    };
    let id = entry.id;
    assert!(sender.try_log(entry, 10));
    writer.flush().unwrap();
    let stored = db.store().unwrap().get(id.as_str()).unwrap().unwrap();
    assert_eq!(stored.duration_ms, i64::MAX as u64);
    assert_eq!(stored.tokens_in, Some(i64::MAX as u64));
    assert_eq!(stored.tokens_out, None);
}

#[test]
fn a_log_file_of_an_earlier_layout_is_set_aside_and_a_newer_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LOG_FILE_NAME);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE logs (id TEXT NOT NULL UNIQUE); INSERT INTO logs VALUES ('old');",
    )
    .unwrap();
    drop(conn);
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    assert!(sender.try_log(sample(0, "gw"), 10));
    writer.flush().unwrap();
    assert_eq!(created_ats(&db.store().unwrap(), "gw"), [0]);
    drop(writer);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let kept: String = conn
        .query_row("SELECT id FROM logs_v0", [], |row| row.get(0))
        .unwrap();
    assert_eq!(kept, "old");
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(matches!(
        LogDb::open(dir.path()),
        Err(LogDbError::NewerLayout(_, 99))
    ));
}

#[test]
fn a_layout_2_log_is_set_aside_with_its_entries_and_the_new_one_has_both_models() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(LOG_FILE_NAME)).unwrap();
    // Layout 2: one model column, the one sent upstream.
    conn.execute_batch(
        "CREATE TABLE logs (id TEXT NOT NULL, event_id TEXT, gateway TEXT NOT NULL, \
         provider TEXT NOT NULL, model TEXT NOT NULL, path TEXT NOT NULL, \
         status INTEGER NOT NULL, flags INTEGER NOT NULL, duration_ms INTEGER NOT NULL, \
         ttft_ms INTEGER, tokens_in INTEGER, tokens_out INTEGER, cost REAL, \
         metadata TEXT NOT NULL, request_size INTEGER NOT NULL, \
         response_size INTEGER NOT NULL, user_agent TEXT NOT NULL, feedback INTEGER, \
         score REAL, request_body BLOB, response_body BLOB); \
         INSERT INTO logs VALUES ('old', NULL, 'gw', 'openai', 'gpt-4o', '/p', 200, 1, 5, \
         NULL, NULL, NULL, NULL, '{}', 1, 1, 'ua', NULL, NULL, NULL, NULL); \
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(16);
    assert!(sender.try_log(sample(0, "gw"), 10));
    pending.start().unwrap().shutdown().unwrap();
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let kept: (String, String) = conn
        .query_row("SELECT id, model FROM logs_v2", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap();
    assert_eq!(kept, ("old".to_string(), "gpt-4o".to_string()));
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 7);
    let stored = db
        .store()
        .unwrap()
        .get(sample(0, "gw").id.as_str())
        .unwrap();
    let models = stored.map(|e| (e.model, e.upstream_model));
    let expected = ("openai/gpt-4o-mini".to_string(), "gpt-4o-mini".to_string());
    assert_eq!(models, Some(expected));
}

#[test]
fn a_layout_4_log_gains_the_access_token_column_and_keeps_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    // What layout 4 was: layout 5's table without its last column.
    let conn = rusqlite::Connection::open(dir.path().join(LOG_FILE_NAME)).unwrap();
    conn.execute_batch(super::segment_tests::LAYOUT_5_LOGS)
        .unwrap();
    conn.execute_batch("ALTER TABLE logs DROP COLUMN access_token; PRAGMA user_version = 4;")
        .unwrap();
    conn.execute(
        "INSERT INTO logs (rowid, id, gateway, provider, model, path, status, flags, \
         duration_ms, metadata, request_size, response_size, user_agent) \
         VALUES (?1, ?2, 'gw', 'openai', 'm', '/p', 200, 1, 5, '{}', 0, 0, 'ua')",
        rusqlite::params![
            sample(0, "gw").created_at << 19,
            sample(0, "gw").id.as_str()
        ],
    )
    .unwrap();
    drop(conn);
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(16);
    let mut with_token = sample(1, "gw");
    with_token.access_token = "tok-1".into();
    assert!(sender.try_log(with_token, 10));
    pending.start().unwrap().shutdown().unwrap();
    let store = db.store().unwrap();
    let old = store.get(sample(0, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(old.access_token, "", "the earlier entry is still there");
    let new = store.get(sample(1, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(new.access_token, "tok-1");
}

#[test]
fn entries_set_aside_with_an_earlier_layout_leave_retention_counts_behind() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(LOG_FILE_NAME)).unwrap();
    conn.execute_batch(
        "CREATE TABLE logs (id TEXT NOT NULL); INSERT INTO logs VALUES ('old'); \
         CREATE TABLE log_counts (gateway TEXT PRIMARY KEY, entries INTEGER NOT NULL) WITHOUT ROWID; \
         INSERT INTO log_counts VALUES ('gw', 5); PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(16);
    for n in 0..3 {
        assert!(sender.try_log(sample(n, "gw"), 3));
    }
    pending.start().unwrap().shutdown().unwrap();
    // Counted from zero: the three new entries fit the gateway's three.
    assert_eq!(created_ats(&db.store().unwrap(), "gw"), [0, 1, 2]);
}

#[test]
fn a_store_delete_gets_the_write_lock_while_the_writer_is_busy() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (_dir, db) = temp_db();
    let (sender, pending) = db.writer(100_000);
    let writer = pending.start().unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let done = &done;
        s.spawn(move || {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                sender.try_log(sample(n, "gw"), u64::MAX);
                n += 1;
                if n % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        });
        let store = db.store().unwrap();
        let gw = LogFilter {
            gateway: Some("gw".into()),
            ..LogFilter::default()
        };
        while store.totals(&gw).unwrap().requests == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Each delete waits for the lock at most the busy timeout, then fails.
        for _ in 0..3 {
            store.delete(&gw).unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    writer.shutdown().unwrap();
}

#[test]
fn queued_bodies_are_bounded_in_bytes_too() {
    let (_dir, db) = temp_db();
    let body_bytes = sample(0, "gw").body_bytes();
    assert!(body_bytes > 0);
    // Room for two entries' bodies, with a queue of many entries.
    let (sender, pending) = writer::channel(db.clone(), 64, 2 * body_bytes + 1);
    assert!(sender.try_log(sample(0, "gw"), 100));
    assert!(sender.try_log(sample(1, "gw"), 100));
    assert!(!sender.try_log(sample(2, "gw"), 100));
    assert_eq!(sender.stats().dropped(), 1);
    // An entry without bodies still fits.
    let bare = LogEntry {
        request_body: None,
        response_body: None,
        ..sample(3, "gw")
    };
    assert!(sender.try_log(bare, 100));
    let writer = pending.start().unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.stats().written(), 3);
    // Drained: the bytes are free again.
    assert!(sender.try_log(sample(4, "gw"), 100));
    writer.flush().unwrap();
    assert_eq!(created_ats(&db.store().unwrap(), "gw"), [0, 1, 3, 4]);
}

#[test]
fn entries_come_back_with_their_body_buffers_up_to_the_spare_budget() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(256);
    let writer = pending.start().unwrap();
    // 200 entries of 400 KiB: 80 MiB of buffers, past what the spares keep.
    for n in 0..200 {
        let mut entry = sample(n, "gw");
        entry.request_body = Some(vec![b'x'; 400 << 10]);
        assert!(sender.try_log(entry, 1_000));
    }
    writer.flush().unwrap();
    let mut kept = 0;
    let mut with_buffers = 0;
    for _ in 0..200 {
        let blank = sender.blank();
        assert_eq!(blank.body_bytes(), 0, "handed back empty");
        kept += blank.body_capacity();
        with_buffers += usize::from(blank.body_capacity() >= 400 << 10);
    }
    assert!(
        with_buffers >= 50,
        "{with_buffers} came back with a buffer to fill"
    );
    assert!(kept <= 32 << 20, "{kept} bytes kept");
    writer.shutdown().unwrap();
}
