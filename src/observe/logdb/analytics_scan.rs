//! The analytics scan of one time span into partial sums (per bucket, in total, per
//! group), and the merge of the spans' partials into the answer's percentiles and tables.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rusqlite::types::ValueRef;
use rusqlite::{params_from_iter, Connection};

use super::analytics::{Analytics, Group, GroupBy, Stats};
use super::entry::{FLAG_CACHED, FLAG_SUCCESS};
use super::id::created_at_of;
use super::query::LogFilter;
use super::LogDbError;

/// How the range is cut: the first bucket's start, the width, how many buckets and tables.
pub(super) struct Shape {
    pub first: i64,
    pub width: i64,
    pub buckets: usize,
    pub groups: usize,
}

/// FxHash (as rustc uses): group keys are short and not attacker-chosen in a way that
/// matters here (a slow table costs the admin who asked), and SipHash was a tenth of
/// the scan.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

type Table = HashMap<String, Sums, BuildHasherDefault<Fx>>;

/// The numbers of one row.
#[derive(Clone, Copy)]
struct Row {
    flags: i64,
    duration: u32,
    ttft: Option<u32>,
    tokens_in: u64,
    tokens_out: u64,
    cost: Option<f64>,
}

/// Sums over a set of entries.
#[derive(Default, Clone)]
pub(super) struct Sums {
    requests: u64,
    errors: u64,
    cached: u64,
    tokens_in: u64,
    tokens_out: u64,
    cost: f64,
    duration_total: u64,
}

impl Sums {
    fn add(&mut self, row: Row) {
        self.requests += 1;
        self.errors += u64::from(row.flags & FLAG_SUCCESS == 0);
        self.cached += u64::from(row.flags & FLAG_CACHED != 0);
        self.tokens_in += row.tokens_in;
        self.tokens_out += row.tokens_out;
        if let Some(c) = row.cost {
            self.cost += c;
        }
        self.duration_total += u64::from(row.duration);
    }

    fn absorb(&mut self, other: &Sums) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.cached += other.cached;
        self.tokens_in += other.tokens_in;
        self.tokens_out += other.tokens_out;
        self.cost += other.cost;
        self.duration_total += other.duration_total;
    }

    fn stats(&self) -> Stats {
        Stats {
            requests: self.requests,
            errors: self.errors,
            cached: self.cached,
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            cost: self.cost,
            duration_avg_ms: (self.requests > 0)
                .then(|| self.duration_total as f64 / self.requests as f64),
            ..Stats::default()
        }
    }
}

/// A bucket: sums, and every duration and time to first token for exact percentiles.
#[derive(Default)]
struct Bucket {
    sums: Sums,
    durations: Vec<u32>,
    ttfts: Vec<u32>,
}

/// What one span's scan found.
pub(super) struct Partial {
    buckets: Vec<Bucket>,
    tables: Vec<Table>,
}

fn non_negative(value: ValueRef<'_>) -> u64 {
    match value {
        ValueRef::Integer(n) => n.max(0).unsigned_abs(),
        _ => 0,
    }
}

fn millis(value: ValueRef<'_>) -> Option<u32> {
    match value {
        ValueRef::Integer(n) => Some(u32::try_from(n.max(0)).unwrap_or(u32::MAX)),
        _ => None,
    }
}

/// A group column's value as a key ("" for NULL).
fn key_text(value: ValueRef<'_>, key: &mut String) {
    use std::fmt::Write;
    key.clear();
    match value {
        ValueRef::Text(t) => key.push_str(&String::from_utf8_lossy(t)),
        ValueRef::Integer(n) => {
            let _ = write!(key, "{n}");
        }
        _ => {}
    }
}

/// Scans the entries `filter` covers (its time range one span of the query's) on `conn`.
pub(super) fn scan_span(
    conn: &Connection,
    filter: &LogFilter,
    group_by: &[GroupBy],
    shape: &Shape,
) -> Result<Partial, LogDbError> {
    let (filter_sql, params) = filter.where_clause();
    let mut columns =
        String::from("rowid, flags, duration_ms, ttft_ms, tokens_in, tokens_out, cost");
    for group in group_by {
        columns.push_str(", ");
        columns.push_str(group.column());
    }
    let mut statement = conn.prepare(&format!("SELECT {columns} FROM logs{filter_sql}"))?;
    let mut rows = statement.query(params_from_iter(params.iter()))?;
    let mut partial = Partial {
        buckets: (0..shape.buckets).map(|_| Bucket::default()).collect(),
        tables: (0..shape.groups).map(|_| Table::default()).collect(),
    };
    let mut key = String::new();
    while let Some(row) = rows.next()? {
        let created = created_at_of(row.get(0)?);
        let numbers = Row {
            flags: row.get(1)?,
            duration: millis(row.get_ref(2)?).unwrap_or(0),
            ttft: millis(row.get_ref(3)?),
            tokens_in: non_negative(row.get_ref(4)?),
            tokens_out: non_negative(row.get_ref(5)?),
            cost: row
                .get_ref(6)?
                .as_f64_or_null()
                .ok()
                .flatten()
                .filter(|c| c.is_finite()),
        };
        let index = usize::try_from((created - shape.first) / shape.width).unwrap_or(0);
        if let Some(bucket) = partial.buckets.get_mut(index) {
            bucket.sums.add(numbers);
            bucket.durations.push(numbers.duration);
            if let Some(t) = numbers.ttft {
                bucket.ttfts.push(t);
            }
        }
        for (column, table) in partial.tables.iter_mut().enumerate() {
            key_text(row.get_ref(7 + column)?, &mut key);
            // Looked up first: the key is copied only for a group's first entry.
            match table.get_mut(key.as_str()) {
                Some(sums) => sums.add(numbers),
                None => table.entry(key.clone()).or_default().add(numbers),
            }
        }
    }
    Ok(partial)
}

/// Exact nearest-rank percentiles over milliseconds: a count per value below 64 Ki
/// (the usual case), the rare longer ones kept as they are.
struct Counts {
    small: Vec<u32>,
    large: Vec<u32>,
    n: usize,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            small: vec![0; 1 << 16],
            large: Vec::new(),
            n: 0,
        }
    }

    fn add_all(&mut self, values: &[u32]) {
        for &v in values {
            match self.small.get_mut(v as usize) {
                Some(slot) => *slot += 1,
                None => self.large.push(v),
            }
        }
        self.n += values.len();
    }

    /// The value at rank ceil(per_mille / 1000 * n).
    fn at(&mut self, per_mille: usize) -> Option<u64> {
        let rank = (self.n * per_mille).div_ceil(1000).clamp(1, self.n.max(1));
        if self.n == 0 {
            return None;
        }
        let mut seen = 0usize;
        for (value, count) in self.small.iter().enumerate() {
            seen += *count as usize;
            if seen >= rank {
                return Some(value as u64);
            }
        }
        let (_, value, _) = self.large.select_nth_unstable(rank - seen - 1);
        Some(u64::from(*value))
    }
}

/// Nearest-rank p50 and p99 of a bucket's values.
fn percentiles(values: &mut [u32]) -> (Option<u64>, Option<u64>) {
    let n = values.len();
    if n == 0 {
        return (None, None);
    }
    let mut at = |per_mille: usize| {
        let rank = (n * per_mille).div_ceil(1000).clamp(1, n);
        let (_, value, _) = values.select_nth_unstable(rank - 1);
        Some(u64::from(*value))
    };
    (at(500), at(990))
}

/// The spans' partials as one answer: buckets and tables added up, percentiles taken.
pub(super) fn merge(partials: Vec<Partial>, shape: &Shape, group_by: &[GroupBy]) -> Analytics {
    let mut buckets: Vec<Bucket> = (0..shape.buckets).map(|_| Bucket::default()).collect();
    let mut tables: Vec<Table> = (0..shape.groups).map(|_| Table::default()).collect();
    for partial in partials {
        for (into, from) in buckets.iter_mut().zip(partial.buckets) {
            into.sums.absorb(&from.sums);
            if into.durations.is_empty() {
                (into.durations, into.ttfts) = (from.durations, from.ttfts);
            } else {
                into.durations.extend_from_slice(&from.durations);
                into.ttfts.extend_from_slice(&from.ttfts);
            }
        }
        for (into, from) in tables.iter_mut().zip(partial.tables) {
            for (key, sums) in from {
                into.entry(key).or_default().absorb(&sums);
            }
        }
    }
    let mut total = Sums::default();
    let (mut durations, mut ttfts) = (Counts::new(), Counts::new());
    let series = buckets
        .into_iter()
        .zip(0..)
        .map(|(mut bucket, i)| {
            total.absorb(&bucket.sums);
            durations.add_all(&bucket.durations);
            ttfts.add_all(&bucket.ttfts);
            let mut stats = bucket.sums.stats();
            (stats.duration_p50_ms, stats.duration_p99_ms) = percentiles(&mut bucket.durations);
            (stats.ttft_p50_ms, stats.ttft_p99_ms) = percentiles(&mut bucket.ttfts);
            (shape.first + i * shape.width, stats)
        })
        .collect();
    let mut totals = total.stats();
    (totals.duration_p50_ms, totals.duration_p99_ms) = (durations.at(500), durations.at(990));
    (totals.ttft_p50_ms, totals.ttft_p99_ms) = (ttfts.at(500), ttfts.at(990));
    let groups = group_by
        .iter()
        .zip(tables)
        .map(|(column, table)| {
            let mut list: Vec<Group> = table
                .into_iter()
                .map(|(key, sums)| Group {
                    key,
                    stats: sums.stats(),
                })
                .collect();
            list.sort_by(|a, b| {
                b.stats
                    .requests
                    .cmp(&a.stats.requests)
                    .then_with(|| a.key.cmp(&b.key))
            });
            (*column, list)
        })
        .collect();
    Analytics {
        series,
        totals,
        groups,
    }
}
