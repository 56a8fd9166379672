//! The response cache shared by all worker threads: byte-bounded, LRU, a TTL per entry,
//! sharded by key so that a lookup takes one short shard lock and one hash probe.

use super::cache_key::CacheKey;
use bytes::Bytes;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Enough shards that 16 workers rarely meet on one lock.
pub const DEFAULT_SHARDS: usize = 16;
/// What an entry costs beyond its bytes: its slot, index entry, `Arc` header and key.
const ENTRY_OVERHEAD_BYTES: usize = 160;
/// What a header costs beyond its name and value: two heap buffers' bookkeeping.
const HEADER_OVERHEAD_BYTES: usize = 48;
/// Longer TTLs are cut to this (about 10 years) so that `now + ttl` cannot overflow.
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// "No slot" in the LRU links.
const NIL: usize = usize::MAX;

/// A stored answer. Immutable once stored: a hit clones the `Arc` and writes it to the
/// client with no lock held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    /// The upstream's status.
    pub status: u16,
    /// The upstream's end-to-end headers (names as sent).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The whole body, de-chunked.
    pub body: Bytes,
    /// When the answer was stored (for an `Age` header).
    pub stored_at: Instant,
}

impl CachedResponse {
    /// The bytes this entry counts against the cache budget.
    pub fn charge(&self) -> usize {
        self.headers.iter().fold(
            ENTRY_OVERHEAD_BYTES.saturating_add(self.body.len()),
            |sum, (name, value)| {
                sum.saturating_add(name.len() + value.len() + HEADER_OVERHEAD_BYTES)
            },
        )
    }
}

/// What `insert` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored, evicting older entries where the shard needed room.
    Stored,
    /// The entry alone is larger than a shard's budget: not stored, nothing evicted.
    TooLarge,
    /// A zero TTL: the entry would be stale at once.
    ZeroTtl,
}

/// Counters summed over all shards (a moment's view; shards are read one after another).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Entries held.
    pub entries: u64,
    /// Bytes charged by the entries held.
    pub bytes: u64,
    /// Lookups that found a fresh entry.
    pub hits: u64,
    /// Lookups that found nothing, or found an expired entry.
    pub misses: u64,
    /// Entries pushed out to make room (least recently used first).
    pub evictions: u64,
    /// Entries found expired on lookup and removed.
    pub expirations: u64,
}

/// One cache for every worker and gateway (`Send + Sync`; share it in an `Arc`).
///
/// Budget: `max_bytes` is split evenly over the shards, and each shard evicts its own
/// least recently used entries. Keys are SHA-256 digests, so shards fill evenly and the
/// split wastes little; in exchange no lookup or insert ever touches more than one lock
/// or a shared counter. The price: an entry larger than `max_bytes / shards` is refused.
#[derive(Debug)]
pub struct ResponseCache {
    shards: Box<[Mutex<Shard>]>,
    /// Each shard's budget, kept here so asking for it takes no lock.
    entry_budget: usize,
}

impl ResponseCache {
    /// A cache of at most `max_bytes` over `DEFAULT_SHARDS` shards.
    pub fn new(max_bytes: u64) -> ResponseCache {
        ResponseCache::with_shards(max_bytes, DEFAULT_SHARDS)
    }

    /// A cache of at most `max_bytes` over `shards` shards (at least one).
    pub fn with_shards(max_bytes: u64, shards: usize) -> ResponseCache {
        let shards = shards.max(1);
        let total = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let budget = total / shards;
        ResponseCache {
            shards: (0..shards)
                .map(|_| Mutex::new(Shard::new(budget)))
                .collect(),
            entry_budget: budget,
        }
    }

    /// The largest entry (as `CachedResponse::charge` counts it) that can be stored: a
    /// shard's budget. A response being captured for the cache is dropped past this.
    pub fn max_entry_bytes(&self) -> usize {
        self.entry_budget
    }

    /// The live entry under `key`, marked most recently used. An expired entry is a miss
    /// and is removed.
    pub fn get(&self, key: &CacheKey, now: Instant) -> Option<Arc<CachedResponse>> {
        self.lock_shard(key).get(key, now)
    }

    /// Stores `response` under `key` for `ttl` from `now`, replacing any entry there and
    /// evicting least recently used entries of the shard until it fits.
    pub fn insert(
        &self,
        key: CacheKey,
        response: CachedResponse,
        ttl: Duration,
        now: Instant,
    ) -> InsertOutcome {
        if ttl.is_zero() {
            return InsertOutcome::ZeroTtl;
        }
        // Checked against `now`, so a TTL no `Instant` can hold is cut to `MAX_TTL`.
        let Some(expires_at) = now.checked_add(ttl.min(MAX_TTL)) else {
            return InsertOutcome::ZeroTtl;
        };
        let charge = response.charge();
        // Built before taking the lock: the allocation is not done under it.
        let value = Arc::new(response);
        self.lock_shard(&key).insert(key, value, charge, expires_at)
    }

    /// Counters summed over every shard.
    pub fn stats(&self) -> CacheStats {
        self.shards
            .iter()
            .fold(CacheStats::default(), |sum, shard| {
                let shard = lock(shard);
                CacheStats {
                    entries: sum.entries + shard.index.len() as u64,
                    bytes: sum.bytes + shard.bytes as u64,
                    hits: sum.hits + shard.hits,
                    misses: sum.misses + shard.misses,
                    evictions: sum.evictions + shard.evictions,
                    expirations: sum.expirations + shard.expirations,
                }
            })
    }

    fn lock_shard(&self, key: &CacheKey) -> MutexGuard<'_, Shard> {
        // The map hashes the first 8 key bytes; the shard comes from the last 8, so the two
        // choices are independent.
        let [.., a, b, c, d, e, f, g, h] = *key;
        let tail = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
        // `shards` is never empty (see `with_shards`), so the modulo is in range.
        let index = (tail % self.shards.len() as u64) as usize;
        lock(&self.shards[index])
    }
}

/// A poisoned shard is still consistent: no shard method panics between its updates.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keys are SHA-256 digests, already uniform: hashing them again would be wasted work,
/// so the map's hash is the key's first 8 bytes.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        match bytes.first_chunk::<8>() {
            Some(head) => self.0 ^= u64::from_le_bytes(*head),
            None => bytes
                .iter()
                .for_each(|b| self.0 = self.0.rotate_left(8) ^ u64::from(*b)),
        }
    }
}

struct Entry {
    key: CacheKey,
    value: Arc<CachedResponse>,
    expires_at: Instant,
    charge: usize,
}

/// Neighbours in the shard's recency list (toward newer, toward older).
#[derive(Clone, Copy)]
struct Link {
    newer: usize,
    older: usize,
}

/// One shard: entries in a slab, an index from key to slot, and a doubly linked recency
/// list through the slots (O(1) touch and evict, no allocation on a hit).
struct Shard {
    index: HashMap<CacheKey, usize, BuildHasherDefault<DigestHasher>>,
    slots: Vec<Option<Entry>>,
    links: Vec<Link>,
    free: Vec<usize>,
    newest: usize,
    oldest: usize,
    bytes: usize,
    budget: usize,
    hits: u64,
    misses: u64,
    evictions: u64,
    expirations: u64,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("entries", &self.index.len())
            .field("bytes", &self.bytes)
            .field("budget", &self.budget)
            .finish()
    }
}

// Slot indices below come only from `index`, `links` and `free`, which the methods keep
// in step with `slots`: every index used is in bounds.
impl Shard {
    fn new(budget: usize) -> Shard {
        Shard {
            index: HashMap::default(),
            slots: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            bytes: 0,
            budget,
            hits: 0,
            misses: 0,
            evictions: 0,
            expirations: 0,
        }
    }

    fn get(&mut self, key: &CacheKey, now: Instant) -> Option<Arc<CachedResponse>> {
        let Some(&slot) = self.index.get(key) else {
            self.misses += 1;
            return None;
        };
        let live = match &self.slots[slot] {
            Some(entry) if entry.expires_at > now => Some(Arc::clone(&entry.value)),
            _ => None,
        };
        match live {
            Some(value) => {
                self.hits += 1;
                self.detach(slot);
                self.attach_newest(slot);
                Some(value)
            }
            None => {
                self.misses += 1;
                self.expirations += 1;
                self.remove(slot);
                None
            }
        }
    }

    fn insert(
        &mut self,
        key: CacheKey,
        value: Arc<CachedResponse>,
        charge: usize,
        expires_at: Instant,
    ) -> InsertOutcome {
        if charge > self.budget {
            return InsertOutcome::TooLarge;
        }
        if let Some(&slot) = self.index.get(&key) {
            self.remove(slot);
        }
        while self.bytes.saturating_add(charge) > self.budget && self.oldest != NIL {
            self.remove(self.oldest);
            self.evictions += 1;
        }
        let entry = Entry {
            key,
            value,
            expires_at,
            charge,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(entry);
                slot
            }
            None => {
                self.slots.push(Some(entry));
                self.links.push(Link {
                    newer: NIL,
                    older: NIL,
                });
                self.slots.len() - 1
            }
        };
        self.attach_newest(slot);
        self.index.insert(key, slot);
        self.bytes += charge;
        InsertOutcome::Stored
    }

    /// Frees `slot`; its old value is dropped here, under the lock, but readers hold
    /// their own `Arc`s so nothing they use is freed.
    fn remove(&mut self, slot: usize) {
        self.detach(slot);
        if let Some(entry) = self.slots[slot].take() {
            self.index.remove(&entry.key);
            self.bytes -= entry.charge;
            self.free.push(slot);
        }
    }

    fn detach(&mut self, slot: usize) {
        let Link { newer, older } = self.links[slot];
        match newer {
            NIL => self.newest = older,
            n => self.links[n].older = older,
        }
        match older {
            NIL => self.oldest = newer,
            o => self.links[o].newer = newer,
        }
        self.links[slot] = Link {
            newer: NIL,
            older: NIL,
        };
    }

    fn attach_newest(&mut self, slot: usize) {
        self.links[slot] = Link {
            newer: NIL,
            older: self.newest,
        };
        match self.newest {
            NIL => self.oldest = slot,
            n => self.links[n].newer = slot,
        }
        self.newest = slot;
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
