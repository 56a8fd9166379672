//! Tests of the rate limiter: exactness under threads, window roll-over on an injected
//! clock for both techniques, and `Retry-After` values.

use super::*;
use std::sync::Arc;
use std::thread;

fn limiter(limit: u64, interval_s: u64, technique: RateTechnique) -> RateLimiter {
    RateLimiter::new(&RateLimitConfig {
        limit,
        interval_s,
        technique,
    })
}

/// The injected clock: a wall-clock time this many milliseconds after the epoch.
fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn at_s(s: u64) -> SystemTime {
    at_ms(s * 1000)
}

fn refused_for(limiter: &RateLimiter, now: SystemTime) -> Option<Duration> {
    limiter.try_acquire(now).err().map(|retry| retry.0)
}

#[test]
fn exactly_the_limit_passes_from_eight_threads() {
    for technique in [RateTechnique::Fixed, RateTechnique::Sliding] {
        let shared = Arc::new(limiter(100, 60, technique));
        // All inside one window, each thread on its own slightly different clock.
        let handles: Vec<_> = (0..8u64)
            .map(|t| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || {
                    (0..50u64)
                        .filter(|i| shared.try_acquire(at_ms(1_200_000 + t * 97 + i)).is_ok())
                        .count()
                })
            })
            .collect();
        let passed: usize = handles
            .into_iter()
            .map(|h| h.join().expect("a limiter thread panicked"))
            .sum();
        assert_eq!(passed, 100, "{technique:?}");
    }
}

#[test]
fn off_admits_everything() {
    for (limit, interval_s) in [(0, 60), (10, 0)] {
        let off = limiter(limit, interval_s, RateTechnique::Fixed);
        assert!(!off.is_enabled());
        assert!((0..10_000).all(|_| off.try_acquire(at_s(5)).is_ok()));
    }
    assert!(limiter(1, 60, RateTechnique::Sliding).is_enabled());
}

#[test]
fn fixed_windows_align_to_the_interval() {
    let fixed = limiter(2, 60, RateTechnique::Fixed);
    // 110 s is in window [60, 120).
    assert!(fixed.try_acquire(at_s(110)).is_ok());
    assert!(fixed.try_acquire(at_s(119)).is_ok());
    assert_eq!(
        refused_for(&fixed, at_ms(119_250)),
        Some(Duration::from_millis(750))
    );
    // A new window at 120 s, not 60 s after the first admission.
    assert!(fixed.try_acquire(at_s(120)).is_ok());
    assert!(fixed.try_acquire(at_s(121)).is_ok());
    assert_eq!(
        refused_for(&fixed, at_s(121)),
        Some(Duration::from_secs(59))
    );
    assert_eq!(
        refused_for(&fixed, at_ms(179_999)),
        Some(Duration::from_millis(1))
    );
    assert!(fixed.try_acquire(at_s(180)).is_ok());
}

#[test]
fn fixed_window_skipped_windows_start_fresh() {
    let fixed = limiter(1, 10, RateTechnique::Fixed);
    assert!(fixed.try_acquire(at_s(5)).is_ok());
    assert!(fixed.try_acquire(at_s(9)).is_err());
    assert!(fixed.try_acquire(at_s(1_000_005)).is_ok());
    assert!(fixed.try_acquire(at_s(1_000_006)).is_err());
}

#[test]
fn fixed_window_a_late_clock_cannot_reopen_a_full_window() {
    let fixed = limiter(1, 10, RateTechnique::Fixed);
    assert!(fixed.try_acquire(at_s(25)).is_ok());
    // A thread whose clock still reads the previous window is refused, and told when the
    // newest window ends.
    assert_eq!(refused_for(&fixed, at_s(19)), Some(Duration::from_secs(11)));
}

#[test]
fn sliding_window_counts_the_last_interval_exactly() {
    let sliding = limiter(2, 10, RateTechnique::Sliding);
    assert!(sliding.try_acquire(at_s(100)).is_ok());
    assert!(sliding.try_acquire(at_s(105)).is_ok());
    // Both admissions are within (99, 109]: refused until the one at 100 leaves at 110.
    assert_eq!(
        refused_for(&sliding, at_s(109)),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        refused_for(&sliding, at_ms(109_999)),
        Some(Duration::from_millis(1))
    );
    // At 110 the window is (100, 110]: the admission at 100 is out.
    assert!(sliding.try_acquire(at_s(110)).is_ok());
    // Now 105 and 110 are in: the next room is at 115, not at a window boundary.
    assert_eq!(
        refused_for(&sliding, at_s(112)),
        Some(Duration::from_secs(3))
    );
    assert!(sliding.try_acquire(at_s(115)).is_ok());
}

#[test]
fn sliding_window_unlike_fixed_allows_no_burst_across_a_boundary() {
    // Two full bursts either side of a fixed boundary: fixed lets both through, sliding
    // lets through only what fits in any one interval.
    let fixed = limiter(3, 10, RateTechnique::Fixed);
    let sliding = limiter(3, 10, RateTechnique::Sliding);
    let times = [9_000, 9_500, 9_900, 10_000, 10_100, 10_200];
    let passed = |l: &RateLimiter| {
        times
            .iter()
            .filter(|ms| l.try_acquire(at_ms(**ms)).is_ok())
            .count()
    };
    assert_eq!(passed(&fixed), 6);
    assert_eq!(passed(&sliding), 3);
}

#[test]
fn sliding_window_keeps_no_more_than_the_limit() {
    let sliding = limiter(5, 1, RateTechnique::Sliding);
    for ms in 0..10_000 {
        let _ = sliding.try_acquire(at_ms(ms));
    }
    if let Technique::Sliding(window) = &sliding.technique {
        let admitted = window.admitted.lock().expect("lock");
        assert_eq!(admitted.len(), 5);
        assert!(admitted.capacity() < 64, "grew to {}", admitted.capacity());
    } else {
        panic!("expected a sliding window");
    }
}

#[test]
fn retry_after_header_rounds_up_to_whole_seconds() {
    let secs = |ms| RetryAfter(Duration::from_millis(ms)).header_secs();
    assert_eq!(secs(0), 1);
    assert_eq!(secs(1), 1);
    assert_eq!(secs(1000), 1);
    assert_eq!(secs(1001), 2);
    assert_eq!(secs(59_000), 59);
    assert_eq!(RetryAfter(Duration::MAX).header_secs(), u64::MAX);
    assert_eq!(
        RetryAfter(Duration::from_millis(2500)).to_string(),
        "gateway rate limit exceeded; retry after 3 s"
    );
}

#[test]
fn a_clock_before_the_epoch_does_not_panic() {
    for technique in [RateTechnique::Fixed, RateTechnique::Sliding] {
        let l = limiter(1, 60, technique);
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert!(l.try_acquire(before).is_ok());
        assert_eq!(l.try_acquire(before).map_err(|r| r.header_secs()), Err(60));
    }
}

#[test]
fn huge_limits_and_intervals_do_not_overflow() {
    let fixed = limiter(u64::MAX, u64::MAX, RateTechnique::Fixed);
    assert!(fixed.try_acquire(at_s(1)).is_ok());
    let sliding = limiter(u64::MAX, u64::MAX, RateTechnique::Sliding);
    assert!(sliding.try_acquire(SystemTime::now()).is_ok());
    let tight = limiter(1, u64::MAX, RateTechnique::Sliding);
    assert!(tight.try_acquire(at_s(1)).is_ok());
    assert!(tight.try_acquire(at_s(2)).is_err());
}
