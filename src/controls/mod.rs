//! The [controls] stage's self-contained parts: per-request control headers, retry backoff,
//! the response cache and its keys, and per-gateway rate limits (SPEC sections 6 and 9).

pub mod backoff;
pub mod cache;
pub mod cache_key;
pub mod counters;
pub mod effective;
pub mod headers;
pub mod rate_limit;
pub mod spend_file;

pub use backoff::RetryPolicy;
pub use cache::{CacheStats, CachedResponse, ResponseCache};
pub use cache_key::{custom_key, default_key, CacheKey, DefaultKeyParts};
pub use counters::{BucketKey, Counters, LocalCounters, OverBudget, Owner, SpendGauges, Window};
pub use effective::{CachePolicy, Effective};
pub use headers::{parse_bool, BadControlHeader, RequestControls};
pub use rate_limit::{RateLimiter, RetryAfter};
