//! Retry policy: how many attempts a request gets and how long to wait between them
//! (SPEC section 9, "Controls": constant, linear or exponential backoff, no jitter).

use crate::config::{Backoff, RetryConfig};
use std::time::Duration;

/// How a request is retried: at most `max_attempts` attempts in all (1 = no retry),
/// waiting `delay_before(n)` between attempt n and attempt n+1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the second attempt.
    pub delay: Duration,
    /// How the wait grows between later attempts.
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// One attempt, no delay: what a gateway without retries does.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        delay: Duration::ZERO,
        backoff: Backoff::Constant,
    };

    /// The gateway's configured policy (bounds were checked when the config was loaded).
    pub fn from_config(config: &RetryConfig) -> RetryPolicy {
        RetryPolicy {
            max_attempts: config.max_attempts.max(1),
            delay: Duration::from_millis(config.delay_ms),
            backoff: config.backoff,
        }
    }

    /// Whether another attempt may follow attempt `attempt_n` (1-based).
    pub fn allows_attempt_after(&self, attempt_n: u32) -> bool {
        attempt_n < self.max_attempts
    }

    /// The wait after attempt `attempt_n` failed, before attempt `attempt_n + 1`.
    /// `attempt_n` is 1-based; 0 is read as 1 so that no input can underflow.
    /// Saturates at `Duration::MAX` rather than overflowing.
    pub fn delay_before(&self, attempt_n: u32) -> Duration {
        let n = attempt_n.max(1);
        match self.backoff {
            Backoff::Constant => self.delay,
            Backoff::Linear => self.delay.saturating_mul(n),
            Backoff::Exponential => match 2u32.checked_pow(n - 1) {
                Some(factor) => self.delay.saturating_mul(factor),
                // 2^(n-1) does not fit in u32: only a zero delay stays finite.
                None if self.delay.is_zero() => Duration::ZERO,
                None => Duration::MAX,
            },
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(backoff: Backoff, delay_ms: u64) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            delay: Duration::from_millis(delay_ms),
            backoff,
        }
    }

    fn delays(p: &RetryPolicy) -> Vec<u128> {
        (1..=4).map(|n| p.delay_before(n).as_millis()).collect()
    }

    #[test]
    fn constant_waits_the_same_each_time() {
        assert_eq!(
            delays(&policy(Backoff::Constant, 250)),
            [250, 250, 250, 250]
        );
    }

    #[test]
    fn linear_grows_by_the_delay() {
        assert_eq!(delays(&policy(Backoff::Linear, 100)), [100, 200, 300, 400]);
    }

    #[test]
    fn exponential_doubles_from_the_delay() {
        assert_eq!(
            delays(&policy(Backoff::Exponential, 100)),
            [100, 200, 400, 800]
        );
    }

    #[test]
    fn attempt_zero_is_read_as_one() {
        for backoff in [Backoff::Constant, Backoff::Linear, Backoff::Exponential] {
            let p = policy(backoff, 70);
            assert_eq!(p.delay_before(0), p.delay_before(1));
        }
    }

    #[test]
    fn huge_attempt_numbers_saturate_instead_of_overflowing() {
        let p = policy(Backoff::Exponential, 60_000);
        assert_eq!(p.delay_before(40), Duration::MAX);
        assert_eq!(p.delay_before(u32::MAX), Duration::MAX);
        assert_eq!(
            policy(Backoff::Exponential, 0).delay_before(u32::MAX),
            Duration::ZERO
        );
        let linear = RetryPolicy {
            delay: Duration::MAX,
            ..policy(Backoff::Linear, 0)
        };
        assert_eq!(linear.delay_before(3), Duration::MAX);
    }

    #[test]
    fn attempts_stop_at_the_maximum() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::NONE
        };
        assert!(p.allows_attempt_after(1));
        assert!(p.allows_attempt_after(2));
        assert!(!p.allows_attempt_after(3));
        assert!(!RetryPolicy::NONE.allows_attempt_after(1));
    }

    #[test]
    fn built_from_config() {
        let config = RetryConfig {
            max_attempts: 4,
            delay_ms: 1500,
            backoff: Backoff::Linear,
        };
        let p = RetryPolicy::from_config(&config);
        assert_eq!(p.max_attempts, 4);
        assert_eq!(p.delay, Duration::from_millis(1500));
        assert_eq!(p.delay_before(2), Duration::from_millis(3000));
    }
}
