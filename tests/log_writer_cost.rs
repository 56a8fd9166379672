//! A measure, not a check (ignored by default): the log writer thread's CPU time per
//! entry and the disk bytes per entry, for entries with large bodies.
//!
//!   cargo test --release --test log_writer_cost -- --ignored --nocapture
//!
//! LOG_COST_ENTRIES (20000), LOG_COST_REQUEST (32768) and LOG_COST_RESPONSE (2048) set the
//! entries and each body's bytes; LOG_COST_FLUSH_EVERY (256) the entries between flushes.
//! LOG_COST_CHAT=1: requests are conversations instead, 32 turns of 1 KiB messages each,
//! every request repeating its conversation's earlier messages (1 to 32 KiB). The entries are filled the way a worker fills them
//! (recycled entries, bodies copied in), on this thread; only the writer's is counted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sluice::observe::{LogDb, LogEntry, LogId};
use std::path::Path;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Run time so far of this process's thread named `name` (schedstat: ns on CPU).
fn thread_ns(name: &str) -> u64 {
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let stat = std::fs::read_to_string(task.join("schedstat")).unwrap();
            return stat.split(' ').next().unwrap().parse().unwrap();
        }
    }
    panic!("no thread {name}");
}

fn bytes_under(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .unwrap()
            .map(|f| bytes_under(&f.unwrap().path()))
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// Turns `1..=turns` of conversation `id`: 1 KiB messages, distinct per conversation.
fn conversation(id: usize, turns: usize) -> Vec<u8> {
    let messages: Vec<String> = (0..turns)
        .map(|t| {
            let text: String = (0..1000)
                .map(|i| char::from(b'a' + ((i * 7 + t * 3 + id) % 26) as u8))
                .collect();
            format!(r#"{{"role":"user","content":"{id} {t} {text}"}}"#)
        })
        .collect();
    format!(r#"{{"model":"m","messages":[{}]}}"#, messages.join(",")).into_bytes()
}

#[test]
#[ignore = "a measure: run with --release --ignored --nocapture"]
fn writer_cpu_and_disk_per_entry_with_large_bodies() {
    let entries = env_or("LOG_COST_ENTRIES", 20_000);
    let flush_every = env_or("LOG_COST_FLUSH_EVERY", 256).clamp(1, 4096);
    let chat = env_or("LOG_COST_CHAT", 0) == 1;
    let request: Vec<u8> = (0..env_or("LOG_COST_REQUEST", 32 * 1024))
        .map(|_| fastrand::alphanumeric() as u8)
        .collect();
    let response: Vec<u8> = (0..env_or("LOG_COST_RESPONSE", 2048))
        .map(|_| fastrand::alphanumeric() as u8)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let db = LogDb::open(dir.path()).unwrap();
    let (sender, pending) = db.writer(16 * 1024);
    let writer = pending.start().unwrap();
    let start_ms = 1_700_000_000_000i64;
    // Answered by the writer thread: it is running, under its name.
    writer.flush().unwrap();
    let before = thread_ns("sluice-logdb");
    for n in 0..entries {
        let mut entry: Box<LogEntry> = sender.blank();
        let created_at = start_ms + (n / 100) as i64;
        entry.id = LogId::new(created_at);
        entry.created_at = created_at;
        entry.gateway.push_str("bench");
        entry.provider.push_str("openai");
        entry.model.push_str("openai/gpt-4o-mini");
        entry.upstream_model.push_str("gpt-4o-mini");
        entry.path.push_str("/v1/chat/completions");
        entry.status = 200;
        entry.success = true;
        entry.request_size = request.len() as u64;
        entry.response_size = response.len() as u64;
        let copy = |body: &mut Option<Vec<u8>>, bytes: &[u8]| {
            let buffer = body.get_or_insert_with(Vec::new);
            buffer.clear();
            buffer.extend_from_slice(bytes);
        };
        match chat {
            true => copy(&mut entry.request_body, &conversation(n / 32, n % 32 + 1)),
            false => copy(&mut entry.request_body, &request),
        }
        copy(&mut entry.response_body, &response);
        assert!(sender.try_log(entry, 10_000_000u64), "dropped");
        // A commit per `flush_every` entries, as at ~10k requests/s with its 25 ms, and
        // within the queue's 256 MiB of bodies.
        if n % flush_every == flush_every - 1 {
            writer.flush().unwrap();
        }
    }
    writer.flush().unwrap();
    let writer_ns = thread_ns("sluice-logdb") - before;
    let written = writer.stats().written();
    writer.shutdown().unwrap();
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    let db_bytes = bytes_under(db.path());
    let bodies_bytes = bytes_under(&dir.path().join("bodies"));
    eprintln!(
        "{written} entries of {} + {} body bytes{}: writer {:.2} us/entry; \
         logs.db {:.0} B/entry, bodies/ {:.0} B/entry",
        request.len(),
        response.len(),
        if chat { " (chat requests instead)" } else { "" },
        writer_ns as f64 / 1e3 / written as f64,
        db_bytes as f64 / written as f64,
        bodies_bytes as f64 / written as f64,
    );
    assert_eq!(written, entries as u64);
}
