//! Conversation messages stored once: a chat request's larger `messages` elements go to
//! `chunks` by content hash; its row keeps the rest (the skeleton) and a recipe to splice.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::bodies::{read_one, StoredBody};
use super::messages::message_elements;
use super::segments::segment_path;

/// Elements shorter than this stay in the skeleton: a lookup costs more than they save.
pub(super) const MIN_CHUNK_BYTES: usize = 256;

/// A chunk's key: XXH3-128 of its bytes under this process's random secret (so nobody can
/// make a message collide with another's on purpose: the secret never leaves the process).
/// A restart draws a new secret: chunks stored before still read back by the hash their
/// recipes hold; only the sharing with them starts over.
pub(super) type ChunkHash = [u8; 16];

/// One recipe step: the chunk whose bytes go at `at` in the skeleton.
const STEP_BYTES: usize = 4 + 16;

fn hash_of(bytes: &[u8]) -> ChunkHash {
    let hash = match hash_secret() {
        Some(secret) => xxhash_rust::xxh3::xxh3_128_with_secret(bytes, secret),
        // No system randomness: the default secret still dedups; only its secrecy is lost.
        None => xxhash_rust::xxh3::xxh3_128(bytes),
    };
    hash.to_le_bytes()
}

/// The process's hashing secret, drawn once (XXH3 wants at least 136 bytes).
fn hash_secret() -> Option<&'static [u8]> {
    static SECRET: std::sync::OnceLock<Option<[u8; 192]>> = std::sync::OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        use ring::rand::SecureRandom;
        let mut secret = [0u8; 192];
        ring::rand::SystemRandom::new().fill(&mut secret).ok()?;
        Some(secret)
    });
    secret.as_ref().map(|s| s.as_slice())
}

/// One element of a request to store as a chunk reference.
pub(super) struct ChunkRef {
    pub span: Range<usize>,
    pub hash: ChunkHash,
    /// Its bytes are not stored yet: this entry writes them.
    pub new: bool,
}

/// The elements of `body` worth storing as chunks, and whether each is new; `seen` holds
/// the hashes this write already stores (the same element twice in one drain), and gets
/// this body's new ones only when the whole plan succeeds.
pub(super) fn plan(
    conn: &Connection,
    body: &[u8],
    seen: &mut HashSet<ChunkHash>,
) -> rusqlite::Result<Vec<ChunkRef>> {
    let Some(mut spans) = message_elements(body) else {
        return Ok(Vec::new());
    };
    spans.retain(|s| s.len() >= MIN_CHUNK_BYTES);
    // Most requests: nothing to look up (the statement cache itself costs a hash).
    if spans.is_empty() {
        return Ok(Vec::new());
    }
    let mut known = conn.prepare_cached("SELECT 1 FROM chunks WHERE hash = ?1")?;
    let mut refs = Vec::new();
    let mut fresh = Vec::new();
    for span in spans {
        let hash = hash_of(&body[span.clone()]);
        let new = !seen.contains(&hash)
            && !fresh.contains(&hash)
            && known
                .query_row([&hash[..]], |_| Ok(()))
                .optional()?
                .is_none();
        if new {
            fresh.push(hash);
        }
        refs.push(ChunkRef { span, hash, new });
    }
    seen.extend(fresh);
    Ok(refs)
}

/// Registers the new chunk `hash` at `offset` of `segment`, with one reference.
pub(super) fn take_new(
    tx: &Connection,
    hash: &ChunkHash,
    segment: i64,
    offset: u64,
    body: StoredBody,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO chunks (hash, segment, offset, len, crc, refs) VALUES (?1, ?2, ?3, ?4, ?5, 1)",
    )?
    .execute(rusqlite::params![
        &hash[..],
        segment,
        i64::try_from(offset).unwrap_or(i64::MAX),
        i64::try_from(body.len).unwrap_or(i64::MAX),
        body.crc
    ])?;
    Ok(())
}

/// Takes one more reference on the stored chunk `hash`; an error if it is not there
/// (the transaction is then rolled back rather than a row naming a missing chunk).
pub(super) fn take_known(tx: &Connection, hash: &ChunkHash) -> rusqlite::Result<()> {
    let changed = tx
        .prepare_cached("UPDATE chunks SET refs = refs + 1 WHERE hash = ?1")?
        .execute([&hash[..]])?;
    if changed == 1 {
        Ok(())
    } else {
        Err(rusqlite::Error::QueryReturnedNoRows)
    }
}

/// Appends the recipe step "chunk `hash` at skeleton position `at`" to `recipe`.
pub(super) fn push_step(recipe: &mut Vec<u8>, at: usize, hash: &ChunkHash) {
    recipe.extend_from_slice(&u32::try_from(at).unwrap_or(u32::MAX).to_le_bytes());
    recipe.extend_from_slice(hash);
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

/// The request body from its `skeleton` and `recipe`; `None` when a chunk is gone or
/// damaged, or the recipe does not fit the skeleton.
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
    let mut body = Vec::with_capacity(skeleton.len());
    let mut copied = 0;
    for (at, hash) in steps(recipe) {
        let Some(before) = skeleton.get(copied..at) else {
            return Ok(None);
        };
        body.extend_from_slice(before);
        copied = at;
        let found: Option<(i64, i64, i64, i64)> = lookup
            .query_row([hash], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .optional()?;
        let chunk = found.and_then(|(segment, offset, len, crc)| {
            let file = files
                .entry(segment)
                .or_insert_with(|| File::open(segment_path(dir, segment)).ok())
                .as_ref()?;
            let stored = StoredBody {
                len: u64::try_from(len).ok()?,
                crc: u32::try_from(crc).ok()?,
            };
            read_one(file, u64::try_from(offset).ok()?, stored)
        });
        let Some(chunk) = chunk else {
            return Ok(None);
        };
        body.extend_from_slice(&chunk);
    }
    let Some(rest) = skeleton.get(copied..) else {
        return Ok(None);
    };
    body.extend_from_slice(rest);
    Ok(Some(body))
}
