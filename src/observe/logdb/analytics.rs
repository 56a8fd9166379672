//! Analytics over the request log: one scan of a time range into time buckets and top
//! groups (requests, errors, cache hits, tokens, cost, p50/p99 duration and TTFT).

use rusqlite::{Connection, OpenFlags};

use super::analytics_scan::{merge, scan_span, Partial, Shape};
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

    pub(super) fn column(self) -> &'static str {
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
    /// Mean duration; `None` without entries.
    pub duration_avg_ms: Option<f64>,
    /// Median duration (nearest rank); `None` without entries, and in top-table rows.
    pub duration_p50_ms: Option<u64>,
    /// 99th percentile duration.
    pub duration_p99_ms: Option<u64>,
    /// Median time to first token, over the entries that have one.
    pub ttft_p50_ms: Option<u64>,
    /// 99th percentile time to first token.
    pub ttft_p99_ms: Option<u64>,
}

/// One group of a top table: its key ("" where the column is empty) and its stats
/// (sums and the mean duration; no percentiles, which would cost a copy of every
/// duration per table).
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

impl LogStore {
    /// The series, totals and top groups of `query`, in one pass over its time range
    /// (a range of table keys, see `id.rs`), cut in up to [`MAX_SCAN_THREADS`] spans read
    /// at once on their own connections. `Err(BadQuery)` for an empty range or one of
    /// more than [`MAX_BUCKETS`] buckets.
    pub fn analytics(&self, query: &AnalyticsQuery) -> Result<Analytics, LogDbError> {
        let width = query.bucket.millis();
        if query.to <= query.from {
            return Err(LogDbError::BadQuery("the range must end after it starts"));
        }
        let first = query.from.div_euclid(width) * width;
        let buckets = (query.to - first + width - 1) / width;
        if buckets > MAX_BUCKETS {
            return Err(LogDbError::BadQuery(
                "too many buckets: choose a wider bucket",
            ));
        }
        let shape = Shape {
            first,
            width,
            buckets: usize::try_from(buckets).unwrap_or(0),
            groups: query.group_by.len(),
        };
        let spans = spans(query.from, query.to, scan_threads());
        let scan = |conn: &Connection, (from, to): (i64, i64)| {
            let filter = LogFilter {
                created_from: Some(from),
                created_to: Some(to),
                ..query.filter.clone()
            };
            scan_span(conn, &filter, &query.group_by, &shape)
        };
        let path = self.connection().path().map(str::to_string);
        let partials = match (spans.split_first(), path) {
            (Some((mine, rest)), Some(path)) if !rest.is_empty() => {
                std::thread::scope(|scope| -> Result<Vec<Partial>, LogDbError> {
                    let helpers: Vec<_> = rest
                        .iter()
                        .map(|span| {
                            let path = &path;
                            scope.spawn(move || scan(&reader(path)?, *span))
                        })
                        .collect();
                    let mut partials = vec![scan(self.connection(), *mine)?];
                    for helper in helpers {
                        let joined = helper.join().map_err(|_| {
                            LogDbError::Writer("an analytics scan thread panicked".into())
                        })?;
                        partials.push(joined?);
                    }
                    Ok(partials)
                })?
            }
            _ => vec![scan(self.connection(), (query.from, query.to))?],
        };
        Ok(merge(partials, &shape, &query.group_by))
    }
}

/// Threads one query may read with: one per core, at most this many.
pub const MAX_SCAN_THREADS: usize = 4;

fn scan_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_SCAN_THREADS)
}

/// `[from, to)` cut into `n` spans of equal time (entries are rarely spread evenly,
/// but time is what the keys are cut by).
fn spans(from: i64, to: i64, n: usize) -> Vec<(i64, i64)> {
    let n = i64::try_from(n).unwrap_or(1).max(1);
    let step = ((to - from) / n).max(1);
    let mut spans = Vec::new();
    let mut start = from;
    while start < to {
        let end = if spans.len() as i64 == n - 1 {
            to
        } else {
            (start + step).min(to)
        };
        spans.push((start, end));
        start = end;
    }
    spans
}

/// A read-only connection of its own for a helper thread.
fn reader(path: &str) -> Result<Connection, LogDbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(conn)
}
