//! The writer's index of stored chunks by key, and the keys: XXH3-128 under a per-process
//! secret, computed by a worker while the request body is still in its cache.
//!
//! An open-addressing table of 40-byte slots rather than a `HashMap`: the writer looks up
//! every message of every request, the table is far larger than the cache, and with slots
//! it can touch ahead (`prefetch`) the next request's lookups overlap instead of each
//! waiting out its own cache miss.

use super::bodies::StoredBody;

/// A chunk's key: XXH3-128 of its bytes under this process's random secret (so nobody can
/// make a message collide with another's on purpose: the secret never leaves the process).
/// A restart draws a new secret: rows say where their chunks are, so only the sharing with
/// chunks stored before starts over.
pub type ChunkKey = u128;

/// The key of the chunk `bytes`.
pub fn key_of(bytes: &[u8]) -> ChunkKey {
    use twox_hash::XxHash3_128;
    // twox-hash picks AVX2 at run time where the CPU has it (twice SSE2's 16 bytes a step).
    hash_secret()
        .and_then(|secret| XxHash3_128::oneshot_with_secret(secret, bytes).ok())
        // No system randomness: the default secret still dedups; only its secrecy is lost.
        .unwrap_or_else(|| XxHash3_128::oneshot(bytes))
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

/// Where a stored chunk's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChunkAt {
    pub segment: i64,
    pub offset: u64,
    pub body: StoredBody,
}

/// The most chunks the index holds; past it, it starts over: only the sharing with
/// earlier requests is lost. The table then has twice as many slots (20 MiB).
const MAX_INDEXED: usize = 1 << 18;
const FIRST_SLOTS: usize = 1024;

/// One slot; `len` 0 marks it empty (a chunk is at least `MIN_CHUNK_BYTES` long).
#[derive(Clone, Copy, Default)]
struct Slot {
    key: [u64; 2],
    segment: i64,
    offset: u64,
    len: u32,
    crc: u32,
}

/// The chunks stored in the writer's current segment and the one before, by key (in
/// memory: a restart starts it empty, as it draws a new hashing secret anyway).
#[derive(Default)]
pub(super) struct ChunkIndex {
    /// A power of two long (or empty), at most half full.
    slots: Vec<Slot>,
    len: usize,
    /// Scratch for `rebuild`, kept for its memory.
    kept: Vec<Slot>,
}

fn halves(key: ChunkKey) -> [u64; 2] {
    [key as u64, (key >> 64) as u64]
}

impl ChunkIndex {
    /// Where the chunk `key` is stored, if it is.
    pub fn find(&self, key: ChunkKey) -> Option<ChunkAt> {
        let key = halves(key);
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = key[0] as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.len == 0 {
                return None;
            }
            if slot.key == key {
                return Some(ChunkAt {
                    segment: slot.segment,
                    offset: slot.offset,
                    body: StoredBody {
                        len: u64::from(slot.len),
                        crc: slot.crc,
                    },
                });
            }
            i = (i + 1) & mask;
        }
    }

    /// Starts loading the slot `key` would be found in, for a `find` a little later.
    pub fn prefetch(&self, key: ChunkKey) {
        let Some(mask) = self.slots.len().checked_sub(1) else {
            return;
        };
        let slot = &self.slots[halves(key)[0] as usize & mask];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint that reads nothing architecturally; both pointers
        // are into a live slot anyway (its first and last byte: a slot may straddle two
        // cache lines).
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let first = (slot as *const Slot).cast::<i8>();
            _mm_prefetch::<_MM_HINT_T0>(first);
            _mm_prefetch::<_MM_HINT_T0>(first.add(std::mem::size_of::<Slot>() - 1));
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// Records the chunk `key` just written at `at` (one too long for a slot is not kept).
    pub fn insert(&mut self, key: ChunkKey, at: ChunkAt) {
        let Ok(len) = u32::try_from(at.body.len) else {
            return;
        };
        if len == 0 {
            return;
        }
        if self.len >= MAX_INDEXED {
            self.clear();
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.rebuild((self.slots.len() * 2).max(FIRST_SLOTS), |_| true);
        }
        self.put(Slot {
            key: halves(key),
            segment: at.segment,
            offset: at.offset,
            len,
            crc: at.body.crc,
        });
    }

    /// Keeps the chunks of `segment` only (the one before a new segment).
    pub fn keep_only(&mut self, segment: i64) {
        self.rebuild(self.slots.len(), |slot| slot.segment == segment);
    }

    /// Forgets the chunks of `segment` (gone, or its rows all deleted).
    pub fn forget(&mut self, segment: i64) {
        self.rebuild(self.slots.len(), |slot| slot.segment != segment);
    }

    /// Forgets every chunk (the slots stay allocated).
    pub fn clear(&mut self) {
        self.slots.fill(Slot::default());
        self.len = 0;
    }

    /// How many chunks it holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Puts a slot into a table with room (its key not yet in it).
    fn put(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let mut i = slot.key[0] as usize & mask;
        while self.slots[i].len != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
        self.len += 1;
    }

    /// The table again with `slots` slots and the chunks `keep` says yes to (linear
    /// probing cannot just empty a slot: a later key's probe would stop there). Done in
    /// the same memory when the size stays: a fresh table of this size is megabytes of
    /// new pages, each a fault and zeroing, at every segment roll.
    fn rebuild(&mut self, slots: usize, keep: impl Fn(&Slot) -> bool) {
        let mut kept = std::mem::take(&mut self.kept);
        kept.clear();
        kept.extend(self.slots.iter().filter(|s| s.len != 0 && keep(s)));
        if slots == self.slots.len() {
            self.slots.fill(Slot::default());
        } else {
            self.slots = vec![Slot::default(); slots];
        }
        self.len = 0;
        for slot in kept.drain(..) {
            self.put(slot);
        }
        self.kept = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(segment: i64, offset: u64) -> ChunkAt {
        ChunkAt {
            segment,
            offset,
            body: StoredBody { len: 64, crc: 7 },
        }
    }

    #[test]
    fn finds_what_was_inserted_across_growth_and_collisions() {
        let mut index = ChunkIndex::default();
        assert_eq!(index.find(1), None);
        // Keys equal in their low bits all probe from the same slot.
        let keys: Vec<ChunkKey> = (1..5000u128).map(|n| n << 64 | 5).collect();
        for (n, key) in keys.iter().enumerate() {
            index.insert(*key, at(1, n as u64));
        }
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(index.find(*key), Some(at(1, n as u64)));
        }
        assert_eq!(index.find(5), None);
        assert_eq!(index.len(), keys.len());
    }

    #[test]
    fn keeps_or_forgets_a_segments_chunks() {
        let mut index = ChunkIndex::default();
        for n in 0..300u128 {
            index.insert(key_of(&n.to_le_bytes()), at(1 + (n % 3) as i64, n as u64));
        }
        index.forget(2);
        index.keep_only(3);
        for n in 0..300u128 {
            let found = index.find(key_of(&n.to_le_bytes()));
            assert_eq!(found.is_some(), n % 3 == 2, "chunk {n}");
        }
        index.clear();
        assert_eq!(index.len(), 0);
        assert_eq!(index.find(key_of(&2u128.to_le_bytes())), None);
    }

    #[test]
    fn a_chunk_too_long_for_a_slot_is_not_indexed() {
        let mut index = ChunkIndex::default();
        let mut long = at(1, 0);
        long.body.len = u64::from(u32::MAX) + 1;
        index.insert(9, long);
        assert_eq!(index.find(9), None);
    }
}
