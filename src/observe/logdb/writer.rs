//! The log writer: workers hand entries to a bounded queue without ever blocking
//! (full: dropped and counted); one thread writes them in batched transactions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::{params_from_iter, Connection, Transaction, TransactionBehavior};

use super::entry::INSERT_SQL;
use super::{LogDb, LogDbError, LogEntry};

/// The most entries written in one transaction.
pub const MAX_BATCH: usize = 512;

enum Message {
    /// An entry and its gateway's `log_max_entries` at the time of the request
    /// (so that a config reload applies from the next batch on).
    Entry {
        entry: Box<LogEntry>,
        max_entries: u64,
    },
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

/// The workers' end of the queue; clone one per worker.
#[derive(Debug, Clone)]
pub struct LogSender {
    tx: SyncSender<Message>,
    stats: Arc<WriterStats>,
}

impl LogSender {
    /// Queues `entry` without blocking; `false` (and one more `dropped`) when the
    /// queue is full. `max_entries` is the gateway's `log_max_entries`: after the
    /// batch, its oldest entries beyond that many are deleted (0 keeps none).
    pub fn try_log(&self, entry: LogEntry, max_entries: u64) -> bool {
        let message = Message::Entry {
            entry: Box::new(entry),
            max_entries,
        };
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
    let sender = LogSender {
        tx: tx.clone(),
        stats: stats.clone(),
    };
    (sender, PendingWriter { db, rx, tx, stats })
}

impl PendingWriter {
    /// Opens the writer's connection and starts its thread.
    pub fn start(self) -> Result<LogWriter, LogDbError> {
        let conn = self.db.connect()?;
        let PendingWriter { db, rx, tx, stats } = self;
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-logdb".into())
            .spawn(move || run(conn, &db, &rx, &thread_stats))
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

fn run(mut conn: Connection, db: &LogDb, rx: &Receiver<Message>, stats: &WriterStats) {
    let mut retention = Retention::default();
    // Ends when every sender is gone or on Stop.
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::new();
        let mut acks = Vec::new();
        let mut stop = false;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Entry { entry, max_entries } => batch.push((entry, max_entries)),
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
            match write_batch(&mut conn, db, &batch, &mut retention) {
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
                    // The running counts may include rows that were rolled back.
                    retention.counts.clear();
                }
            }
        }
        for ack in acks {
            let _ = ack.send(());
        }
        if stop {
            return;
        }
    }
}

/// One transaction: insert the batch, then trim each gateway it touched.
/// Returns (entries written, entries trimmed).
fn write_batch(
    conn: &mut Connection,
    db: &LogDb,
    batch: &[(Box<LogEntry>, u64)],
    retention: &mut Retention,
) -> rusqlite::Result<(u64, u64)> {
    // IMMEDIATE: hold the write lock from the start, so that a store's delete
    // cannot land between reading the deletion counter and trimming.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    retention.sync(db.deletions_seen());
    let mut per_gateway: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut written = 0;
    {
        let mut insert = tx.prepare_cached(INSERT_SQL)?;
        for (entry, max_entries) in batch {
            let inserted = insert.execute(params_from_iter(entry.to_row()))? as u64;
            written += inserted;
            let slot = per_gateway.entry(entry.gateway.as_str()).or_default();
            slot.0 += inserted;
            slot.1 = *max_entries;
        }
    }
    let mut trimmed = 0;
    for (gateway, (inserted, max_entries)) in per_gateway {
        trimmed += retention.trim(&tx, gateway, inserted, max_entries)?;
    }
    tx.commit()?;
    Ok((written, trimmed))
}

/// Running entry counts per gateway, so that a batch does not count the whole
/// table. A count is exact while no store deletes; any delete makes it recount.
#[derive(Debug, Default)]
struct Retention {
    counts: HashMap<String, u64>,
    deletions_seen: u64,
}

impl Retention {
    fn sync(&mut self, deletions: u64) {
        if deletions != self.deletions_seen {
            self.deletions_seen = deletions;
            self.counts.clear();
        }
    }

    /// Deletes `gateway`'s oldest entries beyond `max_entries`; returns how many.
    fn trim(
        &mut self,
        tx: &Transaction<'_>,
        gateway: &str,
        inserted: u64,
        max_entries: u64,
    ) -> rusqlite::Result<u64> {
        let count = match self.counts.get(gateway) {
            Some(known) => known.saturating_add(inserted),
            None => {
                let n: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM logs WHERE gateway = ?1",
                    [gateway],
                    |row| row.get(0),
                )?;
                n.max(0).unsigned_abs()
            }
        };
        let excess = count.saturating_sub(max_entries);
        let mut deleted = 0;
        if excess > 0 {
            deleted = tx.execute(
                "DELETE FROM logs WHERE rowid IN (SELECT rowid FROM logs WHERE gateway = ?1 \
                 ORDER BY created_at ASC, rowid ASC LIMIT ?2)",
                rusqlite::params![gateway, i64::try_from(excess).unwrap_or(i64::MAX)],
            )? as u64;
        }
        self.counts
            .insert(gateway.to_string(), count.saturating_sub(deleted));
        Ok(deleted)
    }
}
