//! The log writer: workers queue entries without ever blocking (full: dropped and counted);
//! one thread writes them (`batch.rs`) and hands each back to its worker for reuse.
//!
//! It drains the queue every few milliseconds into a transaction (bodies into a segment
//! file first) that it commits every 25 ms; handing entries back means logging neither
//! allocates on a worker nor frees a worker's memory on another thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::batch::BatchWriter;
use super::messages::Messages;
use super::segments::SegmentWriter;
use super::{LogDb, LogDbError, LogEntry};

/// The most entries in one transaction.
pub const MAX_BATCH: usize = 8192;
/// How often the writer drains the queue into its open transaction: soon enough that
/// the entries it reads (and hands back) are still in the worker's cache.
const DRAIN_EVERY: Duration = Duration::from_millis(5);
/// How long a transaction stays open: long enough to spread a commit's fixed costs
/// (the partly filled pages it rewrites) over about a thousand entries.
const COMMIT_EVERY: Duration = Duration::from_millis(25);

/// How much of a gateway's log is kept: its oldest entries go first once it has more
/// than `max_entries` (`log_max_entries`; 0 keeps none) or its rows' bodies take more
/// than `max_bytes` (`log_max_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Entries kept.
    pub max_entries: u64,
    /// Body bytes kept (in the segment files).
    pub max_bytes: u64,
}

impl From<u64> for Retention {
    /// At most `max_entries` entries, whatever their bodies' size.
    fn from(max_entries: u64) -> Retention {
        Retention {
            max_entries,
            max_bytes: u64::MAX,
        }
    }
}

/// An entry on its way to the database.
pub(super) struct Queued {
    /// Boxed, so that a queue slot is small; the box is reused with the entry.
    pub entry: Box<LogEntry>,
    /// Its gateway's retention at the time of the request (so that a config reload
    /// applies from the next batch on).
    pub retention: Retention,
    /// Where its request body's messages are and their keys, when the gateway's scan
    /// found them: the writer stores each once (`chunks.rs`) without looking for them
    /// again. Boxed (and `None` for none), as the queue allocates a slot per entry it may
    /// hold: one pointer there, not a vector's three words.
    pub messages: Option<Box<Messages>>,
    /// Where the stored entry goes back to for reuse.
    back: Arc<SpareStack>,
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
    pub(super) written: AtomicU64,
    pub(super) batches: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) trimmed: AtomicU64,
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
/// memory); beyond this many the writer frees them.
const SPARE_ENTRIES: usize = 1024;

/// The body buffers a sender's spare entries keep, at most (beyond it, an entry comes back
/// without them). Enough for the bodies in flight between a worker and the writer at a
/// high rate of large requests, so that a worker fills buffers it has used before instead
/// of new memory (each fresh page a fault and zeroing, a trap to the host on a VM).
const SPARE_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// Where the writer hands a sender's entries back: a stack, so that the sender reuses the
/// entry handed back last, whose memory the writer (on the same core, as a rule) has just
/// touched, rather than the one that waited longest and has left the cache.
#[derive(Debug, Default)]
struct SpareStack {
    /// Boxed as they travel: an entry moves between threads as a pointer, not a copy.
    #[allow(clippy::vec_box)]
    stack: Mutex<Vec<Box<LogEntry>>>,
    /// Body buffer capacity of the entries in the stack.
    body_bytes: AtomicU64,
}

impl SpareStack {
    /// Hands `entry` (emptied) back, without its body buffers if the stack holds enough.
    fn give_back(&self, mut entry: Box<LogEntry>) {
        entry.reuse();
        let mut bytes = entry.body_capacity();
        if self.body_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes > SPARE_BODY_BYTES {
            self.body_bytes.fetch_sub(bytes, Ordering::Relaxed);
            entry.free_bodies();
            bytes = 0;
        }
        let mut stack = self
            .stack
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if stack.len() < SPARE_ENTRIES {
            stack.push(entry);
            return;
        }
        drop(stack);
        // A full stack: the entry is freed here instead.
        self.body_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// The entry handed back last, if any.
    fn take(&self) -> Option<Box<LogEntry>> {
        let mut stack = self
            .stack
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = stack.pop()?;
        drop(stack);
        self.body_bytes
            .fetch_sub(entry.body_capacity(), Ordering::Relaxed);
        Some(entry)
    }
}

/// The most body bytes the queue holds: with the entry bound alone, a stalled writer and
/// large bodies could hold gigabytes. Past it, entries are dropped and counted.
pub const QUEUED_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// The workers' end of the queue. Clone one per worker: each clone has its own
/// spare entries, which are not shared between threads.
#[derive(Debug)]
pub struct LogSender {
    db: LogDb,
    tx: SyncSender<Message>,
    stats: Arc<WriterStats>,
    body_budget: u64,
    spares: Arc<SpareStack>,
}

impl Clone for LogSender {
    fn clone(&self) -> Self {
        LogSender::new(
            self.db.clone(),
            self.tx.clone(),
            self.stats.clone(),
            self.body_budget,
        )
    }
}

impl LogSender {
    fn new(
        db: LogDb,
        tx: SyncSender<Message>,
        stats: Arc<WriterStats>,
        body_budget: u64,
    ) -> LogSender {
        LogSender {
            db,
            tx,
            stats,
            body_budget,
            spares: Arc::default(),
        }
    }

    /// The database the entries go to (a worker reads stored responses back from it).
    pub fn db(&self) -> &LogDb {
        &self.db
    }

    /// An empty entry to fill: one the writer has handed back (its memory reused)
    /// when there is one.
    pub fn blank(&self) -> Box<LogEntry> {
        self.spares.take().unwrap_or_default()
    }

    /// Queues `entry` without blocking; `false` (and one more `dropped`) when the
    /// queue is full. After the batch, the gateway's oldest entries beyond `retention`
    /// are deleted (a bare number: `log_max_entries` alone).
    pub fn try_log(
        &self,
        entry: impl Into<Box<LogEntry>>,
        retention: impl Into<Retention>,
    ) -> bool {
        self.try_log_with(entry, retention, Messages::default())
    }

    /// [`Self::try_log`], with the request body's `messages` (found by `RequestScan`).
    pub fn try_log_with(
        &self,
        entry: impl Into<Box<LogEntry>>,
        retention: impl Into<Retention>,
        messages: Messages,
    ) -> bool {
        let entry = entry.into();
        let retention = retention.into();
        let bytes = entry.body_bytes();
        let queued = &self.stats.queued_body_bytes;
        if bytes > 0 && queued.fetch_add(bytes, Ordering::Relaxed) + bytes > self.body_budget {
            queued.fetch_sub(bytes, Ordering::Relaxed);
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let message = Message::Entry(Queued {
            entry,
            retention,
            messages: (!messages.is_empty()).then(|| Box::new(messages)),
            back: self.spares.clone(),
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

    /// The counters this sender shares with the writer.
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
    let sender = LogSender::new(db.clone(), tx.clone(), stats.clone(), body_budget);
    (sender, PendingWriter { db, rx, tx, stats })
}

impl PendingWriter {
    /// Opens the writer's connection and starts its thread.
    pub fn start(self) -> Result<LogWriter, LogDbError> {
        let conn = self.db.connect()?;
        let segments =
            SegmentWriter::open(&conn, self.db.bodies_dir()).map_err(|source| LogDbError::Io {
                path: self.db.bodies_dir().to_path_buf(),
                source,
            })?;
        let PendingWriter { rx, tx, stats, .. } = self;
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-logdb".into())
            .spawn(move || {
                yield_to_workers();
                run(conn, segments, &rx, &thread_stats)
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

    /// The writer's counters (queued, written, dropped).
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

fn run(conn: Connection, segments: SegmentWriter, rx: &Receiver<Message>, stats: &WriterStats) {
    let mut writer = BatchWriter::new(conn, segments, stats);
    let mut acks = Vec::new();
    loop {
        // Nothing pending: wait for the next message without a timer.
        let mut next = if !writer.is_open() && acks.is_empty() {
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
        for Queued { entry, back, .. } in drained {
            let bytes = entry.body_bytes();
            if bytes > 0 {
                stats.queued_body_bytes.fetch_sub(bytes, Ordering::Relaxed);
            }
            back.give_back(entry);
        }
        if writer.commit_due(COMMIT_EVERY) || (writer.is_open() && (stop || !acks.is_empty())) {
            writer.commit();
        }
        if !writer.is_open() {
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
