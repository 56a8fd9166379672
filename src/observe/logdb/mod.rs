//! The request log: rows in SQLite (`{data_dir}/logs.db`, WAL), bodies in segment files
//! (`{data_dir}/bodies/`); opening both and the schema. `writer` appends, `store` reads.

mod analytics;
mod analytics_scan;
mod appender;
mod batch;
mod bodies;
mod chunk_index;
mod chunks;
mod condition;
mod entry;
mod id;
mod messages;
mod query;
mod retention;
mod segments;
mod store;
mod writer;

#[cfg(test)]
mod analytics_tests;
#[cfg(test)]
mod chunk_tests;
#[cfg(test)]
mod segment_tests;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod writer_tests;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

pub use analytics::{
    Analytics, AnalyticsQuery, Bucket, Group, GroupBy, Stats, MAX_BUCKETS, MAX_SCAN_THREADS,
};
pub use chunks::MIN_CHUNK_BYTES;
pub use condition::{CompareOp, LogCondition, LogField};
pub use entry::{LogEntry, MAX_LOGGED_BODY_BYTES};
pub use id::LogId;
pub use messages::Messages;
pub use query::{Direction, ListQuery, LogFilter, OrderBy, MAX_PER_PAGE};
pub use segments::BODIES_DIR;
pub use store::{LogList, LogStore, Totals};
pub use writer::{LogSender, LogWriter, PendingWriter, Retention, WriterStats, MAX_BATCH};

/// The log file's name inside `data_dir`.
pub const LOG_FILE_NAME: &str = "logs.db";

/// How long a connection waits for another's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A failure of the log store.
#[derive(Debug, thiserror::Error)]
pub enum LogDbError {
    /// SQLite failed.
    #[error("log database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The log directory could not be made or used.
    #[error("log directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The filesystem error.
        source: std::io::Error,
    },
    /// A `patch` value out of range (feedback not -1, 0 or 1; score not 0 to 100).
    #[error("invalid log patch: {0}")]
    BadPatch(&'static str),
    /// An analytics query that cannot be answered (an empty range, too many buckets).
    #[error("invalid analytics query: {0}")]
    BadQuery(&'static str),
    /// The file was made by a later sluice, whose table layout this one does not know.
    #[error("{0}: request log made by a newer sluice (layout {1}); move it away or upgrade")]
    NewerLayout(PathBuf, i64),
    /// The writer thread could not be started or is gone.
    #[error("log writer: {0}")]
    Writer(String),
}

/// The log database: where it lives.
#[derive(Debug, Clone)]
pub struct LogDb {
    path: PathBuf,
    /// The body segments' folder.
    bodies: PathBuf,
}

impl LogDb {
    /// Creates `data_dir` if needed and opens (or creates) `logs.db` in it with
    /// its schema, in WAL mode.
    pub fn open(data_dir: &Path) -> Result<LogDb, LogDbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| LogDbError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let db = LogDb {
            path: data_dir.join(LOG_FILE_NAME),
            bodies: data_dir.join(BODIES_DIR),
        };
        let conn = db.connect()?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let tables: i64 = conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'logs'",
            [],
            |row| row.get(0),
        )?;
        if tables > 0 && version > SCHEMA_VERSION {
            return Err(LogDbError::NewerLayout(db.path, version));
        }
        if tables > 0 && (4..SCHEMA_VERSION).contains(&version) {
            // Layouts 5 to 7 only add columns at the end: the entries stay where they
            // are, and those of layout 5 keep their bodies in the blob columns.
            let mut steps = String::from("BEGIN IMMEDIATE;");
            if version == 4 {
                steps.push_str("ALTER TABLE logs ADD COLUMN access_token TEXT;");
            }
            if version <= 5 {
                steps.push_str(TO_LAYOUT_6);
            }
            steps.push_str(TO_LAYOUT_7);
            steps.push_str("COMMIT;");
            conn.execute_batch(&steps)?;
        } else if tables > 0 && version < SCHEMA_VERSION {
            // An earlier layout: its entries are kept, aside, and a new table starts,
            // with no retention counts (they counted the entries set aside).
            let aside = format!("logs_v{version}");
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; ALTER TABLE logs RENAME TO {aside}; \
                 DROP TABLE IF EXISTS log_counts; COMMIT;"
            ))?;
            log::warn!(
                "request log {}: entries of an earlier layout kept in table {aside}",
                db.path.display()
            );
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder of the body segments.
    pub fn bodies_dir(&self) -> &Path {
        &self.bodies
    }

    /// A reader (and editor) on its own connection; one per admin thread.
    pub fn store(&self) -> Result<LogStore, LogDbError> {
        Ok(LogStore::new(self.connect()?, self.bodies.clone()))
    }

    /// A bounded queue of `capacity` entries (and `QUEUED_BODY_BYTES` of bodies) and the
    /// writer that will drain it once started. Senders never block: a full queue drops and counts.
    pub fn writer(&self, capacity: usize) -> (LogSender, PendingWriter) {
        writer::channel(self.clone(), capacity, writer::QUEUED_BODY_BYTES)
    }

    fn connect(&self) -> Result<Connection, LogDbError> {
        let conn = Connection::open(&self.path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Only takes effect on a new file. Large pages: the log is appended in batches
        // of whole rows, and every page costs a write into the WAL and one out of it.
        conn.execute_batch("PRAGMA page_size = 65536;")?;
        // journal_mode answers with a row, so it cannot go through execute_batch.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        // WAL + NORMAL: a power cut may lose the last batches, never corrupts.
        // Checkpoint at 16 MiB of WAL (256 of these pages), not SQLite's 1000 pages,
        // which at this page size would let the WAL grow to 64 MiB.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 256;")?;
        Ok(conn)
    }
}

/// The layout below, in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 7;

/// From layout 5 to 6: the bodies' location columns (`bodies.rs`) and each gateway's
/// body bytes for `log_max_bytes` (an older row's blob bodies are not counted).
const TO_LAYOUT_6: &str = "
ALTER TABLE logs ADD COLUMN body_segment INTEGER;
ALTER TABLE logs ADD COLUMN body_offset INTEGER;
ALTER TABLE logs ADD COLUMN request_len INTEGER;
ALTER TABLE logs ADD COLUMN request_crc INTEGER;
ALTER TABLE logs ADD COLUMN response_len INTEGER;
ALTER TABLE logs ADD COLUMN response_crc INTEGER;
ALTER TABLE logs ADD COLUMN request_recipe BLOB;
ALTER TABLE logs ADD COLUMN request_chunked INTEGER;
ALTER TABLE log_counts ADD COLUMN body_bytes INTEGER NOT NULL DEFAULT 0;
";

/// From layout 6 to 7: a request's chunks named by where they are (`chunks.rs`).
const TO_LAYOUT_7: &str = "
ALTER TABLE logs ADD COLUMN request_parts BLOB;
ALTER TABLE logs ADD COLUMN parts_segment INTEGER;
";

/// Columns in the order `entry.rs` reads and writes them; bodies last, so that
/// listing (which leaves them out) does not walk their overflow pages. No index: the
/// rowid is the creation millisecond and a sequence number (`id.rs`), which serves time
/// order, time ranges and lookups by id; every other filter scans, which keeps an
/// insert cheap. For the same reason nothing derivable is stored twice (`created_at` is
/// `rowid >> 19`, `upstream_model` is NULL where it equals `model`) and the four booleans
/// share `flags` (`entry.rs`: 1 success, 2 cached, 4 stream, 8 custom cost). Bodies are in
/// the segment files, the row holds where (`body_segment` .. `response_crc`); the blob
/// columns only hold those of rows from layout 5 and older. `log_counts` holds each
/// gateway's number of entries and body bytes for retention; `chunks` the conversation
/// messages that layout-6 rows name by hash (`chunks.rs`); `segments` each segment's number
/// of rows (and layout-6 chunks) pointing into it, kept by triggers on every delete, so
/// that a segment goes once it reaches 0 (`segments.rs`).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS logs (
    id TEXT NOT NULL,
    -- NULL: the log id stands for it.
    event_id TEXT,
    gateway TEXT NOT NULL,
    provider TEXT NOT NULL,
    -- As the client asked for it.
    model TEXT NOT NULL,
    -- As sent upstream; NULL: the same as model.
    upstream_model TEXT,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    ttft_ms INTEGER,
    tokens_in INTEGER,
    tokens_out INTEGER,
    cost REAL,
    metadata TEXT NOT NULL,
    request_size INTEGER NOT NULL,
    response_size INTEGER NOT NULL,
    user_agent TEXT NOT NULL,
    -- NULL unless the request took a dynamic/ route; the path is a JSON array of ids.
    route TEXT,
    route_version TEXT,
    route_path TEXT,
    feedback INTEGER,
    score REAL,
    -- Bodies of layout 5 and older; NULL in later rows.
    request_body BLOB,
    response_body BLOB,
    -- The id of the access token the request came with; NULL: none.
    access_token TEXT,
    -- NULL: no body in a segment; else the request body at body_offset of segment
    -- body_segment and the response right after it; a NULL length: that one not stored.
    body_segment INTEGER,
    body_offset INTEGER,
    request_len INTEGER,
    request_crc INTEGER,
    response_len INTEGER,
    response_crc INTEGER,
    -- Layout 6: NULL, or the request at its place is a skeleton, and this says which
    -- chunks (by hash, in `chunks`) go where in it, adding request_chunked bytes.
    request_recipe BLOB,
    request_chunked INTEGER,
    -- Layout 7: NULL, or the request at its place is a skeleton, and this says where the
    -- chunks that go in it are (`chunks.rs`), adding request_chunked bytes; some of them
    -- in segment parts_segment (the one before body_segment) when that is not NULL.
    request_parts BLOB,
    parts_segment INTEGER
);
CREATE TABLE IF NOT EXISTS log_counts (
    gateway TEXT PRIMARY KEY,
    entries INTEGER NOT NULL,
    body_bytes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments (
    number INTEGER PRIMARY KEY,
    live INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    hash BLOB PRIMARY KEY,
    segment INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    len INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    -- Rows whose recipe names it; it goes at 0.
    refs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS segment_chunk_deleted AFTER DELETE ON chunks BEGIN
    UPDATE segments SET live = live - 1 WHERE number = old.segment;
END;
CREATE TRIGGER IF NOT EXISTS segment_rows_deleted AFTER DELETE ON logs
WHEN old.body_segment IS NOT NULL BEGIN
    UPDATE segments SET live = live - 1 WHERE number = old.body_segment;
END;
CREATE TRIGGER IF NOT EXISTS segment_parts_deleted AFTER DELETE ON logs
WHEN old.parts_segment IS NOT NULL BEGIN
    UPDATE segments SET live = live - 1 WHERE number = old.parts_segment;
END;
";

/// Milliseconds since the Unix epoch now (0 if the clock is before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
