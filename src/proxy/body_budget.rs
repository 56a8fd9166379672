//! The process-wide cap on request-body bytes held in memory (`max_buffered_body_bytes`):
//! a reservation is taken as a body is read and released once its request is answered.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Shared by every worker (in `ControlState`); one atomic, no lock.
#[derive(Debug)]
pub struct BodyBudget {
    used: AtomicUsize,
    cap: usize,
}

impl BodyBudget {
    pub fn new(cap: u64) -> Arc<BodyBudget> {
        Arc::new(BodyBudget {
            used: AtomicUsize::new(0),
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
        })
    }

    /// Bytes reserved now, all workers together.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// An empty reservation that `grow` adds to; `gauge` is the worker's own count of
    /// bytes held (what its `/metrics` reports).
    pub fn reservation(self: &Arc<Self>, gauge: &Arc<AtomicU64>) -> Reservation {
        Reservation {
            budget: self.clone(),
            gauge: gauge.clone(),
            bytes: 0,
        }
    }

    fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.cap)
            })
            .is_ok()
    }
}

/// Bytes of one body counted against the budget; given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<BodyBudget>,
    gauge: Arc<AtomicU64>,
    bytes: usize,
}

impl Reservation {
    /// Makes the reservation `total` bytes (never shrinks); false when the budget cannot
    /// take the difference (the reservation is then unchanged).
    pub fn grow_to(&mut self, total: usize) -> bool {
        let Some(more) = total.checked_sub(self.bytes).filter(|&m| m > 0) else {
            return true;
        };
        if !self.budget.take(more) {
            return false;
        }
        self.bytes = total;
        self.gauge.fetch_add(more as u64, Ordering::Relaxed);
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
            self.gauge.fetch_sub(self.bytes as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_until_dropped() {
        let budget = BodyBudget::new(100);
        let gauge = Arc::new(AtomicU64::new(0));
        let mut a = budget.reservation(&gauge);
        assert!(a.grow_to(60));
        let mut b = budget.reservation(&gauge);
        assert!(!b.grow_to(41), "over the cap");
        assert!(b.grow_to(40));
        assert_eq!((budget.used(), gauge.load(Ordering::Relaxed)), (100, 100));
        drop(b);
        assert_eq!(budget.used(), 60);
        drop(a);
        assert_eq!((budget.used(), gauge.load(Ordering::Relaxed)), (0, 0));
        let mut c = budget.reservation(&gauge);
        assert!(c.grow_to(100) && c.grow_to(50), "never shrinks");
        assert_eq!(budget.used(), 100);
    }
}
