//! Per-gateway rate limits, exact across all worker threads: a fixed window aligned to
//! the interval (one atomic word) or a sliding window over the last `interval_s` seconds.

use crate::config::{RateLimitConfig, RateTechnique};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Refused: how long until an admission could pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("gateway rate limit exceeded; retry after {} s", self.header_secs())]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// The `Retry-After` header value: whole seconds rounded up, at least 1 (a client told
    /// 0 would retry at once and be refused again).
    pub fn header_secs(&self) -> u64 {
        let rounded_up = self
            .0
            .as_secs()
            .saturating_add(u64::from(self.0.subsec_nanos() > 0));
        rounded_up.max(1)
    }
}

/// One gateway's limiter; share it between workers in an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    technique: Technique,
}

#[derive(Debug)]
enum Technique {
    /// `limit = 0` (or no interval): everything passes.
    Off,
    Fixed(FixedWindow),
    Sliding(SlidingWindow),
}

impl RateLimiter {
    /// A limiter for `config`; off when its limit or interval is 0.
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        let technique = if config.limit == 0 || config.interval_s == 0 {
            Technique::Off
        } else {
            match config.technique {
                RateTechnique::Fixed => Technique::Fixed(FixedWindow::new(config)),
                RateTechnique::Sliding => Technique::Sliding(SlidingWindow::new(config)),
            }
        };
        RateLimiter { technique }
    }

    /// Whether this limiter can ever refuse (the lead may skip the call when not).
    pub fn is_enabled(&self) -> bool {
        !matches!(self.technique, Technique::Off)
    }

    /// Admits one request at wall-clock `now` (the injected clock), or says how long until
    /// one could pass. Never allocates once a sliding window has seen `limit` admissions.
    pub fn try_acquire(&self, now: SystemTime) -> Result<(), RetryAfter> {
        // A clock before 1970 is read as the epoch: still exact, never a panic.
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        match &self.technique {
            Technique::Off => Ok(()),
            Technique::Fixed(window) => window.try_acquire(since_epoch),
            Technique::Sliding(window) => window.try_acquire(since_epoch),
        }
    }
}

/// Bits of the fixed window's state word: the window index above, the count below.
/// 31 count bits allow 2^31 - 1 requests a window (larger limits are cut to that, which is
/// no limit in practice); 33 window bits last until the year 2242 at a 1 s interval.
const COUNT_BITS: u32 = 31;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const WINDOW_MAX: u64 = u64::MAX >> COUNT_BITS;

/// Windows `[k * interval, (k + 1) * interval)` of Unix time. The window index and its
/// count share one atomic word, so a compare-and-swap admits exactly `limit` per window
/// whatever thread asks, with no lock.
#[derive(Debug)]
struct FixedWindow {
    limit: u64,
    interval_s: u64,
    state: AtomicU64,
}

impl FixedWindow {
    fn new(config: &RateLimitConfig) -> FixedWindow {
        FixedWindow {
            limit: config.limit.min(COUNT_MASK),
            interval_s: config.interval_s,
            state: AtomicU64::new(0),
        }
    }

    fn try_acquire(&self, since_epoch: Duration) -> Result<(), RetryAfter> {
        let mine = (since_epoch.as_secs() / self.interval_s).min(WINDOW_MAX);
        let mut current = self.state.load(Ordering::Acquire);
        loop {
            let (window, count) = (current >> COUNT_BITS, current & COUNT_MASK);
            // A thread whose clock is a little behind counts against the newest window
            // seen, so a late clock cannot reopen a window that is already full.
            let (window, count) = if mine > window {
                (mine, 0)
            } else {
                (window, count)
            };
            if count >= self.limit {
                let window_end =
                    Duration::from_secs(window.saturating_add(1).saturating_mul(self.interval_s));
                return Err(RetryAfter(window_end.saturating_sub(since_epoch)));
            }
            let next = (window << COUNT_BITS) | (count + 1);
            match self.state.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(seen) => current = seen,
            }
        }
    }
}

/// The admission times (ns since the epoch, oldest first) within the last interval; a
/// request passes when fewer than `limit` of them lie in `(now - interval, now]`.
#[derive(Debug)]
struct SlidingWindow {
    limit: usize,
    interval: Duration,
    admitted: Mutex<VecDeque<u64>>,
}

/// Room reserved up front; the ring grows to `limit` only if that many requests come.
const SLIDING_PREALLOC: usize = 1024;

impl SlidingWindow {
    fn new(config: &RateLimitConfig) -> SlidingWindow {
        let limit = usize::try_from(config.limit).unwrap_or(usize::MAX);
        SlidingWindow {
            limit,
            interval: Duration::from_secs(config.interval_s),
            admitted: Mutex::new(VecDeque::with_capacity(limit.min(SLIDING_PREALLOC))),
        }
    }

    fn try_acquire(&self, since_epoch: Duration) -> Result<(), RetryAfter> {
        let now = nanos(since_epoch);
        let interval = nanos(self.interval);
        let mut admitted = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        while admitted
            .front()
            .is_some_and(|t| t.saturating_add(interval) <= now)
        {
            admitted.pop_front();
        }
        if admitted.len() < self.limit {
            // Kept in order even when threads' clocks disagree a little: a late clock is
            // recorded at the newest time seen, which only ever refuses sooner.
            let at = admitted.back().map_or(now, |last| now.max(*last));
            admitted.push_back(at);
            return Ok(());
        }
        let oldest = admitted.front().copied().unwrap_or(now);
        let frees_at = oldest.saturating_add(interval);
        Err(RetryAfter(Duration::from_nanos(
            frees_at.saturating_sub(now),
        )))
    }
}

/// Nanoseconds, saturating (u64 nanoseconds since the epoch last until the year 2554).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "rate_limit_tests.rs"]
mod tests;
