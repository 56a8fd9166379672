//! Prometheus metrics, counted per worker without locks: each worker owns a
//! `WorkerMetrics` of plain counters and publishes a snapshot that scrapes merge.

mod histogram;
mod limits;
mod render;

pub use histogram::{Histogram, LATENCY_BUCKETS, OVERHEAD_BUCKETS};
pub use limits::{LimitCounters, TimeoutKind};
pub use render::{render_prometheus, render_spend, LogCounters};

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Distinct label sets one family keeps per worker; later ones are counted under
/// `"other"` label values, so a client sending random model names cannot blow
/// up the scrape.
pub const MAX_SERIES: usize = 200;

/// The label value that takes what [`MAX_SERIES`] leaves out.
pub const OVERFLOW_LABEL: &str = "other";

/// Counters of one worker's upstream pool (`upstream::Upstream::stats` fills them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections waiting in the pool.
    pub idle: usize,
    /// Connections checked out and not yet checked in or dropped.
    pub in_use: usize,
    /// New connections made.
    pub connects: u64,
    /// Checkouts served from the pool.
    pub reuses: u64,
}

/// How a response relates to the gateway cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheStatus {
    /// Answered from the cache.
    Hit,
    /// Looked up, not found; the answer may be stored.
    Miss,
    /// Caching off for this request.
    #[default]
    None,
}

impl CacheStatus {
    /// The `cache` label value.
    pub fn label(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::None => "none",
        }
    }
}

/// One finished request as the proxy reports it to [`WorkerMetrics::record_request`].
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord<'a> {
    /// Gateway id.
    pub gateway: &'a str,
    /// Provider slug.
    pub provider: &'a str,
    /// As sent upstream.
    pub model: &'a str,
    /// 0 when no response was written (client gone).
    pub status: u16,
    /// How the cache took part.
    pub cache: CacheStatus,
    /// Input tokens, when the response said.
    pub tokens_in: Option<u64>,
    /// Output tokens, when the response said.
    pub tokens_out: Option<u64>,
    /// USD; `None` when unknown (it then adds nothing).
    pub cost: Option<f64>,
    /// From the request's first byte to its last response byte.
    pub duration: Duration,
    /// Time to the first response body byte.
    pub ttft: Option<Duration>,
    /// Time spent in the gateway itself (duration minus upstream time).
    pub overhead: Option<Duration>,
}

/// `2xx`-style class of a status; `none` for 0.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "none",
    }
}

/// A family's series: label values and a value, searched linearly (a handful of
/// series in practice, and no hashing or allocation on a hit).
#[derive(Debug, Clone, PartialEq)]
pub struct Series<const N: usize, V> {
    rows: Vec<([Box<str>; N], V)>,
}

impl<const N: usize, V> Default for Series<N, V> {
    fn default() -> Self {
        Series { rows: Vec::new() }
    }
}

impl<const N: usize, V: Default> Series<N, V> {
    /// The value for `labels`, created at zero; past [`MAX_SERIES`] the overflow row.
    pub fn slot(&mut self, labels: [&str; N]) -> &mut V {
        let found = self
            .rows
            .iter()
            .position(|(have, _)| have.iter().zip(labels).all(|(a, b)| **a == *b));
        let index = match found {
            Some(i) => i,
            None if self.rows.len() < MAX_SERIES => {
                self.rows.push((labels.map(Box::from), V::default()));
                self.rows.len() - 1
            }
            None => {
                let overflow = [OVERFLOW_LABEL; N];
                let existing = self
                    .rows
                    .iter()
                    .position(|(have, _)| have.iter().all(|a| &**a == OVERFLOW_LABEL));
                match existing {
                    Some(i) => i,
                    None => {
                        self.rows.push((overflow.map(Box::from), V::default()));
                        self.rows.len() - 1
                    }
                }
            }
        };
        &mut self.rows[index].1
    }

    /// Every label set with its value.
    pub fn rows(&self) -> impl Iterator<Item = (&[Box<str>; N], &V)> {
        self.rows.iter().map(|(labels, value)| (labels, value))
    }

    /// Label sets held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no label set is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Tokens and cost of one provider and model.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UsageTotals {
    /// Input tokens.
    pub tokens_in: u64,
    /// Output tokens.
    pub tokens_out: u64,
    /// Cost in USD, of the requests whose cost is known.
    pub cost_usd: f64,
}

/// Everything one worker counted (or, merged, the whole process).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    /// By gateway, provider, status class, cache status.
    pub requests: Series<4, u64>,
    /// By provider, model.
    pub usage: Series<2, UsageTotals>,
    /// Request durations.
    pub latency: Histogram,
    /// Times to first token.
    pub ttft: Histogram,
    /// Time spent in the gateway itself.
    pub overhead: Histogram,
    /// Upstream pools, as of the last publish.
    pub pool: PoolStats,
    /// Timeouts, budget refusals, accept failures, body bytes held.
    pub limits: LimitCounters,
}

impl Default for MetricsSnapshot {
    fn default() -> Self {
        MetricsSnapshot {
            requests: Series::default(),
            usage: Series::default(),
            latency: Histogram::new(LATENCY_BUCKETS),
            ttft: Histogram::new(LATENCY_BUCKETS),
            overhead: Histogram::new(OVERHEAD_BUCKETS),
            pool: PoolStats::default(),
            limits: LimitCounters::default(),
        }
    }
}

impl MetricsSnapshot {
    /// Counts one finished request.
    pub fn record(&mut self, r: &RequestRecord<'_>) {
        let class = status_class(r.status);
        *self
            .requests
            .slot([r.gateway, r.provider, class, r.cache.label()]) += 1;
        if r.tokens_in.is_some() || r.tokens_out.is_some() || r.cost.is_some() {
            let usage = self.usage.slot([r.provider, r.model]);
            usage.tokens_in += r.tokens_in.unwrap_or(0);
            usage.tokens_out += r.tokens_out.unwrap_or(0);
            usage.cost_usd += r.cost.filter(|c| c.is_finite()).unwrap_or(0.0);
        }
        self.latency.observe(r.duration);
        if let Some(ttft) = r.ttft {
            self.ttft.observe(ttft);
        }
        if let Some(overhead) = r.overhead {
            self.overhead.observe(overhead);
        }
    }

    /// Adds `other` (another worker's snapshot) into this one.
    pub fn merge(&mut self, other: &MetricsSnapshot) {
        for (labels, count) in other.requests.rows() {
            *self.requests.slot(labels.each_ref().map(|l| &**l)) += count;
        }
        for (labels, usage) in other.usage.rows() {
            let mine = self.usage.slot(labels.each_ref().map(|l| &**l));
            mine.tokens_in += usage.tokens_in;
            mine.tokens_out += usage.tokens_out;
            mine.cost_usd += usage.cost_usd;
        }
        self.latency.merge(&other.latency);
        self.ttft.merge(&other.ttft);
        self.overhead.merge(&other.overhead);
        self.pool.idle += other.pool.idle;
        self.pool.in_use += other.pool.in_use;
        self.pool.connects += other.pool.connects;
        self.pool.reuses += other.pool.reuses;
        self.limits.merge(&other.limits);
    }
}

/// A worker's last published snapshot.
#[derive(Debug, Default)]
struct Slot {
    generation: u64,
    snapshot: MetricsSnapshot,
}

/// Where workers publish and scrapes read: one slot per worker, each locked
/// only by its worker's publish (about once a second) and by scrapes.
#[derive(Debug)]
pub struct MetricsHub {
    slots: Vec<Mutex<Slot>>,
    /// Bumped by a scrape that wants fresh numbers; workers look at it on their
    /// housekeeping tick and publish when it moved.
    wanted: AtomicU64,
}

impl MetricsHub {
    /// A hub for `workers` workers, every snapshot empty.
    pub fn new(workers: usize) -> Arc<MetricsHub> {
        Arc::new(MetricsHub {
            slots: (0..workers).map(|_| Mutex::default()).collect(),
            wanted: AtomicU64::new(0),
        })
    }

    /// Worker `index`'s recorder (an index past the slots publishes nowhere).
    pub fn worker(self: &Arc<Self>, index: usize) -> WorkerMetrics {
        WorkerMetrics {
            hub: self.clone(),
            index,
            local: RefCell::default(),
            seen_wanted: Cell::new(0),
            buffered: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Asks every worker for a fresh snapshot; returns the generation to wait for.
    pub fn request_publish(&self) -> u64 {
        self.wanted.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Whether every worker has published at or after `generation`.
    pub fn published_since(&self, generation: u64) -> bool {
        self.slots.iter().all(|slot| {
            slot.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .generation
                >= generation
        })
    }

    /// Every worker's last snapshot, merged.
    pub fn merged(&self) -> MetricsSnapshot {
        let mut total = MetricsSnapshot::default();
        for slot in &self.slots {
            let slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            total.merge(&slot.snapshot);
        }
        total
    }
}

/// One worker's counters: `Rc`-owned by the worker, never shared, so recording
/// is plain arithmetic on its own memory.
#[derive(Debug)]
pub struct WorkerMetrics {
    hub: Arc<MetricsHub>,
    index: usize,
    local: RefCell<MetricsSnapshot>,
    seen_wanted: Cell<u64>,
    /// Request-body bytes this worker's requests hold (`Arc`: a body is released where
    /// its last reference drops).
    buffered: Arc<AtomicU64>,
}

impl WorkerMetrics {
    /// Counts one finished request (the proxy calls this once per request).
    pub fn record_request(&self, record: &RequestRecord<'_>) {
        self.local.borrow_mut().record(record);
    }

    /// Counts one expired deadline.
    pub fn count_timeout(&self, kind: TimeoutKind) {
        self.local.borrow_mut().limits.count_timeout(kind);
    }

    /// Counts one request refused because the body budget was spent.
    pub fn count_body_budget_refusal(&self) {
        self.local.borrow_mut().limits.body_budget_refusals += 1;
    }

    /// Counts one access-log line dropped (its queue was full).
    pub fn count_access_line_dropped(&self) {
        self.local.borrow_mut().limits.access_lines_dropped += 1;
    }

    /// Counts one failed `accept`.
    pub fn count_accept_error(&self) {
        self.local.borrow_mut().limits.accept_errors += 1;
    }

    /// The gauge of body bytes held by this worker's requests, for their reservations.
    pub fn buffered_body_bytes(&self) -> &Arc<AtomicU64> {
        &self.buffered
    }

    /// Sets the upstream pool gauges (read from `Upstream::stats()` before a publish).
    pub fn set_pool(&self, stats: PoolStats) {
        self.local.borrow_mut().pool = stats;
    }

    /// Copies the counters into this worker's slot for scrapes to read.
    pub fn publish(&self) {
        let wanted = self.hub.wanted.load(Ordering::Acquire);
        self.seen_wanted.set(wanted);
        if let Some(slot) = self.hub.slots.get(self.index) {
            let mut snapshot = self.local.borrow().clone();
            snapshot.limits.buffered_body_bytes = self.buffered.load(Ordering::Relaxed);
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            slot.snapshot = snapshot;
            slot.generation = wanted;
        }
    }

    /// Whether a scrape asked for numbers newer than the last publish.
    pub fn publish_wanted(&self) -> bool {
        self.hub.wanted.load(Ordering::Acquire) != self.seen_wanted.get()
    }

    /// This worker's counters as they are now (for tests and diagnostics).
    pub fn local_snapshot(&self) -> MetricsSnapshot {
        self.local.borrow().clone()
    }
}

#[cfg(test)]
mod tests;
