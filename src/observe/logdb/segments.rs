//! The append-only body segment files (`{data_dir}/bodies/seg-NNNNNN.bin`): the writer's
//! current segment (roll, one direct write per drain, `fdatasync` before each commit) and removal.

use std::ops::Range;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use super::appender::BlockAppender;
use super::bodies::{BodyPlace, StoredBody};
use super::chunk_index::{ChunkAt, ChunkIndex};
use super::chunks;
use super::entry::stored_body;
use super::messages::{earlier_messages, Messages};
use super::writer::Queued;

/// The folder inside `data_dir` that holds the segments.
pub const BODIES_DIR: &str = "bodies";

/// A segment is rolled when a transaction opens on one at least this long (a batch is
/// never split, so a segment may end up longer by one batch's bodies).
pub(super) const ROLL_AT_BYTES: u64 = 64 * 1024 * 1024;

/// The file name of segment `number`.
pub(super) fn segment_path(dir: &Path, number: i64) -> PathBuf {
    dir.join(format!("seg-{number:06}.bin"))
}

/// The segment number of a file name made by `segment_path`.
fn number_of(name: &str) -> Option<i64> {
    name.strip_prefix("seg-")?
        .strip_suffix(".bin")?
        .parse()
        .ok()
}

/// The segment the writer thread appends to.
struct OpenSegment {
    number: i64,
    file: BlockAppender,
    /// Written since the last `fdatasync`.
    unsynced: bool,
}

/// The writer thread's side of the segments: owns the one file being appended to.
pub(super) struct SegmentWriter {
    dir: PathBuf,
    current: Option<OpenSegment>,
    /// The highest segment number in use or on disk, so a new one never reuses a name.
    highest: i64,
    /// The chunks a request may name instead of storing them again: those of the current
    /// segment and of `previous`, the one before it while its rows are not all deleted.
    index: ChunkIndex,
    previous: Option<i64>,
    scratch: Scratch,
}

/// Per request: its messages when found here (and their keys), and its chunks with where
/// each is (kept for the memory).
#[derive(Default)]
struct Scratch {
    spans: Vec<Range<usize>>,
    found: Messages,
    chunks: Vec<(Range<usize>, ChunkAt)>,
}

impl SegmentWriter {
    /// Makes `dir` if needed and removes the segments no committed row knows of (made
    /// by a writer that crashed before its first commit on them). Only the writer thread
    /// creates segments, and this one has not yet, so none of them is being written.
    pub fn open(conn: &Connection, dir: &Path) -> std::io::Result<SegmentWriter> {
        std::fs::create_dir_all(dir)?;
        let known: Vec<i64> = known_segments(conn).map_err(std::io::Error::other)?;
        let mut highest = known.iter().copied().max().unwrap_or(0);
        for file in std::fs::read_dir(dir)? {
            let file = file?;
            let Some(number) = file.file_name().to_str().and_then(number_of) else {
                continue;
            };
            highest = highest.max(number);
            if !known.contains(&number) {
                remove_segment_file(dir, number);
            }
        }
        // Those emptied just before a crash, between the commit and their removal.
        remove_dead_segments(conn, dir).map_err(std::io::Error::other)?;
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            current: None,
            highest,
            index: ChunkIndex::default(),
            previous: None,
            scratch: Scratch::default(),
        })
    }

    /// At the start of a transaction: the segment to append to, a new one (registered in
    /// `segments` inside the transaction) when there is none yet or it is full. Chunks of
    /// the segment before are named only while rows still keep it (`live` above 0): one
    /// whose rows were all deleted may be removed at any time by a store's delete, but
    /// not while this transaction holds the write lock and, from then on, counts the rows
    /// that name it.
    pub fn begin_batch(&mut self, tx: &Connection) -> Result<(), SegmentError> {
        if let Some(previous) = self.previous {
            let live: Option<i64> = tx
                .prepare_cached("SELECT live FROM segments WHERE number = ?1")?
                .query_row([previous], |row| row.get(0))
                .optional()?;
            if live.is_none_or(|n| n <= 0) {
                self.index.forget(previous);
                self.previous = None;
            }
        }
        if self
            .current
            .as_ref()
            .is_some_and(|open| open.file.len() < ROLL_AT_BYTES)
        {
            return Ok(());
        }
        // Only a full segment stays indexed, as the one before; one given up was cleared.
        match self.current.take() {
            Some(full) => {
                self.index.keep_only(full.number);
                self.previous = Some(full.number);
            }
            None => {
                self.index.clear();
                self.previous = None;
            }
        }
        let number = self.highest + 1;
        let path = segment_path(&self.dir, number);
        let file =
            BlockAppender::create(&path).map_err(|source| SegmentError::Io { path, source })?;
        self.highest = number;
        tx.prepare_cached("INSERT OR IGNORE INTO segments (number, live) VALUES (?1, 0)")?
            .execute([number])?;
        self.current = Some(OpenSegment {
            number,
            file,
            unsynced: false,
        });
        Ok(())
    }

    /// Appends the stored bodies of `entries` in one write (per entry: its message chunks
    /// not stored yet, the request or its skeleton, the response) and sets `places` to
    /// where each entry's went, their parts in `parts`. A failed write leaves every entry
    /// here without bodies (their rows still go in) and the segment is given up: the next
    /// transaction starts a new one.
    pub fn append(&mut self, entries: &[Queued], places: &mut Vec<BodyPlace>, parts: &mut Vec<u8>) {
        places.clear();
        parts.clear();
        let Some(open) = self.current.as_mut() else {
            places.resize(entries.len(), BodyPlace::NONE);
            return;
        };
        let before = open.file.len();
        let written = entries
            .iter()
            .enumerate()
            .try_for_each(|(i, queued)| {
                // The next entry's lookups load while this one is stored.
                if let Some(next) = entries.get(i + 1).and_then(|q| q.messages.as_deref()) {
                    next.keyed()
                        .iter()
                        .for_each(|(_, key)| self.index.prefetch(*key));
                }
                let scratch = &mut self.scratch;
                let place = store(open, &mut self.index, scratch, queued, parts)?;
                places.push(place);
                Ok(())
            })
            .and_then(|()| open.file.flush());
        match written {
            Ok(()) => open.unsynced |= open.file.len() > before,
            Err(e) => {
                log::error!(
                    "request log: bodies lost, segment {} given up: {e}",
                    segment_path(&self.dir, open.number).display()
                );
                self.current = None;
                self.index.clear();
                self.previous = None;
                places.clear();
                places.resize(entries.len(), BodyPlace::NONE);
            }
        }
    }

    /// The folder of the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `fdatasync`s what was appended since the last call: called before a commit, so
    /// that a committed row never points at bytes a power cut could still lose.
    pub fn sync(&mut self) -> Result<(), SegmentError> {
        let Some(open) = self.current.as_mut().filter(|open| open.unsynced) else {
            return Ok(());
        };
        match open.file.sync() {
            Ok(()) => {
                open.unsynced = false;
                Ok(())
            }
            Err(source) => {
                let path = segment_path(&self.dir, open.number);
                self.current = None;
                self.index.clear();
                self.previous = None;
                Err(SegmentError::Io { path, source })
            }
        }
    }
}

/// A failure writing a segment.
#[derive(Debug, thiserror::Error)]
pub(super) enum SegmentError {
    /// The file could not be made, written or synced.
    #[error("body segment {path}: {source}")]
    Io {
        /// The segment file.
        path: PathBuf,
        /// The filesystem error.
        source: std::io::Error,
    },
    /// Registering it failed.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Appends `entry`'s bodies to `open`: each earlier message the index does not have, then
/// the request without its earlier messages (its skeleton; `parts` gets where they go),
/// then the response.
fn store(
    open: &mut OpenSegment,
    index: &mut ChunkIndex,
    Scratch {
        spans,
        found,
        chunks,
    }: &mut Scratch,
    Queued {
        entry, messages, ..
    }: &Queued,
    parts: &mut Vec<u8>,
) -> std::io::Result<BodyPlace> {
    let number = open.number;
    let file = &mut open.file;
    let mut place = BodyPlace {
        segment: number,
        ..BodyPlace::NONE
    };
    if let Some(body) = stored_body(entry.request_body.as_deref()) {
        chunks.clear();
        let messages = match messages {
            // The gateway's own scan of these very bytes, keyed by the worker.
            Some(messages) => &**messages,
            None => {
                earlier_messages(body, spans);
                found.set(body, spans);
                found
            }
        };
        for (span, key) in messages.keyed() {
            let Some(bytes) = body.get(span.clone()) else {
                continue;
            };
            let at = match index.find(*key) {
                Some(at) => at,
                None => {
                    let at = ChunkAt {
                        segment: number,
                        offset: file.len(),
                        body: StoredBody::of(bytes),
                    };
                    file.push(bytes)?;
                    index.insert(*key, at);
                    at
                }
            };
            chunks.push((span.clone(), at));
        }
        place.offset = file.len();
        let first_part = parts.len();
        let mut skeleton_len = 0;
        for (piece, chunk) in skeleton_pieces(body, chunks) {
            file.push(piece)?;
            skeleton_len += piece.len();
            if let Some((span, at)) = chunk {
                chunks::push_part(parts, skeleton_len, at, number);
                if at.segment != number {
                    place.parts_segment = Some(at.segment);
                }
                place.chunked += span.len() as u64;
            }
        }
        // In one pass over the buffer where the pieces now lie together, else piece by piece.
        let crc = file.crc_of_last(skeleton_len).unwrap_or_else(|| {
            let mut crc = crc32fast::Hasher::new();
            skeleton_pieces(body, chunks).for_each(|(piece, _)| crc.update(piece));
            crc.finalize()
        });
        place.request = Some(StoredBody {
            len: skeleton_len as u64,
            crc,
        });
        if !chunks.is_empty() {
            place.parts = Some((first_part, parts.len() - first_part));
        }
    } else {
        place.offset = file.len();
    }
    if let Some(body) = stored_body(entry.response_body.as_deref()) {
        file.push(body)?;
        place.response = Some(StoredBody::of(body));
    }
    Ok(if place.is_some() {
        place
    } else {
        BodyPlace::NONE
    })
}

/// A request stored as its skeleton, in pieces: the bytes before each chunk (with that
/// chunk), then the rest after the last. `chunks` are in order, disjoint and inside `body`.
fn skeleton_pieces<'a>(
    body: &'a [u8],
    chunks: &'a [(Range<usize>, ChunkAt)],
) -> impl Iterator<Item = (&'a [u8], Option<&'a (Range<usize>, ChunkAt)>)> {
    let starts = std::iter::once(0).chain(chunks.iter().map(|(span, _)| span.end));
    let ends = chunks.iter().map(|(span, _)| span.start);
    let ends = ends.chain(std::iter::once(body.len()));
    let chunks = chunks.iter().map(Some).chain(std::iter::once(None));
    starts
        .zip(ends)
        .zip(chunks)
        .map(|((from, to), chunk)| (body.get(from..to).unwrap_or_default(), chunk))
}

fn known_segments(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    conn.prepare("SELECT number FROM segments")?
        .query_map([], |row| row.get(0))?
        .collect()
}

/// Removes the segments no row points into any more, but never the newest one (the
/// writer may be appending to it). Called after a commit that deleted rows, by the
/// writer or a store; two of them racing both find the file gone, which is fine.
pub(super) fn remove_dead_segments(conn: &Connection, dir: &Path) -> rusqlite::Result<u64> {
    let dead: Vec<i64> = conn
        .prepare_cached(
            "SELECT number FROM segments WHERE live <= 0 \
             AND number < (SELECT MAX(number) FROM segments)",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for &number in &dead {
        // The file first: a crash in between leaves a row for a missing file (removed
        // again next time), never a file that nothing would remove.
        remove_segment_file(dir, number);
        conn.prepare_cached("DELETE FROM segments WHERE number = ?1 AND live <= 0")?
            .execute([number])?;
    }
    Ok(dead.len() as u64)
}

fn remove_segment_file(dir: &Path, number: i64) {
    let path = segment_path(dir, number);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("request log: cannot remove {}: {e}", path.display()),
    }
}
