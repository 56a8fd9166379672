//! The buckets routes and spend limits count in, behind one small interface (`Counters`):
//! request counts admitted exactly across workers, and dollars spent per window.

use super::rate_limit::{RateLimiter, RetryAfter};
use crate::config::{RateLimitConfig, RateTechnique};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whose bucket it is: a route's `rate` element or a gateway's spend rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// A `rate` element of a route.
    RouteElement {
        /// The route's name.
        route: String,
        /// The element's id.
        element: String,
    },
    /// One rule of the gateway's `spend_limits`.
    SpendRule(String),
    /// An access token's own rate or spend limit, by the token's id.
    AccessToken(String),
}

/// One bucket: its gateway, owner, and the partition (a key's value; "" for one shared).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BucketKey {
    /// The gateway's id.
    pub gateway: String,
    /// The element or rule.
    pub owner: Owner,
    /// The value the bucket is kept for ("" when every request shares it).
    pub partition: String,
}

/// A bucket's bound: `limit` (requests or dollars) per `window_s` seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Requests or US dollars per window; greater than 0.
    pub limit: f64,
    /// The window in seconds; at least 1.
    pub window_s: u64,
    /// A window ending now, else windows aligned to Unix time.
    pub sliding: bool,
}

/// A cost bucket at or over its limit: what it has spent and when it admits again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverBudget {
    /// Dollars spent in the current window.
    pub spent: f64,
    /// Until enough of the spend has left the window.
    pub retry_after: RetryAfter,
}

/// Where buckets live. The in-process store is [`LocalCounters`]; one shared between
/// gateway processes can take its place without the routing code changing.
pub trait Counters: Send + Sync {
    /// Admits one request to a count bucket, or says how long until one could pass.
    fn admit(&self, key: &BucketKey, window: &Window, now: SystemTime) -> Result<(), RetryAfter>;
    /// Admits a request while the cost bucket's spend is below its limit (the spend so far).
    fn check_spend(
        &self,
        key: &BucketKey,
        window: &Window,
        now: SystemTime,
    ) -> Result<f64, OverBudget>;
    /// Adds a finished request's cost to a cost bucket.
    fn charge(&self, key: &BucketKey, window: &Window, usd: f64, now: SystemTime);
    /// The spend within its window of every cost bucket of `gateway` and `owner`, summed.
    fn spent_by(&self, gateway: &str, owner: &Owner, window: &Window, now: SystemTime) -> f64;
}

/// Buckets of each kind kept at most. Past it count buckets start afresh (a window's
/// counts forgotten); cost buckets drop the ones with nothing left in their window, then
/// new partitions share one overflow bucket, so that no budget is ever forgotten.
pub const MAX_BUCKETS: usize = 65_536;

/// The partition new cost buckets share once [`MAX_BUCKETS`] are kept.
const OVERFLOW_PARTITION: &str = "\u{0}overflow";

/// Slots a sliding cost window is kept in: a charge leaves the window up to 1/60 of
/// it late (a day's budget is kept in 24-minute slots).
const SLIDING_SLOTS: u64 = 60;

/// The in-process store, shared by every worker (`Arc`); its cost buckets can be saved
/// and read back so that a restart keeps budgets (`export`, `import`).
#[derive(Debug, Default)]
pub struct LocalCounters {
    counts: Mutex<HashMap<BucketKey, Arc<RateLimiter>>>,
    costs: Mutex<HashMap<BucketKey, CostWindow>>,
    /// A charge since the last `export`.
    dirty: AtomicBool,
}

/// One cost bucket: spend per slot, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostWindow {
    /// The window it was made for (a changed window starts it afresh).
    pub window_s: u64,
    /// Sliding, else fixed.
    pub sliding: bool,
    /// `(slot index, dollars)`: slot `i` covers `[i * width, (i + 1) * width)` of Unix time.
    pub slots: Vec<(u64, f64)>,
}

/// A saved cost bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedBucket {
    /// Whose bucket.
    pub key: BucketKey,
    /// Its spend.
    pub window: CostWindow,
}

impl CostWindow {
    fn new(window: &Window) -> CostWindow {
        CostWindow {
            window_s: window.window_s.max(1),
            sliding: window.sliding,
            slots: Vec::new(),
        }
    }

    fn fits(&self, window: &Window) -> bool {
        self.window_s == window.window_s.max(1) && self.sliding == window.sliding
    }

    /// Seconds per slot: the whole window when fixed.
    fn width(&self) -> u64 {
        match self.sliding {
            true => self.window_s.div_ceil(SLIDING_SLOTS).max(1),
            false => self.window_s,
        }
    }

    /// The first slot still inside the window at `now_s`.
    fn first_live(&self, now_s: u64) -> u64 {
        let width = self.width();
        match self.sliding {
            // A slot counts while any of it lies within the last `window_s` seconds.
            true => now_s.saturating_sub(self.window_s) / width,
            false => now_s / width,
        }
    }

    fn drop_expired(&mut self, now_s: u64) {
        let first = self.first_live(now_s);
        self.slots.retain(|(slot, _)| *slot >= first);
    }

    fn spent(&self, now_s: u64) -> f64 {
        let first = self.first_live(now_s);
        self.slots
            .iter()
            .filter(|(slot, _)| *slot >= first)
            .map(|(_, usd)| usd)
            .sum()
    }

    fn add(&mut self, usd: f64, now_s: u64) {
        self.drop_expired(now_s);
        let slot = now_s / self.width();
        match self.slots.last_mut() {
            Some((last, spent)) if *last >= slot => *spent += usd,
            _ => self.slots.push((slot, usd)),
        }
    }

    /// How long until the spend left in the window falls below `limit`.
    fn wait_below(&self, limit: f64, now: Duration) -> Duration {
        let now_s = now.as_secs();
        let width = self.width();
        let first = self.first_live(now_s);
        let mut left = self.spent(now_s);
        for (slot, usd) in self.slots.iter().filter(|(slot, _)| *slot >= first) {
            left -= usd;
            if left < limit {
                let leaves_at = match self.sliding {
                    true => (slot + 1) * width + self.window_s,
                    false => (slot + 1) * width,
                };
                return Duration::from_secs(leaves_at).saturating_sub(now);
            }
        }
        Duration::from_secs(width)
    }
}

fn since_epoch(now: SystemTime) -> Duration {
    now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

impl LocalCounters {
    /// An empty store.
    pub fn new() -> LocalCounters {
        LocalCounters::default()
    }

    /// The cost buckets with spend in their window at `now`, and whether anything was
    /// charged since the last export (a saver may skip an unchanged store).
    pub fn export(&self, now: SystemTime) -> (Vec<SavedBucket>, bool) {
        let changed = self.dirty.swap(false, Ordering::AcqRel);
        let now_s = since_epoch(now).as_secs();
        let mut costs = self.costs.lock().unwrap_or_else(PoisonError::into_inner);
        costs.retain(|_, w| {
            w.drop_expired(now_s);
            !w.slots.is_empty()
        });
        let saved = costs
            .iter()
            .map(|(key, window)| SavedBucket {
                key: key.clone(),
                window: window.clone(),
            })
            .collect();
        (saved, changed)
    }

    /// Puts saved cost buckets back (a restart), adding to any spend already there.
    pub fn import(&self, saved: Vec<SavedBucket>) {
        let mut costs = self.costs.lock().unwrap_or_else(PoisonError::into_inner);
        for SavedBucket { key, window } in saved {
            costs.entry(key).or_insert(window);
        }
    }
}

impl Counters for LocalCounters {
    fn admit(&self, key: &BucketKey, window: &Window, now: SystemTime) -> Result<(), RetryAfter> {
        let limiter = {
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            if counts.len() >= MAX_BUCKETS && !counts.contains_key(key) {
                counts.clear();
            }
            counts
                .entry(key.clone())
                .or_insert_with(|| {
                    Arc::new(RateLimiter::new(&RateLimitConfig {
                        // Validation keeps the limit above 0; a fraction admits one.
                        limit: window.limit.floor().max(1.0) as u64,
                        interval_s: window.window_s.max(1),
                        technique: match window.sliding {
                            true => RateTechnique::Sliding,
                            false => RateTechnique::Fixed,
                        },
                    }))
                })
                .clone()
        };
        limiter.try_acquire(now)
    }

    fn check_spend(
        &self,
        key: &BucketKey,
        window: &Window,
        now: SystemTime,
    ) -> Result<f64, OverBudget> {
        let now = since_epoch(now);
        let costs = self.costs.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bucket) = costs
            .get(key)
            .or_else(|| overflow(&costs, key))
            .filter(|b| b.fits(window))
        else {
            return Ok(0.0);
        };
        let spent = bucket.spent(now.as_secs());
        if spent < window.limit {
            return Ok(spent);
        }
        Err(OverBudget {
            spent,
            retry_after: RetryAfter(bucket.wait_below(window.limit, now)),
        })
    }

    fn charge(&self, key: &BucketKey, window: &Window, usd: f64, now: SystemTime) {
        if !(usd.is_finite() && usd > 0.0) {
            return;
        }
        let now_s = since_epoch(now).as_secs();
        let mut costs = self.costs.lock().unwrap_or_else(PoisonError::into_inner);
        if costs.len() >= MAX_BUCKETS && !costs.contains_key(key) {
            costs.retain(|_, w| w.spent(now_s) > 0.0);
        }
        let key = match costs.len() >= MAX_BUCKETS && !costs.contains_key(key) {
            true => BucketKey {
                partition: OVERFLOW_PARTITION.to_string(),
                ..key.clone()
            },
            false => key.clone(),
        };
        let bucket = costs.entry(key).or_insert_with(|| CostWindow::new(window));
        if !bucket.fits(window) {
            *bucket = CostWindow::new(window);
        }
        bucket.add(usd, now_s);
        self.dirty.store(true, Ordering::Release);
    }

    fn spent_by(&self, gateway: &str, owner: &Owner, window: &Window, now: SystemTime) -> f64 {
        let now_s = since_epoch(now).as_secs();
        let costs = self.costs.lock().unwrap_or_else(PoisonError::into_inner);
        costs
            .iter()
            .filter(|(k, w)| k.gateway == gateway && &k.owner == owner && w.fits(window))
            .map(|(_, w)| w.spent(now_s))
            .sum()
    }
}

/// What `/metrics` shows of spend: each rule's spend in its current window.
#[derive(Clone)]
pub struct SpendGauges {
    /// `(gateway, rule id, window)` of every enforced rule.
    rules: Vec<(String, String, Window)>,
    counters: Arc<dyn Counters>,
}

impl SpendGauges {
    /// Gauges of these rules, read from `counters`.
    pub fn new(rules: Vec<(String, String, Window)>, counters: Arc<dyn Counters>) -> SpendGauges {
        SpendGauges { rules, counters }
    }

    /// `(gateway, rule, dollars)` at `now`, every partition of a rule summed.
    pub fn current(&self, now: SystemTime) -> Vec<(String, String, f64)> {
        self.rules
            .iter()
            .map(|(gateway, rule, window)| {
                let owner = Owner::SpendRule(rule.clone());
                let usd = self.counters.spent_by(gateway, &owner, window, now);
                (gateway.clone(), rule.clone(), usd)
            })
            .collect()
    }
}

impl std::fmt::Debug for SpendGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpendGauges")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// The overflow bucket a key's spend went to when the table was full.
fn overflow<'c>(
    costs: &'c HashMap<BucketKey, CostWindow>,
    key: &BucketKey,
) -> Option<&'c CostWindow> {
    if costs.len() < MAX_BUCKETS {
        return None;
    }
    costs.get(&BucketKey {
        partition: OVERFLOW_PARTITION.to_string(),
        ..key.clone()
    })
}

#[cfg(test)]
#[path = "counters_tests.rs"]
mod tests;
