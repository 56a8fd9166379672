//! Log ids: UUIDv7 whose 48-bit timestamp is the entry's `created_at`, made per
//! thread without a syscall or a lock, and the table key derived from that timestamp.

use std::cell::Cell;
use std::fmt;

/// Bits of the table key below the millisecond (see [`row_key_range`]).
const KEY_SEQ_BITS: u32 = 19;
/// The largest millisecond a key can hold (about the year 2248); one more still
/// shifts without overflow, as the open end of a range.
const MAX_KEY_MILLIS: i64 = (1 << (62 - KEY_SEQ_BITS)) - 1;

/// A log id as sent in `cf-aig-log-id`: a lowercase hyphenated UUIDv7 (36 ASCII bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogId([u8; 36]);

impl LogId {
    /// The all-zero UUID: the id of an entry not filled in yet.
    pub const NIL: LogId = LogId(*b"00000000-0000-0000-0000-000000000000");

    /// A new id for an entry created at `millis` (since the Unix epoch). Ids made on one
    /// thread within one millisecond count up from a random start; threads have their
    /// own random streams.
    pub fn new(millis: i64) -> LogId {
        let millis = u64::try_from(millis.clamp(0, MAX_KEY_MILLIS)).unwrap_or(0);
        let tail = ID_STATE.with(|state| {
            let (last_millis, last_tail) = state.get();
            let tail = if last_millis == millis {
                last_tail.wrapping_add(1)
            } else {
                // 80 random bits with the top one clear, so the counter has room to grow.
                let high = u128::from(next_random());
                let low = u128::from(next_random());
                ((high << 64) | low) & ((1u128 << 79) - 1)
            };
            state.set((millis, tail));
            tail
        });
        let mut counter_random = [0u8; 10];
        counter_random.copy_from_slice(&tail.to_be_bytes()[6..]);
        let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &counter_random).into_uuid();
        let mut text = [0u8; 36];
        uuid.hyphenated().encode_lower(&mut text);
        LogId(text)
    }

    /// Reads an id back (as stored, or from a URL); `None` unless it is a UUID.
    pub fn parse(text: &str) -> Option<LogId> {
        let uuid = uuid::Uuid::try_parse(text).ok()?;
        let mut out = [0u8; 36];
        uuid.hyphenated().encode_lower(&mut out);
        Some(LogId(out))
    }

    /// The id as text (lowercase UUID).
    pub fn as_str(&self) -> &str {
        // Only ever filled by `encode_lower`: ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The millisecond in the id's first 48 bits.
    pub fn millis(&self) -> i64 {
        let hex = self.0.iter().filter(|b| **b != b'-').take(12);
        hex.fold(0i64, |acc, b| (acc << 4) | i64::from(hex_value(*b)))
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => 0,
    }
}

/// The table keys (SQLite rowids) of entries created in `[from, to)` ms. A key is the
/// creation millisecond shifted left by 19 bits plus a writer sequence number, so that
/// time order, time ranges and lookups by id (whose millisecond is known) need no index.
pub fn row_key_range(from: i64, to: i64) -> (i64, i64) {
    let key = |ms: i64| ms.clamp(0, MAX_KEY_MILLIS + 1) << KEY_SEQ_BITS;
    (key(from), key(to))
}

/// The key of the `seq`-th entry the writer stores for millisecond `created_at`.
pub fn row_key(created_at: i64, seq: u64) -> i64 {
    let low = i64::try_from(seq & ((1 << KEY_SEQ_BITS) - 1)).unwrap_or(0);
    row_key_range(created_at, created_at).0 | low
}

/// The creation millisecond a table key holds.
pub fn created_at_of(key: i64) -> i64 {
    key >> KEY_SEQ_BITS
}

thread_local! {
    /// (millisecond of the last id, its 80-bit counter-and-random tail).
    static ID_STATE: Cell<(u64, u128)> = const { Cell::new((u64::MAX, 0)) };
    /// This thread's random stream (seeded once from std's per-process random keys).
    static ID_RANDOM: Cell<u64> = Cell::new({
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0));
        hasher.finish()
    });
}

/// splitmix64 over this thread's stream.
fn next_random() -> u64 {
    let seed = ID_RANDOM.with(|r| {
        let next = r.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        r.set(next);
        next
    });
    let mut z = seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_unique_ordered_and_carry_their_millisecond() {
        let ms = 1_764_115_200_123;
        let ids: Vec<LogId> = (0..2000).map(|_| LogId::new(ms)).collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id.as_str()).map(|u| u.get_version_num());
            assert_eq!(parsed.ok(), Some(7), "{id}");
            assert!(matches!(id.0[19], b'8' | b'9' | b'a' | b'b'), "{id}");
            assert_eq!(id.millis(), ms);
            assert_eq!(LogId::parse(id.as_str()), Some(*id));
        }
        assert!(ids.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
        let other = std::thread::spawn(move || LogId::new(ms)).join().ok();
        assert!(other.is_some_and(|o| !ids.contains(&o)));
        assert_eq!(LogId::parse("log-1"), None);
    }

    #[test]
    fn keys_order_by_millisecond_then_sequence() {
        assert!(row_key(5, 1) < row_key(5, 2));
        assert_eq!(
            created_at_of(row_key(1_764_115_200_123, 77)),
            1_764_115_200_123
        );
        assert!(row_key(5, (1 << 19) - 1) < row_key(6, 0));
        let (from, to) = row_key_range(5, 6);
        assert!(from <= row_key(5, 0) && row_key(5, 999) < to);
        assert_eq!(row_key_range(-3, i64::MAX).0, 0);
        assert!(row_key_range(0, i64::MAX).1 > row_key(MAX_KEY_MILLIS, u64::MAX));
    }
}
