//! Tests of conversation messages stored once: a growing conversation reads back byte
//! for byte and its bytes on disk grow by the new turns; a segment stays while rows name it.

use super::writer_tests::sample;
use super::*;

/// Request `turns` of one conversation: each repeats the earlier messages and adds one.
fn conversation(turns: usize) -> Vec<u8> {
    let messages: Vec<String> = (0..turns)
        .map(|t| {
            let role = if t % 2 == 0 { "user" } else { "assistant" };
            let text: String = (0..600)
                .map(|i| char::from(b'a' + ((i * 7 + t) % 26) as u8))
                .collect();
            format!(r#"{{"role":"{role}","content":"turn {t}: {text}"}}"#)
        })
        .collect();
    format!(
        r#"{{"model":"openai/gpt-4o-mini", "messages": [{}],"max_tokens":64}}"#,
        messages.join(", ")
    )
    .into_bytes()
}

fn turn(n: i64, gateway: &str) -> LogEntry {
    let mut entry = sample(n, gateway);
    entry.request_body = Some(conversation(n as usize + 1));
    entry
}

fn write_all(db: &LogDb, entries: impl IntoIterator<Item = LogEntry>, retention: Retention) {
    let (sender, pending) = db.writer(64);
    let writer = pending.start().unwrap();
    for entry in entries {
        assert!(sender.try_log(entry, retention));
        // One drain and commit per turn, as a conversation's requests come.
        writer.flush().unwrap();
    }
    writer.shutdown().unwrap();
}

fn count(db: &LogDb, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

fn segment_bytes(db: &LogDb) -> u64 {
    std::fs::read_dir(db.bodies_dir())
        .unwrap()
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum()
}

const ANY: Retention = Retention {
    max_entries: u64::MAX,
    max_bytes: u64::MAX,
};

#[test]
fn a_growing_conversation_stores_each_message_once_and_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    // A request that names its first message twice, and the conversation's start again
    // in another gateway.
    let first = String::from_utf8(conversation(1)).unwrap();
    let message = &first[first.find('[').unwrap() + 1..first.rfind(']').unwrap()];
    let mut repeated = turn(20, "gw");
    repeated.request_body = Some(
        String::from_utf8(conversation(2))
            .unwrap()
            .replace(']', &format!(", {message}]"))
            .into_bytes(),
    );
    let others = (0..2).map(|n| turn(n, "other"));
    let entries = (0..16).map(|n| turn(n, "gw")).chain([repeated.clone()]);
    write_all(&db, entries.chain(others), ANY);
    let store = db.store().unwrap();
    for n in 0..16 {
        let got = store.get(sample(n, "gw").id.as_str()).unwrap().unwrap();
        assert_eq!(got, turn(n, "gw"), "turn {n}");
    }
    let got = store.get(repeated.id.as_str()).unwrap().unwrap();
    assert_eq!(got, repeated);
    let got = store.get(sample(1, "other").id.as_str()).unwrap().unwrap();
    assert_eq!(got, turn(1, "other"));
    // Each request's messages but its last (its new turn) are named: 120 in the 16
    // turns, 2 and 1 in the others.
    assert_eq!(
        count(&db, "SELECT SUM(length(request_parts)) FROM logs") as usize,
        123 * chunks::PART_BYTES
    );
    let whole: usize = (0..16).map(|t| conversation(t + 1).len()).sum();
    // Each message at most twice (as a request's new turn, then as a chunk), against
    // 136 times in the 16 turns.
    let stored = segment_bytes(&db) as usize;
    assert!(
        stored * 3 < whole,
        "{stored} bytes stored for {whole} and more"
    );
    // Retention still counts each entry's whole bodies.
    let bytes = count(
        &db,
        "SELECT body_bytes FROM log_counts WHERE gateway = 'gw'",
    );
    let responses = 17 * sample(0, "gw").response_body.unwrap().len();
    let requests = whole + repeated.request_body.as_ref().unwrap().len();
    assert_eq!(bytes as usize, requests + responses);
}

#[test]
fn a_conversation_reads_back_while_its_first_turns_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    write_all(&db, (0..4).map(|n| turn(n, "gw")), ANY);
    let store = db.store().unwrap();
    let first_two = LogFilter {
        created_to: Some(sample(2, "gw").created_at),
        ..LogFilter::default()
    };
    assert_eq!(store.delete(&first_two).unwrap(), 2);
    // Turns 2 and 3 still name messages 0 and 1, first written for turns 0 and 1.
    for n in 2..4 {
        let got = store.get(sample(n, "gw").id.as_str()).unwrap().unwrap();
        assert_eq!(got, turn(n, "gw"));
    }
    // By retention: the next turn keeps one entry, naming all five messages.
    write_all(&db, [turn(4, "gw")], Retention::from(1));
    let got = store.get(sample(4, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(got, turn(4, "gw"));
    assert_eq!(store.delete(&LogFilter::default()).unwrap(), 1);
    // The live counts went to zero with them: only the newest segment is left.
    assert_eq!(count(&db, "SELECT COALESCE(SUM(live), 0) FROM segments"), 0);
    assert_eq!(std::fs::read_dir(db.bodies_dir()).unwrap().count(), 1);
}

#[test]
fn a_request_whose_chunk_is_damaged_reads_as_absent() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    write_all(&db, (0..3).map(|n| turn(n, "gw")), ANY);
    // Turn 1 stored message 0 as a chunk; turn 2 names it too.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let parts: Vec<u8> = conn
        .query_row(
            "SELECT request_parts FROM logs ORDER BY rowid DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let offset = parts[4..12]
        .iter()
        .rev()
        .fold(0usize, |n, b| (n << 8) | usize::from(*b));
    let segment = db.bodies_dir().join("seg-000001.bin");
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[offset + 20] ^= 1;
    std::fs::write(&segment, bytes).unwrap();
    let store = db.store().unwrap();
    for n in [1, 2] {
        let got = store.get(sample(n, "gw").id.as_str()).unwrap().unwrap();
        assert_eq!(got.request_body, None, "turn {n}");
        assert_eq!(got.response_body, sample(n, "gw").response_body);
    }
    let first = store.get(sample(0, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(first, turn(0, "gw"), "its own copy, in its skeleton");
}

/// A request naming `big` (a 9 MiB message) after a small one of its own.
fn naming(n: i64, big: usize) -> LogEntry {
    let mut entry = sample(n, "gw");
    let text = char::from(b'a' + big as u8).to_string().repeat(9 << 20);
    entry.request_body = Some(
        format!(
            r#"{{"messages":[{{"role":"user","content":"{text}"}},{{"role":"user","content":"turn {n} says more than sixty-four bytes, so it is a chunk too."}}]}}"#
        )
        .into_bytes(),
    );
    entry
}

/// Eight requests of a distinct 9 MiB message each in one transaction: 72 MiB, so the
/// next transaction opens segment 2.
fn past_a_roll(db: &LogDb) -> (LogSender, LogWriter) {
    let (sender, pending) = db.writer(16);
    let writer = pending.start().unwrap();
    for n in 0..8 {
        assert!(sender.try_log(naming(n, n as usize), ANY));
    }
    writer.flush().unwrap();
    (sender, writer)
}

#[test]
fn a_segment_stays_while_a_later_row_names_its_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, writer) = past_a_roll(&db);
    // In segment 2, naming request 7's message, which is in segment 1.
    assert!(sender.try_log(naming(8, 7), ANY));
    writer.shutdown().unwrap();
    let segment_bytes = |n: i64| {
        std::fs::metadata(db.bodies_dir().join(format!("seg-{n:06}.bin")))
            .map(|m| m.len())
            .ok()
    };
    // One block: the big message is not stored again.
    assert_eq!(segment_bytes(2), Some(4096));
    let store = db.store().unwrap();
    let first_eight = LogFilter {
        created_to: Some(sample(8, "gw").created_at),
        ..LogFilter::default()
    };
    assert_eq!(store.delete(&first_eight).unwrap(), 8);
    assert!(
        segment_bytes(1).is_some(),
        "request 8 still names a chunk in it"
    );
    let got = store.get(sample(8, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(got, naming(8, 7));
    assert_eq!(store.delete(&LogFilter::default()).unwrap(), 1);
    assert_eq!(segment_bytes(1), None);
    assert_eq!(count(&db, "SELECT COALESCE(SUM(live), 0) FROM segments"), 0);
}

#[test]
fn chunks_of_a_segment_whose_rows_were_deleted_are_stored_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, writer) = past_a_roll(&db);
    // Segment 2 opens (a small request), then every row of segment 1 goes, and its file.
    assert!(sender.try_log(with_small_body(9), ANY));
    writer.flush().unwrap();
    let store = db.store().unwrap();
    let first_eight = LogFilter {
        created_to: Some(sample(8, "gw").created_at),
        ..LogFilter::default()
    };
    assert_eq!(store.delete(&first_eight).unwrap(), 8);
    assert!(!db.bodies_dir().join("seg-000001.bin").exists());
    // Request 7's message again: the writer no longer names segment 1.
    assert!(sender.try_log(naming(10, 7), ANY));
    writer.shutdown().unwrap();
    let got = store.get(sample(10, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(got, naming(10, 7));
}

fn with_small_body(n: i64) -> LogEntry {
    let mut entry = sample(n, "gw");
    entry.request_body = Some(br#"{"messages":[]}"#.to_vec());
    entry
}

#[test]
fn a_layout_6_row_naming_its_chunks_by_hash_reads_back_and_releases_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    write_all(&db, [turn(1, "gw")], ANY);
    // The row made as layout 6 made it: its one chunk in `chunks`, named by hash.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let part: Vec<u8> = conn
        .query_row("SELECT request_parts FROM logs", [], |row| row.get(0))
        .unwrap();
    let word = |r: std::ops::Range<usize>| {
        part[r]
            .iter()
            .rev()
            .fold(0i64, |n, b| (n << 8) | i64::from(*b))
    };
    let hash = [7u8; 16];
    let mut recipe = part[..4].to_vec();
    recipe.extend_from_slice(&hash);
    conn.execute(
        "INSERT INTO chunks VALUES (?1, 1, ?2, ?3, ?4, 1)",
        rusqlite::params![&hash[..], word(4..12), word(12..16), word(16..20)],
    )
    .unwrap();
    conn.execute(
        "UPDATE logs SET request_recipe = ?1, request_parts = NULL",
        [&recipe],
    )
    .unwrap();
    conn.execute_batch(
        "UPDATE segments SET live = live + 1; DROP TRIGGER segment_parts_deleted; \
         ALTER TABLE logs DROP COLUMN request_parts; ALTER TABLE logs DROP COLUMN parts_segment; \
         PRAGMA user_version = 6;",
    )
    .unwrap();
    drop(conn);
    let db = LogDb::open(dir.path()).unwrap();
    let store = db.store().unwrap();
    let got = store.get(sample(1, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(got, turn(1, "gw"));
    assert_eq!(store.delete(&LogFilter::default()).unwrap(), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM chunks"), 0);
    assert_eq!(count(&db, "SELECT COALESCE(SUM(live), 0) FROM segments"), 0);
}

#[test]
fn messages_the_gateways_scan_found_are_stored_once_whatever_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    // `content` before `role`: no `{"role"` to find, but the scan's spans say where.
    let message = format!(r#"{{"content":"{}","role":"user"}}"#, "m".repeat(5000));
    let (sender, pending) = db.writer(64);
    let writer = pending.start().unwrap();
    let mut entries = Vec::new();
    for n in 0..3 {
        let mut entry = sample(n, "gw");
        let body = format!(r#"{{"messages":[{message},{{"content":"turn {n}","role":"user"}}]}}"#);
        let start = body.find('[').unwrap() + 1;
        let second = start + message.len() + 1;
        let spans = vec![start..start + message.len(), second..body.len() - 2];
        let messages = Messages::of(body.as_bytes(), &spans);
        entry.request_body = Some(body.into_bytes());
        assert!(sender.try_log_with(entry.clone(), ANY, messages));
        writer.flush().unwrap();
        entries.push(entry);
    }
    writer.shutdown().unwrap();
    let store = db.store().unwrap();
    for entry in &entries {
        let got = store.get(entry.id.as_str()).unwrap().unwrap();
        assert_eq!(got.request_body, entry.request_body);
    }
    // The 5 KB message once, not three times.
    let stored = segment_bytes(&db);
    assert!(stored < 2 * 5000, "{stored} bytes");
}
