//! The writer thread's open transaction: bodies appended to a segment, entries inserted
//! eight rows per statement, taken keys moved on, gateways trimmed, then committed.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::bodies::BodyPlace;
use super::entry::{insert_sql, PARAMS_PER_ROW};
use super::id::{row_key, row_key_range};
use super::retention::{int, trim, Added};
use super::segments::{remove_dead_segments, SegmentError, SegmentWriter};
use super::writer::{Queued, WriterStats, MAX_BATCH};
use super::LogEntry;

/// The writer's open transaction: rows go in as they are drained (while the workers'
/// entries are still in cache), and are committed together.
struct OpenBatch {
    started: Instant,
    rows: u64,
    /// Per gateway: what was inserted, and its retention.
    per_gateway: HashMap<String, Added>,
    /// The segments this batch's rows point into (their own, and the one before for
    /// rows naming chunks there), and how many rows point into each.
    segment_rows: Vec<(i64, u64)>,
}

impl OpenBatch {
    /// Counts an inserted entry whose bodies are at `place`.
    fn count(
        &mut self,
        Queued {
            entry, retention, ..
        }: &Queued,
        place: &BodyPlace,
    ) {
        self.rows += 1;
        let added = Added {
            entries: 1,
            bytes: place.bytes(),
            retention: *retention,
        };
        // Looked up first: the key is copied only for a gateway's first row.
        match self.per_gateway.get_mut(entry.gateway.as_str()) {
            Some(slot) => {
                slot.entries += 1;
                slot.bytes += added.bytes;
                slot.retention = added.retention;
            }
            None => {
                self.per_gateway.insert(entry.gateway.clone(), added);
            }
        }
        if place.is_some() {
            self.count_in_segment(place.segment);
        }
        if let (Some(_), Some(earlier)) = (place.parts, place.parts_segment) {
            self.count_in_segment(earlier);
        }
    }

    /// Counts one more row pointing into `segment`.
    fn count_in_segment(&mut self, segment: i64) {
        match self.segment_rows.iter_mut().find(|(s, _)| *s == segment) {
            Some((_, rows)) => *rows += 1,
            None => self.segment_rows.push((segment, 1)),
        }
    }
}

pub(super) struct BatchWriter<'a> {
    conn: Connection,
    segments: SegmentWriter,
    /// Where each drained entry's bodies went, and their parts (kept for their memory).
    places: Vec<BodyPlace>,
    parts: Vec<u8>,
    stats: &'a WriterStats,
    seq: u64,
    open: Option<OpenBatch>,
    /// `insert_sql` for `ROWS_PER_INSERT` rows, and for one.
    insert_many: String,
    insert_one: String,
}

impl<'a> BatchWriter<'a> {
    pub fn new(
        conn: Connection,
        segments: SegmentWriter,
        stats: &'a WriterStats,
    ) -> BatchWriter<'a> {
        BatchWriter {
            conn,
            segments,
            places: Vec::new(),
            parts: Vec::new(),
            stats,
            seq: 0,
            open: None,
            insert_many: insert_sql(ROWS_PER_INSERT),
            insert_one: insert_sql(1),
        }
    }

    /// A transaction is open (rows inserted, not yet committed).
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The open transaction is full, or has been open for `every`.
    pub fn commit_due(&self, every: Duration) -> bool {
        self.open
            .as_ref()
            .is_some_and(|open| open.rows >= MAX_BATCH as u64 || open.started.elapsed() >= every)
    }

    /// Inserts `entries` into the open transaction (opening one if needed); on an
    /// error the whole transaction is rolled back and its entries counted as failed.
    pub fn insert(&mut self, entries: &[Queued]) {
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
                segment_rows: Vec::new(),
            });
            if let Err(e) = self.segments.begin_batch(&self.conn) {
                // The rows still go in, without their bodies.
                log::error!("request log: bodies not stored: {e}");
            }
        }
        // Bodies first, in one write, from the entries' own buffers.
        let mut places = std::mem::take(&mut self.places);
        let mut parts = std::mem::take(&mut self.parts);
        self.segments.append(entries, &mut places, &mut parts);
        let result = (|| {
            let mut chunks = entries.chunks_exact(ROWS_PER_INSERT);
            let mut place_chunks = places.chunks_exact(ROWS_PER_INSERT);
            for (chunk, chunk_places) in (&mut chunks).zip(&mut place_chunks) {
                self.insert_rows(chunk, chunk_places, &parts)?;
            }
            for (queued, place) in chunks.remainder().iter().zip(place_chunks.remainder()) {
                self.insert_one(queued, place, &parts)?;
            }
            Ok(())
        })();
        self.parts = parts;
        self.places = places;
        result
    }

    /// Inserts `ROWS_PER_INSERT` entries in one statement (a statement per row costs
    /// more than the row). `OR IGNORE`, as a statement that could fail would have SQLite
    /// copy every page it touches aside first; an entry whose key was taken is found
    /// afterwards and inserted again under the next free key.
    fn insert_rows(
        &mut self,
        chunk: &[Queued],
        places: &[BodyPlace],
        parts: &[u8],
    ) -> rusqlite::Result<()> {
        let mut keys = [0i64; ROWS_PER_INSERT];
        let mut insert = self.conn.prepare_cached(&self.insert_many)?;
        for (row, ((queued, key), place)) in chunk.iter().zip(&mut keys).zip(places).enumerate() {
            self.seq = self.seq.wrapping_add(1);
            *key = row_key(queued.entry.created_at, self.seq);
            queued
                .entry
                .bind(&mut insert, row * PARAMS_PER_ROW, *key, place, parts)?;
        }
        let inserted = insert.raw_execute()?;
        drop(insert);
        for ((queued, key), place) in chunk.iter().zip(keys).zip(places) {
            if inserted < chunk.len() && !self.holds(key, &queued.entry)? {
                self.insert_one(queued, place, parts)?;
            } else if let Some(open) = &mut self.open {
                open.count(queued, place);
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
    fn insert_one(
        &mut self,
        queued: &Queued,
        place: &BodyPlace,
        parts: &[u8],
    ) -> rusqlite::Result<()> {
        let created_at = queued.entry.created_at;
        self.seq = self.seq.wrapping_add(1);
        let mut key = Some(row_key(created_at, self.seq));
        let mut insert = self.conn.prepare_cached(&self.insert_one)?;
        while let Some(free) = key.take() {
            queued.entry.bind(&mut insert, 0, free, place, parts)?;
            if insert.raw_execute()? > 0 {
                if let Some(open) = &mut self.open {
                    open.count(queued, place);
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

    /// Syncs the batch's bodies, counts the rows pointing into its segment, trims each
    /// gateway it touched, then commits; then removes the segments left without rows.
    pub fn commit(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let result = (|| {
            // Before the rows that point at them: a committed row's bodies are on disk.
            self.segments.sync()?;
            for &(segment, rows) in &open.segment_rows {
                self.conn
                    .prepare_cached(
                        "INSERT INTO segments (number, live) VALUES (?1, ?2) \
                         ON CONFLICT (number) DO UPDATE SET live = live + excluded.live",
                    )?
                    .execute(rusqlite::params![segment, int(rows)])?;
            }
            let mut trimmed = 0;
            for (gateway, added) in &open.per_gateway {
                trimmed += trim(&self.conn, gateway, added)?;
            }
            self.conn.execute_batch("COMMIT")?;
            Ok::<_, SegmentError>(trimmed)
        })();
        match result {
            Ok(trimmed) => {
                self.stats.written.fetch_add(open.rows, Ordering::Relaxed);
                self.stats.trimmed.fetch_add(trimmed, Ordering::Relaxed);
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
                if trimmed > 0 {
                    if let Err(e) = remove_dead_segments(&self.conn, self.segments.dir()) {
                        log::warn!("request log: segments not removed: {e}");
                    }
                }
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
