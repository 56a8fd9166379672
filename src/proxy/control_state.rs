//! The state every worker shares: the one response cache, each gateway's rate limiter,
//! the buckets of routes' `rate` elements, the request-body budget, and the clock.

use super::body_budget::BodyBudget;
use crate::config::{RateLimitConfig, RateTechnique, Settings};
use crate::controls::{RateLimiter, ResponseCache, RetryAfter};
use crate::routing::{RateLimit, Technique};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
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
    pub cache: Option<ResponseCache>,
    /// Only gateways whose limit is on; empty means no lookup at all per request.
    limiters: HashMap<String, RateLimiter>,
    /// Where the controls read the time.
    pub clock: Arc<dyn Clock>,
    /// `server.max_buffered_body_bytes`, across all workers.
    pub body_budget: Arc<BodyBudget>,
    /// Count buckets of routes' `rate` elements, made on first use.
    route_buckets: Mutex<HashMap<RouteBucket, Arc<RateLimiter>>>,
}

/// One `rate` element's bucket for one value of its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteBucket {
    /// The gateway's id.
    pub gateway: String,
    /// The route's name.
    pub route: String,
    /// The `rate` element's id.
    pub element: String,
    /// The key field's value as JSON text ("" without a key: one shared bucket).
    pub key: String,
}

/// Buckets kept at most; past it the table starts afresh (a flood of new keys must not
/// grow memory without bound; the cost is a window's counts forgotten).
const MAX_ROUTE_BUCKETS: usize = 65_536;

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
        let limiters = settings
            .gateways
            .values()
            .map(|g| (g.id.clone(), RateLimiter::new(&g.config.rate_limit)))
            .filter(|(_, limiter)| limiter.is_enabled())
            .collect();
        ControlState {
            cache,
            limiters,
            clock,
            body_budget: BodyBudget::new(settings.server.max_buffered_body_bytes),
            route_buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request of `gateway_id` against its rate limit (always, when it has none).
    pub fn admit(&self, gateway_id: &str) -> Result<(), RetryAfter> {
        if self.limiters.is_empty() {
            return Ok(());
        }
        match self.limiters.get(gateway_id) {
            Some(limiter) => limiter.try_acquire(self.clock.wall()),
            None => Ok(()),
        }
    }
}

impl ControlState {
    /// Admits one request to `bucket` of a count `rate` element, exact across workers
    /// (the gateway rate limit's windows), or says how long until one could pass.
    pub fn admit_route(&self, bucket: RouteBucket, rate: &RateLimit) -> Result<(), RetryAfter> {
        let limiter = {
            let mut buckets = self
                .route_buckets
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if buckets.len() >= MAX_ROUTE_BUCKETS && !buckets.contains_key(&bucket) {
                buckets.clear();
            }
            let limiter = buckets.entry(bucket).or_insert_with(|| {
                Arc::new(RateLimiter::new(&RateLimitConfig {
                    // Validation keeps the limit above 0; a fraction admits one.
                    limit: rate.limit.floor().max(1.0) as u64,
                    interval_s: rate.window_s,
                    technique: match rate.technique {
                        Technique::Fixed => RateTechnique::Fixed,
                        Technique::Sliding => RateTechnique::Sliding,
                    },
                }))
            });
            limiter.clone()
        };
        limiter.try_acquire(self.clock.wall())
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
