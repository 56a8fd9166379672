//! The log writer: workers hand entries to a bounded queue without ever blocking
//! (full: dropped and counted); one thread writes them in batched transactions, then
//! hands each entry back to its worker for reuse, so that in steady state logging
//! neither allocates on a worker nor frees a worker's memory on another thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::entry::INSERT_SQL;
use super::id::row_key;
use super::{LogDb, LogDbError, LogEntry};

/// The most entries written in one transaction.
pub const MAX_BATCH: usize = 8192;
/// The writer's pause after a batch that was not full (at 40k entries/s, ~1000 gather).
/// Long enough that a batch's fixed costs, and the worker caches it evicts on a shared
/// core, are spread over many entries.
const BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

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
/// memory); beyond this many the writer frees them instead.
const SPARE_ENTRIES: usize = 8192;

/// The workers' end of the queue. Clone one per worker: each clone has its own
/// spare entries, which are not shared between threads.
#[derive(Debug)]
pub struct LogSender {
    tx: SyncSender<Message>,
    stats: Arc<WriterStats>,
    spares_back: SyncSender<Box<LogEntry>>,
    spares: Receiver<Box<LogEntry>>,
}

impl Clone for LogSender {
    fn clone(&self) -> Self {
        LogSender::new(self.tx.clone(), self.stats.clone())
    }
}

impl LogSender {
    fn new(tx: SyncSender<Message>, stats: Arc<WriterStats>) -> LogSender {
        let (spares_back, spares) = mpsc::sync_channel(SPARE_ENTRIES);
        LogSender {
            tx,
            stats,
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
        let message = Message::Entry(Queued {
            entry: entry.into(),
            max_entries,
            back: self.spares_back.clone(),
        });
        match self.tx.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
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

pub(super) fn channel(db: LogDb, capacity: usize) -> (LogSender, PendingWriter) {
    // Capacity 0 would be a rendezvous channel, where every try_send fails.
    let (tx, rx) = mpsc::sync_channel(capacity.max(1));
    let stats = Arc::new(WriterStats::default());
    let sender = LogSender::new(tx.clone(), stats.clone());
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
            .spawn(move || run(conn, &rx, &thread_stats))
            .map_err(|e| LogDbError::Writer(e.to_string()))?;
        Ok(LogWriter {
            tx,
            thread: Some(thread),
            stats,
        })
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

fn run(mut conn: Connection, rx: &Receiver<Message>, stats: &WriterStats) {
    let mut seq = 0u64;
    // Ends when every sender is gone or on Stop.
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let mut stop = false;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Entry(queued) => batch.push(queued),
                Message::Flush(ack) => acks.push(ack),
                Message::Stop => {
                    stop = true;
                    break;
                }
            }
            if batch.len() >= MAX_BATCH {
                break;
            }
            next = rx.try_recv().ok();
        }
        if !batch.is_empty() {
            match write_batch(&mut conn, &batch, &mut seq) {
                Ok((written, trimmed)) => {
                    stats.written.fetch_add(written, Ordering::Relaxed);
                    stats.trimmed.fetch_add(trimmed, Ordering::Relaxed);
                    stats.batches.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    log::error!("request log: {} entries lost: {e}", batch.len());
                    stats
                        .failed
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
            }
        }
        let full = batch.len() >= MAX_BATCH;
        for Queued {
            mut entry, back, ..
        } in batch
        {
            entry.reuse();
            // A full or gone pool: the entry is freed here instead.
            let _ = back.try_send(entry);
        }
        for ack in acks {
            let _ = ack.send(());
        }
        if stop {
            return;
        }
        if !full {
            // Let entries gather: a writer parked in `recv` makes every `try_log` a
            // futex wake-up and a context switch on the worker's core, and a bigger
            // transaction rewrites its last, partly filled page fewer times.
            std::thread::sleep(BATCH_PAUSE);
        }
    }
}

/// One transaction: insert the batch, then trim each gateway it touched to its
/// `max_entries`, oldest first. Returns (entries written, entries trimmed).
fn write_batch(
    conn: &mut Connection,
    batch: &[Queued],
    seq: &mut u64,
) -> rusqlite::Result<(u64, u64)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut per_gateway: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut written = 0;
    {
        let mut insert = tx.prepare_cached(INSERT_SQL)?;
        for Queued {
            entry, max_entries, ..
        } in batch
        {
            // A key already taken (a restart within the same millisecond, or the
            // sequence wrapping) is skipped over: the next number is tried.
            for _ in 0..KEY_TRIES {
                *seq = seq.wrapping_add(1);
                entry.bind(&mut insert, row_key(entry.created_at, *seq))?;
                if insert.raw_execute()? > 0 {
                    written += 1;
                    let slot = per_gateway.entry(entry.gateway.as_str()).or_default();
                    slot.0 += 1;
                    slot.1 = *max_entries;
                    break;
                }
            }
        }
    }
    let mut trimmed = 0;
    for (gateway, (inserted, max_entries)) in per_gateway {
        trimmed += trim(&tx, gateway, inserted, max_entries)?;
    }
    tx.commit()?;
    Ok((written, trimmed))
}

/// Tries at a free table key per entry before it is given up as failed.
const KEY_TRIES: usize = 8;

/// Adds `inserted` to `gateway`'s count, then deletes its oldest entries beyond
/// `max_entries` (0 keeps none); returns how many went.
fn trim(
    tx: &Transaction<'_>,
    gateway: &str,
    inserted: u64,
    max_entries: u64,
) -> rusqlite::Result<u64> {
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
