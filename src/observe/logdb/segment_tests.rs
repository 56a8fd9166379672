//! Tests of the bodies in segment files: byte-exact round trip, damaged and missing
//! segments read as absent, segments removed with their rows, `log_max_bytes`, layout 5.

use super::writer_tests::{fixed_id, sample};
use super::*;

/// The `logs` table of layout 5, when the bodies were blob columns.
pub(super) const LAYOUT_5_LOGS: &str = "CREATE TABLE logs (id TEXT NOT NULL, event_id TEXT, \
     gateway TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, upstream_model TEXT, \
     path TEXT NOT NULL, status INTEGER NOT NULL, flags INTEGER NOT NULL, \
     duration_ms INTEGER NOT NULL, ttft_ms INTEGER, tokens_in INTEGER, tokens_out INTEGER, \
     cost REAL, metadata TEXT NOT NULL, request_size INTEGER NOT NULL, \
     response_size INTEGER NOT NULL, user_agent TEXT NOT NULL, route TEXT, route_version TEXT, \
     route_path TEXT, feedback INTEGER, score REAL, request_body BLOB, response_body BLOB, \
     access_token TEXT); \
     CREATE TABLE log_counts (gateway TEXT PRIMARY KEY, entries INTEGER NOT NULL) WITHOUT ROWID;";

/// An entry of gateway `gw` with bodies of `len` bytes each, distinct per `n`.
fn with_bodies(n: i64, gateway: &str, len: usize) -> LogEntry {
    let mut entry = sample(n, gateway);
    entry.request_body = Some((0..len).map(|i| (i as i64 * 7 + n) as u8).collect());
    entry.response_body = Some((0..len).map(|i| (i as i64 * 13 + n) as u8).collect());
    entry
}

fn write_all(db: &LogDb, entries: impl IntoIterator<Item = LogEntry>, retention: Retention) {
    let (sender, pending) = db.writer(4096);
    for entry in entries {
        assert!(sender.try_log(entry, retention));
    }
    pending.start().unwrap().shutdown().unwrap();
}

fn segment_files(db: &LogDb) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(db.bodies_dir())
        .unwrap()
        .map(|f| f.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

const ANY: Retention = Retention {
    max_entries: u64::MAX,
    max_bytes: u64::MAX,
};

#[test]
fn bodies_live_in_a_segment_and_read_back_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let mut no_response = with_bodies(2, "gw", 10);
    no_response.response_body = None;
    let mut empty = with_bodies(3, "gw", 0);
    empty.request_body = None;
    write_all(
        &db,
        [with_bodies(1, "gw", 32 * 1024), no_response.clone(), empty],
        ANY,
    );
    assert_eq!(segment_files(&db), ["seg-000001.bin"]);
    let store = db.store().unwrap();
    let got = store
        .get(with_bodies(1, "gw", 0).id.as_str())
        .unwrap()
        .unwrap();
    assert_eq!(got, with_bodies(1, "gw", 32 * 1024));
    let got = store.get(no_response.id.as_str()).unwrap().unwrap();
    assert_eq!(got, no_response);
    let got = store.get(sample(3, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!((got.request_body, got.response_body), (None, Some(vec![])));
    // Not in the row: the blob columns stay empty.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let blobs: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM logs WHERE request_body IS NOT NULL OR response_body IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(blobs, 0);
}

#[test]
fn a_cut_or_missing_segment_reads_as_absent_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    write_all(&db, (0..3).map(|n| with_bodies(n, "gw", 100)), ANY);
    let segment = db.bodies_dir().join("seg-000001.bin");
    // Cut inside the last entry's response (as a crash could leave it).
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(600 - 50).unwrap();
    let store = db.store().unwrap();
    let whole = store.get(sample(1, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(whole, with_bodies(1, "gw", 100));
    let cut = store.get(sample(2, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(cut.request_body, with_bodies(2, "gw", 100).request_body);
    assert_eq!(cut.response_body, None);
    // Bytes changed in place: the checksum tells.
    use std::os::unix::fs::FileExt;
    file.write_all_at(b"garbage", 10).unwrap();
    let damaged = store.get(sample(0, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(damaged.request_body, None);
    assert_eq!(
        damaged.response_body,
        with_bodies(0, "gw", 100).response_body
    );
    std::fs::remove_file(&segment).unwrap();
    let gone = store.get(sample(1, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!((gone.request_body, gone.response_body), (None, None));
    assert_eq!(gone.model, "openai/gpt-4o-mini", "the row itself stays");
}

#[test]
fn a_segment_goes_once_no_row_points_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    // Each writer run starts a segment of its own.
    write_all(&db, (0..2).map(|n| with_bodies(n, "gw", 100)), ANY);
    write_all(&db, (2..4).map(|n| with_bodies(n, "other", 100)), ANY);
    write_all(&db, (4..6).map(|n| with_bodies(n, "gw", 100)), ANY);
    assert_eq!(segment_files(&db).len(), 3);
    let store = db.store().unwrap();
    let other = LogFilter {
        gateway: Some("other".into()),
        ..LogFilter::default()
    };
    assert_eq!(store.delete(&other).unwrap(), 2);
    assert_eq!(segment_files(&db), ["seg-000001.bin", "seg-000003.bin"]);
    // The newest segment is kept even when empty: a writer may be appending to it.
    assert_eq!(store.delete(&LogFilter::default()).unwrap(), 4);
    assert_eq!(segment_files(&db), ["seg-000003.bin"]);
    // A new writer's segment makes the empty one removable, by retention this time.
    write_all(&db, [with_bodies(9, "gw", 10)], Retention::from(0));
    assert_eq!(segment_files(&db), ["seg-000004.bin"]);
}

#[test]
fn a_segment_no_committed_row_knows_is_removed_when_a_writer_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    write_all(&db, [with_bodies(0, "gw", 10)], ANY);
    // A writer that died before committing: its segment has no row in `segments`.
    std::fs::write(db.bodies_dir().join("seg-000002.bin"), b"torn").unwrap();
    write_all(&db, [with_bodies(1, "gw", 10)], ANY);
    assert_eq!(segment_files(&db), ["seg-000001.bin", "seg-000003.bin"]);
    let store = db.store().unwrap();
    let got = store.get(sample(1, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(got, with_bodies(1, "gw", 10));
}

#[test]
fn log_max_bytes_deletes_the_oldest_entries_of_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let retention = Retention {
        max_entries: 100,
        max_bytes: 1000,
    };
    // 200 body bytes each: five fit; "other" is not counted against "gw".
    let entries = (0..8).map(|n| with_bodies(n, "gw", 100));
    write_all(
        &db,
        entries.chain([with_bodies(20, "other", 100)]),
        retention,
    );
    let store = db.store().unwrap();
    let left: Vec<bool> = (0..8)
        .map(|n| store.get(sample(n, "gw").id.as_str()).unwrap().is_some())
        .collect();
    assert_eq!(left, [false, false, false, true, true, true, true, true]);
    assert!(store
        .get(sample(20, "other").id.as_str())
        .unwrap()
        .is_some());
    // The count went down with them: five more, in a second batch, push five out.
    write_all(&db, (8..13).map(|n| with_bodies(n, "gw", 100)), retention);
    let kept = (0..13)
        .filter(|n| store.get(sample(*n, "gw").id.as_str()).unwrap().is_some())
        .count();
    assert_eq!(kept, 5);
}

#[test]
fn a_layout_5_log_keeps_its_blob_bodies_readable_next_to_segment_ones() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join(LOG_FILE_NAME)).unwrap();
    conn.execute_batch(LAYOUT_5_LOGS).unwrap();
    let old_id = fixed_id(1_700_000_000_000, 1);
    conn.execute(
        "INSERT INTO logs (rowid, id, gateway, provider, model, path, status, flags, \
         duration_ms, metadata, request_size, response_size, user_agent, request_body, \
         response_body) VALUES (?1, ?2, 'gw', 'openai', 'm', '/p', 200, 1, 5, '{}', 3, 3, \
         'ua', x'010203', x'040506')",
        rusqlite::params![1_700_000_000_000i64 << 19, old_id.as_str()],
    )
    .unwrap();
    conn.execute_batch("INSERT INTO log_counts VALUES ('gw', 1); PRAGMA user_version = 5;")
        .unwrap();
    drop(conn);
    let db = LogDb::open(dir.path()).unwrap();
    write_all(&db, [with_bodies(1, "gw", 50)], Retention::from(10));
    let store = db.store().unwrap();
    let old = store.get(old_id.as_str()).unwrap().unwrap();
    assert_eq!(old.request_body, Some(vec![1, 2, 3]));
    assert_eq!(old.response_body, Some(vec![4, 5, 6]));
    let new = store.get(sample(1, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(new, with_bodies(1, "gw", 50));
    // The retention count carried over (1 + 1).
    write_all(
        &db,
        (2..11).map(|n| with_bodies(n, "gw", 1)),
        Retention::from(10),
    );
    assert!(store.get(old_id.as_str()).unwrap().is_none());
}

#[test]
fn a_drain_of_many_bodies_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    // Queued before the writer starts: one drain of 3000 bodies.
    write_all(&db, (0..1500).map(|n| with_bodies(n, "gw", 33)), ANY);
    let store = db.store().unwrap();
    for n in [0, 511, 512, 1023, 1499] {
        let got = store.get(sample(n, "gw").id.as_str()).unwrap().unwrap();
        assert_eq!(got, with_bodies(n, "gw", 33), "entry {n}");
    }
    // Direct writes go in whole blocks of 4096 bytes: the last one is padded.
    let len = std::fs::metadata(db.bodies_dir().join("seg-000001.bin"))
        .unwrap()
        .len();
    assert_eq!(len, (1500 * 66_u64).div_ceil(4096) * 4096);
}

#[test]
fn a_transaction_opening_on_a_full_segment_starts_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    // Four entries of 2 x 9 MiB: 72 MiB, past the 64 MiB roll, in one transaction.
    for n in 0..4 {
        assert!(sender.try_log(with_bodies(n, "gw", 9 << 20), ANY));
    }
    writer.flush().unwrap();
    assert!(sender.try_log(with_bodies(4, "gw", 10), ANY));
    writer.shutdown().unwrap();
    assert_eq!(segment_files(&db), ["seg-000001.bin", "seg-000002.bin"]);
    let store = db.store().unwrap();
    let last = store.get(sample(4, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(last, with_bodies(4, "gw", 10));
    let before = LogFilter {
        created_to: Some(sample(4, "gw").created_at),
        ..LogFilter::default()
    };
    assert_eq!(store.delete(&before).unwrap(), 4);
    assert_eq!(segment_files(&db), ["seg-000002.bin"]);
}
