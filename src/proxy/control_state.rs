//! The state every worker shares: the one response cache, each gateway's rate limiter,
//! the counters of routes and spend limits, the request-body budget, and the clock.

use super::body_budget::BodyBudget;
use crate::config::{RateLimitConfig, Settings};
use crate::controls::{Counters, LocalCounters, RateLimiter, ResponseCache, RetryAfter};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Where the controls read the time: monotonic for cache TTLs, wall-clock for rate-limit
/// windows (fixed windows are aligned to Unix time).
pub trait Clock: Send + Sync {
    /// Monotonic time (cache TTLs).
    fn now(&self) -> Instant;
    /// Wall-clock time (rate-limit windows).
    fn wall(&self) -> SystemTime;
}

/// The real clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Shared by every worker (`Arc`): all its parts are `Sync` and exact across threads.
pub struct ControlState {
    /// `None` when `cache_max_bytes = 0`: nothing is looked up or stored.
    pub cache: Option<Arc<ResponseCache>>,
    /// Only gateways whose limit is on; empty means no lookup at all per request. Each
    /// comes with the limit it was built for, so a reload keeps an unchanged one's window.
    limiters: HashMap<String, (RateLimitConfig, Arc<RateLimiter>)>,
    /// Where the controls read the time.
    pub clock: Arc<dyn Clock>,
    /// `server.max_buffered_body_bytes`, across all workers.
    pub body_budget: Arc<BodyBudget>,
    /// Routes' `rate` buckets and spend rules' windows (see `counters`).
    local_counters: Arc<LocalCounters>,
}

impl ControlState {
    /// The cache sized by `server.cache_max_bytes` and one limiter per limited gateway.
    pub fn new(settings: &Settings, clock: Arc<dyn Clock>) -> ControlState {
        let bytes = settings.server.cache_max_bytes;
        let cache = (bytes > 0).then(|| ResponseCache::new(bytes));
        ControlState::with_cache(settings, cache, clock)
    }

    /// As `new`, with a cache built by the caller (tests use one shard to make eviction
    /// order observable).
    pub fn with_cache(
        settings: &Settings,
        cache: Option<ResponseCache>,
        clock: Arc<dyn Clock>,
    ) -> ControlState {
        ControlState {
            cache: cache.map(Arc::new),
            limiters: limiters(settings, &HashMap::new()),
            clock,
            body_budget: BodyBudget::new(settings.server.max_buffered_body_bytes),
            local_counters: Arc::new(LocalCounters::new()),
        }
    }

    /// The controls for a reloaded `settings`: the same cache, clock, body budget and
    /// counters (spend and route buckets go on counting), each unchanged rate limit's limiter
    /// with its window, and a fresh limiter where a limit is new or changed.
    pub fn successor(&self, settings: &Settings) -> ControlState {
        ControlState {
            cache: self.cache.clone(),
            limiters: limiters(settings, &self.limiters),
            clock: self.clock.clone(),
            body_budget: self.body_budget.clone(),
            local_counters: self.local_counters.clone(),
        }
    }

    /// Admits one request of `gateway_id` against its rate limit (always, when it has none).
    pub fn admit(&self, gateway_id: &str) -> Result<(), RetryAfter> {
        if self.limiters.is_empty() {
            return Ok(());
        }
        match self.limiters.get(gateway_id) {
            Some((_, limiter)) => limiter.try_acquire(self.clock.wall()),
            None => Ok(()),
        }
    }
}

/// One limiter per gateway whose limit is on, reusing `before`'s where the limit is the same.
fn limiters(
    settings: &Settings,
    before: &HashMap<String, (RateLimitConfig, Arc<RateLimiter>)>,
) -> HashMap<String, (RateLimitConfig, Arc<RateLimiter>)> {
    let mut limiters = HashMap::new();
    for gateway in settings.gateways.values() {
        let config = &gateway.config.rate_limit;
        let limiter = match before.get(&gateway.id) {
            Some((was, limiter)) if was == config => limiter.clone(),
            _ => Arc::new(RateLimiter::new(config)),
        };
        if limiter.is_enabled() {
            limiters.insert(gateway.id.clone(), (config.clone(), limiter));
        }
    }
    limiters
}

impl ControlState {
    /// Where routes and spend limits count: the one interface they use.
    pub fn counters(&self) -> &dyn Counters {
        &*self.local_counters
    }

    /// The in-process store itself, for saving and restoring spend across restarts.
    pub fn local_counters(&self) -> &Arc<LocalCounters> {
        &self.local_counters
    }
}

impl std::fmt::Debug for ControlState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlState")
            .field("cache", &self.cache)
            .field("limited_gateways", &self.limiters.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(limit: u64) -> Settings {
        let text = format!(
            "[[gateway]]\nid = \"g\"\nrate_limit = {{ limit = {limit}, interval_s = 60 }}\n"
        );
        Settings::from_toml_str(&text, "test").unwrap()
    }

    #[test]
    fn a_successor_keeps_an_unchanged_limiters_window_and_restarts_a_changed_one() {
        let first = ControlState::new(&settings(1), Arc::new(SystemClock));
        assert!(first.admit("g").is_ok());
        assert!(first.admit("g").is_err(), "one a minute");
        let same = first.successor(&settings(1));
        assert!(same.admit("g").is_err(), "the window carried over");
        let changed = same.successor(&settings(2));
        assert!(
            changed.admit("g").is_ok(),
            "a changed limit starts a new window"
        );
        assert!(Arc::ptr_eq(
            changed.local_counters(),
            first.local_counters()
        ));
        let off = changed.successor(&settings(0));
        assert!(off.admit("g").is_ok() && off.admit("g").is_ok());
    }
}
