//! Tests of conversation messages stored once: a growing conversation reads back byte
//! for byte and its bytes on disk grow by the new turns; chunks go with their last row.

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
    let entries = (0..8).map(|n| turn(n, "gw")).chain([repeated.clone()]);
    write_all(&db, entries.chain(others), ANY);
    let store = db.store().unwrap();
    for n in 0..8 {
        let got = store.get(sample(n, "gw").id.as_str()).unwrap().unwrap();
        assert_eq!(got, turn(n, "gw"), "turn {n}");
    }
    let got = store.get(repeated.id.as_str()).unwrap().unwrap();
    assert_eq!(got, repeated);
    let got = store.get(sample(1, "other").id.as_str()).unwrap().unwrap();
    assert_eq!(got, turn(1, "other"));
    // Eight distinct messages; the bodies would take 36 of them whole.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM chunks"), 8);
    let whole: usize = (0..8).map(|t| conversation(t + 1).len()).sum();
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
    let responses = 9 * sample(0, "gw").response_body.unwrap().len();
    let requests = whole + repeated.request_body.as_ref().unwrap().len();
    assert_eq!(bytes as usize, requests + responses);
}

#[test]
fn a_chunk_goes_with_the_last_row_that_names_it() {
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
    assert_eq!(count(&db, "SELECT COUNT(*) FROM chunks"), 4);
    // By retention: the next turn keeps one entry, naming all five messages.
    write_all(&db, [turn(4, "gw")], Retention::from(1));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM chunks"), 5);
    let got = store.get(sample(4, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(got, turn(4, "gw"));
    assert_eq!(store.delete(&LogFilter::default()).unwrap(), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM chunks"), 0);
    // The live counts went to zero with them: only the newest segment is left.
    assert_eq!(count(&db, "SELECT COALESCE(SUM(live), 0) FROM segments"), 0);
    assert_eq!(std::fs::read_dir(db.bodies_dir()).unwrap().count(), 1);
}

#[test]
fn a_request_whose_chunk_is_damaged_reads_as_absent() {
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    write_all(&db, (0..2).map(|n| turn(n, "gw")), ANY);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute_batch("UPDATE chunks SET crc = crc + 1 WHERE offset = 0")
        .unwrap();
    let store = db.store().unwrap();
    let got = store.get(sample(1, "gw").id.as_str()).unwrap().unwrap();
    assert_eq!(got.request_body, None);
    assert_eq!(got.response_body, sample(1, "gw").response_body);
}
