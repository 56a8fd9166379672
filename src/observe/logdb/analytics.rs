//! Analytics over the request log: one scan of a time range into time buckets and top
//! groups (requests, errors, cache hits, tokens, cost, p50/p99 duration and TTFT).

use std::collections::HashMap;

use rusqlite::params_from_iter;
use rusqlite::types::ValueRef;

use super::entry::{FLAG_CACHED, FLAG_SUCCESS};
use super::id::created_at_of;
use super::query::LogFilter;
use super::{LogDbError, LogStore};

/// The most time buckets one query may ask for (a week by minute is 10,080).
pub const MAX_BUCKETS: i64 = 20_000;

/// The width of a time bucket; buckets start on whole UTC minutes, hours or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// 60 s.
    Minute,
    /// 3600 s.
    Hour,
    /// 86,400 s (UTC days).
    Day,
}

impl Bucket {
    /// From the API's name (`minute`, `hour`, `day`).
    pub fn from_name(name: &str) -> Option<Bucket> {
        Some(match name {
            "minute" => Bucket::Minute,
            "hour" => Bucket::Hour,
            "day" => Bucket::Day,
            _ => return None,
        })
    }

    /// The API's name.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Minute => "minute",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    /// Its width in ms.
    pub fn millis(self) -> i64 {
        match self {
            Bucket::Minute => 60_000,
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }

    /// The bucket that gives a readable chart of `span_ms`: minutes up to 6 hours,
    /// hours up to 8 days, days beyond.
    pub fn for_span(span_ms: i64) -> Bucket {
        match span_ms {
            s if s <= 6 * 3_600_000 => Bucket::Minute,
            s if s <= 8 * 86_400_000 => Bucket::Hour,
            _ => Bucket::Day,
        }
    }
}

/// A column the top tables group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Provider slug.
    Provider,
    /// The model as the client asked for it.
    Model,
    /// The access token's id ("" for requests without one).
    Token,
    /// The HTTP status (as text).
    Status,
}

impl GroupBy {
    /// From the API's name (`provider`, `model`, `token`, `status`).
    pub fn from_name(name: &str) -> Option<GroupBy> {
        Some(match name {
            "provider" => GroupBy::Provider,
            "model" => GroupBy::Model,
            "token" | "access_token" => GroupBy::Token,
            "status" => GroupBy::Status,
            _ => return None,
        })
    }

    /// The API's name.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Provider => "provider",
            GroupBy::Model => "model",
            GroupBy::Token => "token",
            GroupBy::Status => "status",
        }
    }

    fn column(self) -> &'static str {
        match self {
            GroupBy::Provider => "provider",
            GroupBy::Model => "model",
            GroupBy::Token => "access_token",
            GroupBy::Status => "status",
        }
    }
}

/// What an analytics query covers and how it is cut.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsQuery {
    /// Which entries; its `created_from`/`created_to` are set from `from`/`to`.
    pub filter: LogFilter,
    /// Start of the range, ms, inclusive.
    pub from: i64,
    /// End of the range, ms, exclusive.
    pub to: i64,
    /// The series' bucket width.
    pub bucket: Bucket,
    /// The top tables wanted, one per column.
    pub group_by: Vec<GroupBy>,
}

/// Sums and percentiles over a set of entries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Entries.
    pub requests: u64,
    /// Entries whose status was not 2xx.
    pub errors: u64,
    /// Entries answered from the cache.
    pub cached: u64,
    /// Input tokens summed.
    pub tokens_in: u64,
    /// Output tokens summed.
    pub tokens_out: u64,
    /// USD, over the entries whose cost is known.
    pub cost: f64,
    /// Median duration (nearest rank); `None` without entries.
    pub duration_p50_ms: Option<u64>,
    /// 99th percentile duration.
    pub duration_p99_ms: Option<u64>,
    /// Median time to first token, over the entries that have one.
    pub ttft_p50_ms: Option<u64>,
    /// 99th percentile time to first token.
    pub ttft_p99_ms: Option<u64>,
}

/// One group of a top table: its key ("" where the column is empty) and its stats.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The column's value.
    pub key: String,
    /// Over the group's entries.
    pub stats: Stats,
}

/// The answer: the series (every bucket of the range, empty ones included), the totals
/// and, per `group_by` column, every group, most requests first.
#[derive(Debug, Clone, PartialEq)]
pub struct Analytics {
    /// Each bucket's start (ms) and stats, oldest first.
    pub series: Vec<(i64, Stats)>,
    /// Over the whole range.
    pub totals: Stats,
    /// In `group_by`'s order.
    pub groups: Vec<(GroupBy, Vec<Group>)>,
}

/// Stats being gathered: durations kept for exact percentiles (4 bytes an entry).
#[derive(Default)]
struct Acc {
    stats: Stats,
    durations: Vec<u32>,
    ttfts: Vec<u32>,
}

/// The numbers of one row the accumulators take.
#[derive(Clone, Copy)]
struct RowNumbers {
    flags: i64,
    duration: u32,
    ttft: Option<u32>,
    tokens_in: u64,
    tokens_out: u64,
    cost: Option<f64>,
}

impl Acc {
    fn add(&mut self, row: RowNumbers) {
        let s = &mut self.stats;
        s.requests += 1;
        s.errors += u64::from(row.flags & FLAG_SUCCESS == 0);
        s.cached += u64::from(row.flags & FLAG_CACHED != 0);
        s.tokens_in += row.tokens_in;
        s.tokens_out += row.tokens_out;
        if let Some(c) = row.cost {
            s.cost += c;
        }
        self.durations.push(row.duration);
        if let Some(t) = row.ttft {
            self.ttfts.push(t);
        }
    }

    fn finish(mut self) -> Stats {
        (self.stats.duration_p50_ms, self.stats.duration_p99_ms) = percentiles(&mut self.durations);
        (self.stats.ttft_p50_ms, self.stats.ttft_p99_ms) = percentiles(&mut self.ttfts);
        self.stats
    }
}

/// Nearest-rank p50 and p99 (the value at rank ceil(p * n)).
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

fn non_negative(value: ValueRef<'_>) -> u64 {
    match value {
        ValueRef::Integer(n) => n.max(0).unsigned_abs(),
        _ => 0,
    }
}

fn clamp_u32(value: ValueRef<'_>) -> Option<u32> {
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

impl LogStore {
    /// The series, totals and top groups of `query`, in one pass over its time range
    /// (a range of table keys, see `id.rs`). `Err(BadQuery)` for an empty range or one
    /// of more than [`MAX_BUCKETS`] buckets.
    pub fn analytics(&self, query: &AnalyticsQuery) -> Result<Analytics, LogDbError> {
        let width = query.bucket.millis();
        let first = query.from.div_euclid(width) * width;
        if query.to <= query.from {
            return Err(LogDbError::BadQuery("the range must end after it starts"));
        }
        let buckets = (query.to - first + width - 1) / width;
        if buckets > MAX_BUCKETS {
            return Err(LogDbError::BadQuery(
                "too many buckets: choose a wider bucket",
            ));
        }
        let filter = LogFilter {
            created_from: Some(query.from),
            created_to: Some(query.to),
            ..query.filter.clone()
        };
        let (filter_sql, params) = filter.where_clause();
        let mut columns =
            String::from("rowid, flags, duration_ms, ttft_ms, tokens_in, tokens_out, cost");
        for group in &query.group_by {
            columns.push_str(", ");
            columns.push_str(group.column());
        }
        let sql = format!("SELECT {columns} FROM logs{filter_sql}");
        let mut statement = self.connection().prepare(&sql)?;
        let mut rows = statement.query(params_from_iter(params.iter()))?;
        let mut series: Vec<Acc> = (0..buckets).map(|_| Acc::default()).collect();
        let mut totals = Acc::default();
        let mut groups: Vec<HashMap<String, Acc>> =
            query.group_by.iter().map(|_| HashMap::new()).collect();
        let mut key = String::new();
        while let Some(row) = rows.next()? {
            let created = created_at_of(row.get(0)?);
            let numbers = RowNumbers {
                flags: row.get(1)?,
                duration: clamp_u32(row.get_ref(2)?).unwrap_or(0),
                ttft: clamp_u32(row.get_ref(3)?),
                tokens_in: non_negative(row.get_ref(4)?),
                tokens_out: non_negative(row.get_ref(5)?),
                cost: row
                    .get_ref(6)?
                    .as_f64_or_null()
                    .ok()
                    .flatten()
                    .filter(|c| c.is_finite()),
            };
            let index = usize::try_from((created - first) / width).unwrap_or(0);
            if let Some(acc) = series.get_mut(index) {
                acc.add(numbers);
            }
            totals.add(numbers);
            for (column, table) in groups.iter_mut().enumerate() {
                key_text(row.get_ref(7 + column)?, &mut key);
                // Looked up first: the key is copied only for a group's first entry.
                match table.get_mut(key.as_str()) {
                    Some(acc) => acc.add(numbers),
                    None => table.entry(key.clone()).or_default().add(numbers),
                }
            }
        }
        let series = series
            .into_iter()
            .zip(0..)
            .map(|(acc, i)| (first + i * width, acc.finish()))
            .collect();
        let groups = query
            .group_by
            .iter()
            .zip(groups)
            .map(|(column, table)| {
                let mut list: Vec<Group> = table
                    .into_iter()
                    .map(|(key, acc)| Group {
                        key,
                        stats: acc.finish(),
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
        Ok(Analytics {
            series,
            totals: totals.finish(),
            groups,
        })
    }
}
