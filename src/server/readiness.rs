//! Whether the data plane is ready: how many workers accept connections now.
//! Workers count themselves in once listening and out when they start draining.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Shared by the workers (which report) and the admin `/readyz` (which reads).
#[derive(Debug)]
pub struct Readiness {
    workers: usize,
    accepting: AtomicUsize,
}

impl Readiness {
    pub fn new(workers: usize) -> Readiness {
        Readiness {
            workers,
            accepting: AtomicUsize::new(0),
        }
    }

    /// A worker's listeners are up.
    pub fn worker_accepting(&self) {
        self.accepting.fetch_add(1, Ordering::AcqRel);
    }

    /// A worker stopped accepting (draining, or gone).
    pub fn worker_stopped(&self) {
        // Saturating: a worker that failed before counting itself in reports nothing.
        let _ = self
            .accepting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Workers accepting now.
    pub fn accepting(&self) -> usize {
        self.accepting.load(Ordering::Acquire)
    }

    /// Workers the server started.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Every worker accepts.
    pub fn is_ready(&self) -> bool {
        self.workers > 0 && self.accepting() >= self.workers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_while_every_worker_accepts() {
        let r = Readiness::new(2);
        assert!(!r.is_ready());
        r.worker_accepting();
        assert!(!r.is_ready());
        r.worker_accepting();
        assert!(r.is_ready());
        r.worker_stopped();
        assert!(!r.is_ready());
        r.worker_stopped();
        r.worker_stopped();
        assert_eq!(r.accepting(), 0);
        assert!(!Readiness::new(0).is_ready());
    }
}
