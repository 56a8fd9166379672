//! Conversation messages stored once: a chat request's `messages` elements are looked up by
//! content key in the writer's index of recent chunks (`chunk_index.rs`); its row keeps the rest and the parts.
//!
//! A row's `request_parts` says where each element lies (in the row's own segment or, at
//! most, the one before: its `parts_segment`, which keeps that segment's count up), so
//! reading one back needs no lookup and deleting one no reference counting. Rows of layout
//! 6 name theirs by hash in `request_recipe`, counted in the `chunks` table (read, released).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::bodies::{read_one, StoredBody};
use super::chunk_index::ChunkAt;
use super::segments::segment_path;

/// Elements shorter than this stay in the skeleton: a part costs `PART_BYTES` of its own.
pub const MIN_CHUNK_BYTES: usize = 64;

/// One step of a layout-6 recipe: the chunk (its 16-byte hash) whose bytes go at `at`
/// in the skeleton.
const STEP_BYTES: usize = 4 + 16;

/// One part of `request_parts`: where in the skeleton (u32), the offset (u64, its top bit
/// set for the segment before the row's), the length and the CRC-32 (u32 each), little-endian.
pub(super) const PART_BYTES: usize = 20;
const IN_EARLIER_SEGMENT: u64 = 1 << 63;

/// Appends the part "chunk `at` goes at skeleton position `position`" to `parts` for a
/// row in `row_segment` (`at` is in that segment or the one before).
pub(super) fn push_part(parts: &mut Vec<u8>, position: usize, at: &ChunkAt, row_segment: i64) {
    let earlier = if at.segment == row_segment {
        0
    } else {
        IN_EARLIER_SEGMENT
    };
    parts.extend_from_slice(&u32::try_from(position).unwrap_or(u32::MAX).to_le_bytes());
    parts.extend_from_slice(&(at.offset | earlier).to_le_bytes());
    parts.extend_from_slice(&u32::try_from(at.body.len).unwrap_or(u32::MAX).to_le_bytes());
    parts.extend_from_slice(&at.body.crc.to_le_bytes());
}

/// The request of a row in `row_segment` from its `skeleton` and `parts`; `None` when a
/// chunk is gone or damaged, or the parts do not fit the skeleton.
pub(super) fn assemble_parts(
    dir: &Path,
    row_segment: i64,
    skeleton: &[u8],
    parts: &[u8],
) -> Option<Vec<u8>> {
    if parts.len() % PART_BYTES != 0 {
        return None;
    }
    let mut files: [Option<Option<File>>; 2] = [None, None];
    let pieces = parts.chunks_exact(PART_BYTES).map(|part| {
        let word = |range: std::ops::Range<usize>| -> u64 {
            part[range]
                .iter()
                .rev()
                .fold(0, |n, b| (n << 8) | u64::from(*b))
        };
        let (position, place) = (word(0..4), word(4..12));
        let body = StoredBody {
            len: word(12..16),
            crc: u32::try_from(word(16..20)).ok()?,
        };
        let earlier = usize::from(place & IN_EARLIER_SEGMENT != 0);
        let file = files[earlier]
            .get_or_insert_with(|| File::open(segment_path(dir, row_segment - earlier as i64)).ok())
            .as_ref()?;
        let bytes = read_one(file, place & !IN_EARLIER_SEGMENT, body)?;
        Some((usize::try_from(position).ok()?, bytes))
    });
    splice(skeleton, pieces)
}

/// `skeleton` with each piece's bytes put in at its position (positions in order); `None`
/// when a piece is missing or a position is out of order or past the skeleton.
fn splice(
    skeleton: &[u8],
    pieces: impl Iterator<Item = Option<(usize, Vec<u8>)>>,
) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(skeleton.len());
    let mut copied = 0;
    for piece in pieces {
        let (at, bytes) = piece?;
        body.extend_from_slice(skeleton.get(copied..at)?);
        body.extend_from_slice(&bytes);
        copied = at;
    }
    body.extend_from_slice(skeleton.get(copied..)?);
    Some(body)
}

fn steps(recipe: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    recipe.chunks_exact(STEP_BYTES).map(|step| {
        let mut at = [0; 4];
        at.copy_from_slice(&step[..4]);
        (u32::from_le_bytes(at) as usize, &step[4..])
    })
}

/// Gives back the references a deleted row's `recipe` held; a chunk left with none goes
/// (and a trigger takes it off its segment's count).
pub(super) fn release(tx: &Connection, recipe: &[u8]) -> rusqlite::Result<()> {
    for (_, hash) in steps(recipe) {
        tx.prepare_cached("UPDATE chunks SET refs = refs - 1 WHERE hash = ?1")?
            .execute([hash])?;
        tx.prepare_cached("DELETE FROM chunks WHERE hash = ?1 AND refs <= 0")?
            .execute([hash])?;
    }
    Ok(())
}

/// The request body of a layout-6 row from its `skeleton` and `recipe`; `None` when a
/// chunk is gone or damaged, or the recipe does not fit the skeleton.
pub(super) fn assemble(
    conn: &Connection,
    dir: &Path,
    skeleton: &[u8],
    recipe: &[u8],
) -> rusqlite::Result<Option<Vec<u8>>> {
    if recipe.len() % STEP_BYTES != 0 {
        return Ok(None);
    }
    let mut lookup =
        conn.prepare_cached("SELECT segment, offset, len, crc FROM chunks WHERE hash = ?1")?;
    let mut files: HashMap<i64, Option<File>> = HashMap::new();
    let mut pieces = Vec::new();
    for (at, hash) in steps(recipe) {
        let found: Option<(i64, i64, i64, i64)> = lookup
            .query_row([hash], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        pieces.push(found.and_then(|(segment, offset, len, crc)| {
            let file = files
                .entry(segment)
                .or_insert_with(|| File::open(segment_path(dir, segment)).ok())
                .as_ref()?;
            let stored = StoredBody {
                len: u64::try_from(len).ok()?,
                crc: u32::try_from(crc).ok()?,
            };
            Some((at, read_one(file, u64::try_from(offset).ok()?, stored)?))
        }));
    }
    Ok(splice(skeleton, pieces.into_iter()))
}
