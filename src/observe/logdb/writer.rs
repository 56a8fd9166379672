//! The log writer: workers hand entries to a bounded queue without ever blocking
//! (full: dropped and counted); one thread inserts them every few milliseconds into a
//! transaction it commits every 25 ms, and hands each entry back to its worker for
//! reuse, so that logging neither allocates on a worker nor frees a worker's memory on
//! another thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::entry::{insert_sql, PARAMS_PER_ROW};
use super::id::{row_key, row_key_range};
use super::{LogDb, LogDbError, LogEntry};

/// The most entries in one transaction.
pub const MAX_BATCH: usize = 8192;
/// How often the writer drains the queue into its open transaction: soon enough that
/// the entries it reads (and hands back) are still in the worker's cache.
const DRAIN_EVERY: Duration = Duration::from_millis(5);
/// How long a transaction stays open: long enough to spread a commit's fixed costs
/// (the partly filled pages it rewrites) over about a thousand entries.
const COMMIT_EVERY: Duration = Duration::from_millis(25);

/// An entry on its way to the database.
struct Queued {
    /// Boxed, so that a queue slot is small; the box is reused with the entry.
    entry: Box<LogEntry>,
    /// Its gateway's `log_max_entries` at the time of the request (so that a config
    /// reload applies from the next batch on).
    max_entries: u64,
    /// Where the stored entry goes back to for reuse.
    back: SyncSender<Box<LogEntry>>,
}

enum Message {
    Entry(Queued),
    /// Answered once everything queued before it is written.
    Flush(SyncSender<()>),
    Stop,
}

/// Counters shared by the senders and the writer thread.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Body bytes of the entries queued and not yet drained (see `QUEUED_BODY_BYTES`).
    queued_body_bytes: AtomicU64,
    dropped: AtomicU64,
    written: AtomicU64,
    batches: AtomicU64,
    failed: AtomicU64,
    trimmed: AtomicU64,
}

impl WriterStats {
    /// Entries refused because the queue was full (or the writer gone).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
    /// Entries stored.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
    /// Transactions committed.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
    /// Entries lost to a failed transaction (disk full, ...).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
    /// Old entries deleted by retention.
    pub fn trimmed(&self) -> u64 {
        self.trimmed.load(Ordering::Relaxed)
    }
}

/// Stored entries a sender keeps for reuse (each holds its strings' and bodies'
/// memory, bodies of up to 16 KiB each); beyond this many the writer frees them.
const SPARE_ENTRIES: usize = 1024;

/// The most body bytes the queue holds: with the entry bound alone, a stalled writer and
/// large bodies could hold gigabytes. Past it, entries are dropped and counted.
pub const QUEUED_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// The workers' end of the queue. Clone one per worker: each clone has its own
/// spare entries, which are not shared between threads.
#[derive(Debug)]
pub struct LogSender {
    tx: SyncSender<Message>,
    stats: Arc<WriterStats>,
    body_budget: u64,
    spares_back: SyncSender<Box<LogEntry>>,
    spares: Receiver<Box<LogEntry>>,
}

impl Clone for LogSender {
    fn clone(&self) -> Self {
        LogSender::new(self.tx.clone(), self.stats.clone(), self.body_budget)
    }
}

impl LogSender {
    fn new(tx: SyncSender<Message>, stats: Arc<WriterStats>, body_budget: u64) -> LogSender {
        let (spares_back, spares) = mpsc::sync_channel(SPARE_ENTRIES);
        LogSender {
            tx,
            stats,
            body_budget,
            spares_back,
            spares,
        }
    }

    /// An empty entry to fill: one the writer has handed back (its memory reused)
    /// when there is one.
    pub fn blank(&self) -> Box<LogEntry> {
        self.spares.try_recv().unwrap_or_default()
    }

    /// Queues `entry` without blocking; `false` (and one more `dropped`) when the
    /// queue is full. `max_entries` is the gateway's `log_max_entries`: after the
    /// batch, its oldest entries beyond that many are deleted (0 keeps none).
    pub fn try_log(&self, entry: impl Into<Box<LogEntry>>, max_entries: u64) -> bool {
        let entry = entry.into();
        let bytes = entry.body_bytes();
        let queued = &self.stats.queued_body_bytes;
        if bytes > 0 && queued.fetch_add(bytes, Ordering::Relaxed) + bytes > self.body_budget {
            queued.fetch_sub(bytes, Ordering::Relaxed);
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let message = Message::Entry(Queued {
            entry,
            max_entries,
            back: self.spares_back.clone(),
        });
        match self.tx.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                queued.fetch_sub(bytes, Ordering::Relaxed);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// A writer whose queue exists (senders can queue) but whose thread is not started.
#[derive(Debug)]
pub struct PendingWriter {
    db: LogDb,
    rx: Receiver<Message>,
    tx: SyncSender<Message>,
    stats: Arc<WriterStats>,
}

/// A queue of at most `capacity` entries and `body_budget` body bytes.
pub(super) fn channel(db: LogDb, capacity: usize, body_budget: u64) -> (LogSender, PendingWriter) {
    // Capacity 0 would be a rendezvous channel, where every try_send fails.
    let (tx, rx) = mpsc::sync_channel(capacity.max(1));
    let stats = Arc::new(WriterStats::default());
    let sender = LogSender::new(tx.clone(), stats.clone(), body_budget);
    (sender, PendingWriter { db, rx, tx, stats })
}

impl PendingWriter {
    /// Opens the writer's connection and starts its thread.
    pub fn start(self) -> Result<LogWriter, LogDbError> {
        let conn = self.db.connect()?;
        let PendingWriter { rx, tx, stats, .. } = self;
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-logdb".into())
            .spawn(move || {
                yield_to_workers();
                run(conn, &rx, &thread_stats)
            })
            .map_err(|e| LogDbError::Writer(e.to_string()))?;
        Ok(LogWriter {
            tx,
            thread: Some(thread),
            stats,
        })
    }
}

/// Makes the calling thread `SCHED_BATCH`: a worker that wakes up (a request arrived)
/// then preempts the writer instead of waiting out its slice, so a commit or checkpoint
/// on a shared core does not hold requests up (p99 at a fixed rate fell by about a
/// third), while the writer keeps its full share of the CPU and does not fall behind.
fn yield_to_workers() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a syscall on the calling thread (pid 0) with a valid parameter struct
    // that outlives the call; no memory is handed over.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if rc != 0 {
        log::debug!(
            "log writer stays SCHED_OTHER: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// The running writer thread. Dropping it writes what is queued and stops it.
#[derive(Debug)]
pub struct LogWriter {
    tx: SyncSender<Message>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<WriterStats>,
}

impl LogWriter {
    /// Blocks until every entry queued before this call is written (or failed).
    /// For the admin API's read-your-writes and for tests; never on a worker.
    pub fn flush(&self) -> Result<(), LogDbError> {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        self.tx
            .send(Message::Flush(ack_tx))
            .map_err(|_| LogDbError::Writer("writer thread is gone".into()))?;
        ack_rx
            .recv()
            .map_err(|_| LogDbError::Writer("writer thread is gone".into()))
    }

    /// Writes what is queued, then stops the thread and waits for it.
    pub fn shutdown(mut self) -> Result<(), LogDbError> {
        self.stop()
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    fn stop(&mut self) -> Result<(), LogDbError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // Fails only if the thread already ended; joining tells how.
        let _ = self.tx.send(Message::Stop);
        thread
            .join()
            .map_err(|_| LogDbError::Writer("writer thread panicked".into()))
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            log::error!("{e}");
        }
    }
}

fn run(conn: Connection, rx: &Receiver<Message>, stats: &WriterStats) {
    let mut writer = Writer {
        conn,
        stats,
        seq: 0,
        open: None,
        insert_many: insert_sql(ROWS_PER_INSERT),
        insert_one: insert_sql(1),
    };
    let mut acks = Vec::new();
    loop {
        // Nothing pending: wait for the next message without a timer.
        let mut next = if writer.open.is_none() && acks.is_empty() {
            match rx.recv() {
                Ok(message) => Some(message),
                Err(_) => return,
            }
        } else {
            rx.try_recv().ok()
        };
        let mut drained = Vec::new();
        let mut stop = false;
        while let Some(message) = next.take() {
            match message {
                Message::Entry(queued) => drained.push(queued),
                Message::Flush(ack) => acks.push(ack),
                Message::Stop => {
                    stop = true;
                    break;
                }
            }
            if drained.len() >= MAX_BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        writer.insert(&drained);
        for Queued {
            mut entry, back, ..
        } in drained
        {
            let bytes = entry.body_bytes();
            if bytes > 0 {
                stats.queued_body_bytes.fetch_sub(bytes, Ordering::Relaxed);
            }
            entry.reuse();
            // A full or gone pool: the entry is freed here instead.
            let _ = back.try_send(entry);
        }
        let due = writer.open.as_ref().is_some_and(|open| {
            stop || !acks.is_empty()
                || open.rows >= MAX_BATCH as u64
                || open.started.elapsed() >= COMMIT_EVERY
        });
        if due {
            writer.commit();
        }
        if writer.open.is_none() {
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
        if stop {
            return;
        }
        // Also after a commit: the write lock is then free for a while, so that the
        // admin API's deletes and patches get their turn.
        std::thread::sleep(DRAIN_EVERY);
    }
}

/// The writer's open transaction: rows go in as they are drained (while the workers'
/// entries are still in cache), and are committed together.
struct OpenBatch {
    started: Instant,
    rows: u64,
    /// Per gateway: rows inserted, and its `max_entries`.
    per_gateway: HashMap<String, (u64, u64)>,
}

impl OpenBatch {
    /// Counts an inserted entry.
    fn count(
        &mut self,
        Queued {
            entry, max_entries, ..
        }: &Queued,
    ) {
        self.rows += 1;
        // Looked up first: the key is copied only for a gateway's first row.
        match self.per_gateway.get_mut(entry.gateway.as_str()) {
            Some(slot) => *slot = (slot.0 + 1, *max_entries),
            None => {
                self.per_gateway
                    .insert(entry.gateway.clone(), (1, *max_entries));
            }
        }
    }
}

struct Writer<'a> {
    conn: Connection,
    stats: &'a WriterStats,
    seq: u64,
    open: Option<OpenBatch>,
    /// `insert_sql` for `ROWS_PER_INSERT` rows, and for one.
    insert_many: String,
    insert_one: String,
}

impl Writer<'_> {
    fn insert(&mut self, entries: &[Queued]) {
        if entries.is_empty() {
            return;
        }
        if let Err(e) = self.try_insert(entries) {
            let lost = self.open.take().map_or(0, |open| open.rows);
            log::error!("request log: entries lost: {e}");
            let _ = self.conn.execute_batch("ROLLBACK");
            self.stats
                .failed
                .fetch_add(lost + entries.len() as u64, Ordering::Relaxed);
        }
    }

    fn try_insert(&mut self, entries: &[Queued]) -> rusqlite::Result<()> {
        if self.open.is_none() {
            // IMMEDIATE: the write lock from the start (a store's delete waits).
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.open = Some(OpenBatch {
                started: Instant::now(),
                rows: 0,
                per_gateway: HashMap::new(),
            });
        }
        let mut chunks = entries.chunks_exact(ROWS_PER_INSERT);
        for chunk in &mut chunks {
            self.insert_rows(chunk)?;
        }
        for queued in chunks.remainder() {
            self.insert_one(queued)?;
        }
        Ok(())
    }

    /// Inserts `ROWS_PER_INSERT` entries in one statement (a statement per row costs
    /// more than the row). `OR IGNORE`, as a statement that could fail would have SQLite
    /// copy every page it touches aside first; an entry whose key was taken is found
    /// afterwards and inserted again under the next free key.
    fn insert_rows(&mut self, chunk: &[Queued]) -> rusqlite::Result<()> {
        let mut keys = [0i64; ROWS_PER_INSERT];
        let mut insert = self.conn.prepare_cached(&self.insert_many)?;
        for (row, (queued, key)) in chunk.iter().zip(&mut keys).enumerate() {
            self.seq = self.seq.wrapping_add(1);
            *key = row_key(queued.entry.created_at, self.seq);
            queued.entry.bind(&mut insert, row * PARAMS_PER_ROW, *key)?;
        }
        let inserted = insert.raw_execute()?;
        drop(insert);
        for (queued, key) in chunk.iter().zip(keys) {
            if inserted < chunk.len() && !self.holds(key, &queued.entry)? {
                self.insert_one(queued)?;
            } else if let Some(open) = &mut self.open {
                open.count(queued);
            }
        }
        Ok(())
    }

    /// Whether the row under `key` is `entry`'s.
    fn holds(&self, key: i64, entry: &LogEntry) -> rusqlite::Result<bool> {
        let id: Option<String> = self
            .conn
            .prepare_cached("SELECT id FROM logs WHERE rowid = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?;
        Ok(id.as_deref() == Some(entry.id.as_str()))
    }

    /// Inserts one entry. A key already taken (a restart within the same millisecond,
    /// or the sequence wrapping) is passed over: the entry goes after the highest key
    /// of its millisecond, and the sequence goes on from there.
    fn insert_one(&mut self, queued: &Queued) -> rusqlite::Result<()> {
        let created_at = queued.entry.created_at;
        self.seq = self.seq.wrapping_add(1);
        let mut key = Some(row_key(created_at, self.seq));
        let mut insert = self.conn.prepare_cached(&self.insert_one)?;
        while let Some(free) = key.take() {
            queued.entry.bind(&mut insert, 0, free)?;
            if insert.raw_execute()? > 0 {
                if let Some(open) = &mut self.open {
                    open.count(queued);
                }
                return Ok(());
            }
            let (from, to) = row_key_range(created_at, created_at.saturating_add(1));
            let highest: Option<i64> = self
                .conn
                .prepare_cached("SELECT max(rowid) FROM logs WHERE rowid >= ?1 AND rowid < ?2")?
                .query_row([from, to], |row| row.get(0))?;
            // Past the highest, unless that was this try (then the millisecond is full).
            key = highest
                .map(|h| h + 1)
                .filter(|next| *next > free && *next < to);
            if let Some(next) = key {
                self.seq = u64::try_from(next - from).unwrap_or(0);
            }
        }
        log::error!("request log: no free key for an entry of millisecond {created_at}");
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Trims each gateway the batch touched, then commits.
    fn commit(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let result = (|| {
            let mut trimmed = 0;
            for (gateway, (inserted, max_entries)) in &open.per_gateway {
                trimmed += trim(&self.conn, gateway, *inserted, *max_entries)?;
            }
            self.conn.execute_batch("COMMIT")?;
            Ok::<_, rusqlite::Error>(trimmed)
        })();
        match result {
            Ok(trimmed) => {
                self.stats.written.fetch_add(open.rows, Ordering::Relaxed);
                self.stats.trimmed.fetch_add(trimmed, Ordering::Relaxed);
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                log::error!("request log: {} entries lost: {e}", open.rows);
                let _ = self.conn.execute_batch("ROLLBACK");
                self.stats.failed.fetch_add(open.rows, Ordering::Relaxed);
            }
        }
    }
}

/// Rows per insert statement (more saved little, and SQLite caps a statement's parameters).
const ROWS_PER_INSERT: usize = 8;

/// Adds `inserted` to `gateway`'s count, then deletes its oldest entries beyond
/// `max_entries` (0 keeps none); returns how many went.
fn trim(tx: &Connection, gateway: &str, inserted: u64, max_entries: u64) -> rusqlite::Result<u64> {
    let count: i64 = tx
        .prepare_cached(
            "INSERT INTO log_counts (gateway, entries) VALUES (?1, ?2) \
         ON CONFLICT (gateway) DO UPDATE SET entries = entries + excluded.entries \
         RETURNING entries",
        )?
        .query_row(rusqlite::params![gateway, int(inserted)], |row| row.get(0))?;
    let excess = count.max(0).unsigned_abs().saturating_sub(max_entries);
    if excess == 0 {
        return Ok(0);
    }
    let deleted = tx.execute(
        "DELETE FROM logs WHERE rowid IN \
         (SELECT rowid FROM logs WHERE gateway = ?1 ORDER BY rowid LIMIT ?2)",
        rusqlite::params![gateway, int(excess)],
    )?;
    let deleted = u64::try_from(deleted).unwrap_or(u64::MAX);
    tx.execute(
        "UPDATE log_counts SET entries = entries - ?2 WHERE gateway = ?1",
        rusqlite::params![gateway, int(deleted)],
    )?;
    Ok(deleted)
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
