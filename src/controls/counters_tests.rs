//! Tests of the in-process counters: spend windows of both techniques on an injected clock,
//! their `Retry-After`, export and import, and exact counts from several threads.

use super::*;

fn at_s(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn key(partition: &str) -> BucketKey {
    BucketKey {
        gateway: "default".into(),
        owner: Owner::SpendRule("daily".into()),
        partition: partition.into(),
    }
}

const DAY: Window = Window {
    limit: 1.0,
    window_s: 86_400,
    sliding: false,
};

#[test]
fn a_fixed_window_admits_below_its_limit_and_resets_at_the_boundary() {
    let c = LocalCounters::new();
    let start = 10 * 86_400 + 100;
    assert_eq!(c.check_spend(&key("u1"), &DAY, at_s(start)), Ok(0.0));
    c.charge(&key("u1"), &DAY, 0.6, at_s(start));
    assert_eq!(c.check_spend(&key("u1"), &DAY, at_s(start + 1)), Ok(0.6));
    c.charge(&key("u1"), &DAY, 0.5, at_s(start + 2));
    let over = c
        .check_spend(&key("u1"), &DAY, at_s(start + 3))
        .unwrap_err();
    assert!((over.spent - 1.1).abs() < 1e-9);
    // Until the day ends.
    assert_eq!(over.retry_after.header_secs(), 86_400 - 103);
    // Another partition has its own budget.
    assert_eq!(c.check_spend(&key("u2"), &DAY, at_s(start + 3)), Ok(0.0));
    assert_eq!(c.check_spend(&key("u1"), &DAY, at_s(11 * 86_400)), Ok(0.0));
}

#[test]
fn a_sliding_window_lets_spend_leave_slot_by_slot() {
    let hour = Window {
        limit: 1.0,
        window_s: 3600,
        sliding: true,
    };
    let c = LocalCounters::new();
    let t0 = 1_000_000 * 60;
    c.charge(&key(""), &hour, 0.7, at_s(t0));
    c.charge(&key(""), &hour, 0.7, at_s(t0 + 1800));
    let over = c.check_spend(&key(""), &hour, at_s(t0 + 1900)).unwrap_err();
    // The first charge's 60-second slot leaves the window an hour after it ends.
    assert_eq!(over.retry_after.header_secs(), 60 + 3600 - 1900);
    assert!(c.check_spend(&key(""), &hour, at_s(t0 + 3659)).is_err());
    let left = c.check_spend(&key(""), &hour, at_s(t0 + 3660)).unwrap();
    assert!((left - 0.7).abs() < 1e-9, "{left}");
}

#[test]
fn export_and_import_keep_the_spend() {
    let c = LocalCounters::new();
    c.charge(&key("u1"), &DAY, 2.0, at_s(86_400 * 3));
    let (saved, changed) = c.export(at_s(86_400 * 3 + 5));
    assert!(changed);
    assert!(!c.export(at_s(86_400 * 3 + 6)).1, "nothing charged since");
    let text = serde_json::to_string(&saved).unwrap();
    let back = LocalCounters::new();
    back.import(serde_json::from_str(&text).unwrap());
    assert!(back
        .check_spend(&key("u1"), &DAY, at_s(86_400 * 3 + 7))
        .is_err());
    assert_eq!(
        back.spent_by(
            "default",
            &Owner::SpendRule("daily".into()),
            &DAY,
            at_s(86_400 * 3 + 7)
        ),
        2.0
    );
    // An expired window is not saved.
    assert!(c.export(at_s(86_400 * 5)).0.is_empty());
}

#[test]
fn a_changed_window_starts_afresh_and_bad_costs_are_ignored() {
    let c = LocalCounters::new();
    c.charge(&key(""), &DAY, 5.0, at_s(100));
    let week = Window {
        window_s: 7 * 86_400,
        ..DAY
    };
    assert_eq!(c.check_spend(&key(""), &week, at_s(101)), Ok(0.0));
    c.charge(&key("x"), &DAY, f64::NAN, at_s(100));
    c.charge(&key("x"), &DAY, -1.0, at_s(100));
    assert_eq!(c.check_spend(&key("x"), &DAY, at_s(101)), Ok(0.0));
}

#[test]
fn count_buckets_admit_exactly_the_limit_from_threads() {
    let c = Arc::new(LocalCounters::new());
    let window = Window {
        limit: 50.0,
        window_s: 3600,
        sliding: false,
    };
    let admitted: usize = (0..4)
        .map(|_| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                (0..40)
                    .filter(|_| c.admit(&key("k"), &window, at_s(7200)).is_ok())
                    .count()
            })
        })
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(admitted, 50);
}
