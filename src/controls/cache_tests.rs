//! Tests of the response cache: hits and misses, TTL expiry on an injected clock, LRU order
//! under the byte bound, oversize entries, and several threads at once.

use super::*;
use std::thread;

fn key(n: u32) -> CacheKey {
    // Spread like a digest would be: the shard bytes (the tail) and the map bytes (the head)
    // both vary with `n`.
    let mut key = [0u8; 32];
    key[..4].copy_from_slice(&n.to_le_bytes());
    key[28..].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_le_bytes());
    key
}

fn response(body: &str, at: Instant) -> CachedResponse {
    CachedResponse {
        status: 200,
        headers: vec![("content-type".into(), b"application/json".to_vec())],
        body: Bytes::copy_from_slice(body.as_bytes()),
        stored_at: at,
    }
}

const TTL: Duration = Duration::from_secs(60);

fn body_of(found: Option<Arc<CachedResponse>>) -> Option<String> {
    found.map(|r| String::from_utf8_lossy(&r.body).into_owned())
}

#[test]
fn miss_then_hit_returns_what_was_stored() {
    let cache = ResponseCache::new(1 << 20);
    let now = Instant::now();
    assert_eq!(body_of(cache.get(&key(1), now)), None);
    let stored = response("hello", now);
    assert_eq!(
        cache.insert(key(1), stored.clone(), TTL, now),
        InsertOutcome::Stored
    );
    let hit = cache.get(&key(1), now);
    assert_eq!(hit.as_deref(), Some(&stored));
    assert_eq!(body_of(cache.get(&key(2), now)), None);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 2, 1));
    assert_eq!(stats.bytes, stored.charge() as u64);
}

#[test]
fn a_hit_shares_the_stored_entry() {
    let cache = ResponseCache::new(1 << 20);
    let now = Instant::now();
    cache.insert(key(1), response("x", now), TTL, now);
    let (a, b) = (cache.get(&key(1), now), cache.get(&key(1), now));
    assert!(matches!((a, b), (Some(a), Some(b)) if Arc::ptr_eq(&a, &b)));
}

#[test]
fn entry_expires_exactly_at_its_ttl() {
    let cache = ResponseCache::new(1 << 20);
    let t0 = Instant::now();
    cache.insert(key(1), response("a", t0), TTL, t0);
    let just_before = t0 + TTL - Duration::from_nanos(1);
    assert_eq!(body_of(cache.get(&key(1), just_before)), Some("a".into()));
    assert_eq!(body_of(cache.get(&key(1), t0 + TTL)), None);
    let stats = cache.stats();
    assert_eq!((stats.entries, stats.bytes, stats.expirations), (0, 0, 1));
    // Removed, not just hidden: a later earlier-clock lookup does not bring it back.
    assert_eq!(body_of(cache.get(&key(1), t0)), None);
}

#[test]
fn replacing_a_key_keeps_one_entry_and_the_new_ttl() {
    let cache = ResponseCache::new(1 << 20);
    let t0 = Instant::now();
    cache.insert(key(1), response("old", t0), TTL, t0);
    cache.insert(key(1), response("newer", t0), TTL * 2, t0);
    assert_eq!(body_of(cache.get(&key(1), t0 + TTL)), Some("newer".into()));
    let stats = cache.stats();
    assert_eq!(stats.entries, 1);
    assert_eq!(stats.bytes, response("newer", t0).charge() as u64);
}

#[test]
fn least_recently_used_goes_first_under_the_byte_bound() {
    let now = Instant::now();
    let charge = response("0123456789", now).charge() as u64;
    // One shard, room for exactly three entries.
    let cache = ResponseCache::with_shards(charge * 3 + charge / 2, 1);
    for n in 1..=3 {
        cache.insert(key(n), response("0123456789", now), TTL, now);
    }
    // Touch 1, so 2 is now the least recently used.
    assert!(cache.get(&key(1), now).is_some());
    cache.insert(key(4), response("0123456789", now), TTL, now);
    let present: Vec<u32> = (1..=4)
        .filter(|n| cache.get(&key(*n), now).is_some())
        .collect();
    assert_eq!(present, [1, 3, 4]);
    let stats = cache.stats();
    assert_eq!((stats.entries, stats.evictions), (3, 1));
    assert!(stats.bytes <= charge * 3);

    // A bigger entry pushes out as many of the oldest as it needs.
    let big = "x".repeat(10 + charge as usize);
    cache.insert(key(5), response(&big, now), TTL, now);
    let present: Vec<u32> = (1..=5)
        .filter(|n| cache.get(&key(*n), now).is_some())
        .collect();
    assert_eq!(present, [4, 5]);
    assert_eq!(cache.stats().evictions, 3);
}

#[test]
fn an_entry_larger_than_the_budget_is_refused_and_evicts_nothing() {
    let now = Instant::now();
    let small = response("s", now);
    let cache = ResponseCache::with_shards(small.charge() as u64 * 4, 1);
    cache.insert(key(1), small, TTL, now);
    let huge = response(&"h".repeat(10_000), now);
    assert_eq!(
        cache.insert(key(2), huge, TTL, now),
        InsertOutcome::TooLarge
    );
    assert!(cache.get(&key(1), now).is_some());
    assert!(cache.get(&key(2), now).is_none());
    assert_eq!(cache.stats().evictions, 0);
}

#[test]
fn zero_budget_and_zero_ttl_store_nothing() {
    let now = Instant::now();
    let empty = ResponseCache::new(0);
    assert_eq!(
        empty.insert(key(1), response("a", now), TTL, now),
        InsertOutcome::TooLarge
    );
    let cache = ResponseCache::new(1 << 20);
    assert_eq!(
        cache.insert(key(1), response("a", now), Duration::ZERO, now),
        InsertOutcome::ZeroTtl
    );
    assert_eq!(cache.stats().entries, 0);
}

#[test]
fn a_huge_ttl_is_capped_not_overflowed() {
    let cache = ResponseCache::new(1 << 20);
    let now = Instant::now();
    let stored = cache.insert(key(1), response("a", now), Duration::MAX, now);
    assert_eq!(stored, InsertOutcome::Stored);
    assert!(cache
        .get(&key(1), now + Duration::from_secs(365 * 24 * 3600))
        .is_some());
}

#[test]
fn freed_slots_are_reused() {
    let now = Instant::now();
    let charge = response("abc", now).charge() as u64;
    let cache = ResponseCache::with_shards(charge * 2, 1);
    for n in 0..100 {
        cache.insert(key(n), response("abc", now), TTL, now);
    }
    let stats = cache.stats();
    assert_eq!((stats.entries, stats.evictions), (2, 98));
    let slots = lock(&cache.shards[0]).slots.len();
    assert!(slots <= 3, "slab grew to {slots} slots");
    assert!(cache.get(&key(98), now).is_some() && cache.get(&key(99), now).is_some());
}

#[test]
fn shared_by_threads_stays_consistent() {
    const THREADS: u32 = 8;
    const ROUNDS: u32 = 2_000;
    const KEYS: u32 = 64;
    let now = Instant::now();
    // Small enough that the threads evict each other's entries all the time.
    let budget = response("key-00000", now).charge() as u64 * 32;
    let cache = Arc::new(ResponseCache::with_shards(budget, 4));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let cache = Arc::clone(&cache);
            thread::spawn(move || {
                let mut hits = 0u64;
                for round in 0..ROUNDS {
                    let n = (round * 7 + t * 13) % KEYS;
                    match cache.get(&key(n), now) {
                        // Every hit holds the body stored under that very key.
                        Some(found) => {
                            assert_eq!(&found.body[..], format!("key-{n:05}").as_bytes());
                            hits += 1;
                        }
                        None => {
                            let body = format!("key-{n:05}");
                            cache.insert(key(n), response(&body, now), TTL, now);
                        }
                    }
                }
                hits
            })
        })
        .collect();
    let hits: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("a cache thread panicked"))
        .sum();
    let stats = cache.stats();
    assert_eq!(stats.hits, hits);
    assert_eq!(stats.hits + stats.misses, u64::from(THREADS * ROUNDS));
    assert!(stats.hits > 0 && stats.evictions > 0, "{stats:?}");
    assert!(stats.bytes <= budget, "{stats:?}");
    assert_eq!(
        stats.bytes,
        stats.entries * response("key-00000", now).charge() as u64
    );
}
