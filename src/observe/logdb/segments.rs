//! The append-only body segment files (`{data_dir}/bodies/seg-NNNNNN.bin`): the writer's
//! current segment (roll, one `writev` per drain, `fdatasync` before each commit) and removal.

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use std::collections::HashSet;

use super::bodies::{BodyPlace, StoredBody};
use super::chunks;
use super::entry::stored_body;
use super::writer::Queued;

/// The folder inside `data_dir` that holds the segments.
pub const BODIES_DIR: &str = "bodies";

/// A segment is rolled when a transaction opens on one at least this long (a batch is
/// never split, so a segment may end up longer by one batch's bodies).
pub(super) const ROLL_AT_BYTES: u64 = 64 * 1024 * 1024;

/// The kernel takes at most this many slices per `writev` (Linux `IOV_MAX`).
const MAX_SLICES_PER_WRITE: usize = 1024;

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
    file: File,
    /// Bytes written (the next body's offset).
    len: u64,
    /// Written since the last `fdatasync`.
    unsynced: bool,
}

/// The writer thread's side of the segments: owns the one file being appended to.
pub(super) struct SegmentWriter {
    dir: PathBuf,
    current: Option<OpenSegment>,
    /// The highest segment number in use or on disk, so a new one never reuses a name.
    highest: i64,
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
        })
    }

    /// At the start of a transaction: the segment to append to, a new one (registered in
    /// `segments` inside the transaction) when there is none yet or it is full.
    pub fn begin_batch(&mut self, tx: &Connection) -> Result<(), SegmentError> {
        if self
            .current
            .as_ref()
            .is_some_and(|open| open.len < ROLL_AT_BYTES)
        {
            return Ok(());
        }
        self.current = None;
        let number = self.highest + 1;
        let path = segment_path(&self.dir, number);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|source| SegmentError::Io { path, source })?;
        self.highest = number;
        tx.prepare_cached("INSERT OR IGNORE INTO segments (number, live) VALUES (?1, 0)")?
            .execute([number])?;
        self.current = Some(OpenSegment {
            number,
            file,
            len: 0,
            unsynced: false,
        });
        Ok(())
    }

    /// Appends the stored bodies of `entries` in one `writev` (per entry: the message
    /// chunks not stored yet, the request or its skeleton, the response) and sets
    /// `places` to where each entry's went, their recipes in `recipes`; takes the
    /// chunk references in `tx` and returns how many chunks are new. A failed write
    /// leaves every entry here without bodies (their rows still go in) and the segment
    /// is given up: the next transaction starts a new one.
    pub fn append(
        &mut self,
        tx: &Connection,
        entries: &[Queued],
        places: &mut Vec<BodyPlace>,
        recipes: &mut Vec<u8>,
    ) -> rusqlite::Result<u64> {
        places.clear();
        recipes.clear();
        let Some(open) = self.current.as_mut() else {
            places.resize(entries.len(), BodyPlace::NONE);
            return Ok(0);
        };
        let mut slices = Vec::with_capacity(entries.len() * 2);
        let mut offset = open.len;
        let mut seen = HashSet::new();
        // (hash, where a new chunk is written and what it is; `None`: a stored one), in order.
        let mut takes = Vec::new();
        for queued in entries {
            let mut place = BodyPlace {
                segment: open.number,
                ..BodyPlace::NONE
            };
            if let Some(body) = stored_body(queued.entry.request_body.as_deref()) {
                let refs = chunks::plan(tx, body, &mut seen).unwrap_or_else(|e| {
                    log::warn!("request log: messages stored whole: {e}");
                    Vec::new()
                });
                for chunk in refs.iter().filter(|chunk| chunk.new) {
                    let bytes = &body[chunk.span.clone()];
                    takes.push((chunk.hash, Some((offset, StoredBody::of(bytes)))));
                    slices.push(IoSlice::new(bytes));
                    offset += bytes.len() as u64;
                }
                takes.extend(refs.iter().filter(|c| !c.new).map(|c| (c.hash, None)));
                place.offset = offset;
                let recipe_start = recipes.len();
                let (mut crc, mut skeleton_len, mut from) = (crc32fast::Hasher::new(), 0, 0);
                for chunk in &refs {
                    let piece = &body[from..chunk.span.start];
                    chunks::push_step(recipes, skeleton_len + piece.len(), &chunk.hash);
                    (skeleton_len, from) = (skeleton_len + piece.len(), chunk.span.end);
                    place.chunked += chunk.span.len() as u64;
                    if !piece.is_empty() {
                        crc.update(piece);
                        slices.push(IoSlice::new(piece));
                    }
                }
                let rest = &body[from..];
                crc.update(rest);
                slices.push(IoSlice::new(rest));
                let len = (skeleton_len + rest.len()) as u64;
                offset += len;
                place.request = Some(StoredBody {
                    len,
                    crc: crc.finalize(),
                });
                if !refs.is_empty() {
                    place.recipe = Some((recipe_start, recipes.len() - recipe_start));
                }
            } else {
                place.offset = offset;
            }
            if let Some(body) = stored_body(queued.entry.response_body.as_deref()) {
                offset += body.len() as u64;
                slices.push(IoSlice::new(body));
                place.response = Some(StoredBody::of(body));
            }
            if !place.is_some() {
                place = BodyPlace::NONE;
            }
            places.push(place);
        }
        if offset == open.len {
            return Ok(0);
        }
        if let Err(e) = write_all_slices(&mut open.file, &mut slices) {
            log::error!(
                "request log: bodies lost, segment {} given up: {e}",
                segment_path(&self.dir, open.number).display()
            );
            self.current = None;
            places.iter_mut().for_each(|p| *p = BodyPlace::NONE);
            return Ok(0);
        }
        open.len = offset;
        open.unsynced = true;
        // In order: a chunk's first, registering, reference comes before its others.
        for (hash, new) in &takes {
            match new {
                Some((at, body)) => chunks::take_new(tx, hash, open.number, *at, *body)?,
                None => chunks::take_known(tx, hash)?,
            }
        }
        Ok(seen.len() as u64)
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
        match open.file.sync_data() {
            Ok(()) => {
                open.unsynced = false;
                Ok(())
            }
            Err(source) => {
                let path = segment_path(&self.dir, open.number);
                self.current = None;
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

/// Writes every slice, `MAX_SLICES_PER_WRITE` at a time, resuming after short writes.
fn write_all_slices(file: &mut File, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    while !slices.is_empty() {
        let upto = slices.len().min(MAX_SLICES_PER_WRITE);
        let written = match file.write_vectored(&slices[..upto]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        IoSlice::advance_slices(&mut slices, written);
    }
    Ok(())
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
