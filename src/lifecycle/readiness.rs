//! Whether the data plane is ready: how many workers accept connections now.
//! Workers count themselves in once listening and out when they start draining.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Shared by the workers (which report) and the admin `/readyz` (which reads).
#[derive(Debug)]
pub struct Readiness {
    workers: usize,
    accepting: AtomicUsize,
    /// Requests whose connection was closed by a panic (the worker served on).
    panics: AtomicUsize,
    /// A worker died (a panic outside any request): the process is stopping.
    failed: AtomicBool,
}

impl Readiness {
    /// Readiness of a server that starts `workers` workers, none accepting yet.
    pub fn new(workers: usize) -> Readiness {
        Readiness {
            workers,
            accepting: AtomicUsize::new(0),
            panics: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
        }
    }

    /// A request's connection was closed by a panic (the worker served on).
    pub fn connection_panicked(&self) {
        self.panics.fetch_add(1, Ordering::AcqRel);
    }

    /// Requests ended by a panic since the server started.
    pub fn panics(&self) -> usize {
        self.panics.load(Ordering::Acquire)
    }

    /// A worker died: never ready again, and `sluice serve` exits non-zero.
    pub fn worker_failed(&self) {
        self.failed.store(true, Ordering::Release);
    }

    /// Whether a worker died.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
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

    /// Counts the worker in now and out when the returned guard is dropped (at the drain,
    /// or while a panic unwinds its runtime).
    pub fn accepting_while(&self) -> AcceptingGuard<'_> {
        self.worker_accepting();
        AcceptingGuard(self)
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
        self.workers > 0 && self.accepting() >= self.workers && !self.failed()
    }
}

/// A worker counted as accepting until this is dropped.
pub struct AcceptingGuard<'a>(&'a Readiness);

impl Drop for AcceptingGuard<'_> {
    fn drop(&mut self) {
        self.0.worker_stopped();
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
