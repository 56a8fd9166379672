//! The `latency` alias strategy's memory: a decaying average time to first byte per
//! target, kept per worker thread (no lock, no sharing: each worker learns on its own).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

/// Weight of the newest sample in the average: about the last ten answers count.
const DECAY: f64 = 0.2;

/// One request in this many tries a target other than the fastest first, so that a
/// target that was slow or failing is measured again once it recovers (5%, in turn).
pub const EXPLORE_EVERY: u64 = 20;

/// A failed attempt counts as this many times the slower of its own wait and the
/// target's average (a target that fails fast must not look fast).
const FAILURE_PENALTY: f64 = 4.0;

/// The averages, in seconds, by `(provider slug, model)`.
#[derive(Debug, Default)]
pub struct LatencyTable {
    seconds: HashMap<(String, String), f64>,
    /// Orders given, for the exploring turn.
    orders: u64,
}

/// Targets kept at most per worker; past it the table starts afresh.
const MAX_TARGETS: usize = 4096;

thread_local! {
    // Per worker: workers are threads and each keeps its own view, as the hosted
    // service's per-location smart routing does; nothing is shared on the hot path.
    static TABLE: RefCell<LatencyTable> = RefCell::new(LatencyTable::default());
}

impl LatencyTable {
    /// The targets' indexes by average, fastest first; targets never measured come
    /// first, in the order written (each must be seen once). Every
    /// [`EXPLORE_EVERY`]th order puts one of the others first instead, each in turn.
    pub fn order(&mut self, targets: &[(String, String)]) -> Vec<usize> {
        let average = |i: usize| self.seconds.get(&targets[i]).copied();
        let mut order: Vec<usize> = (0..targets.len()).collect();
        // Stable: unmeasured (None) first, then by average.
        order.sort_by(|a, b| match (average(*a), average(*b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        });
        self.orders = self.orders.wrapping_add(1);
        let measured = order.iter().all(|i| average(*i).is_some());
        if measured && order.len() > 1 && self.orders % EXPLORE_EVERY == 0 {
            let others = (order.len() - 1) as u64;
            let turn = (self.orders / EXPLORE_EVERY) % others;
            let lead = order.remove(1 + turn as usize);
            order.insert(0, lead);
        }
        order
    }

    /// An answer from `target` after `wait`.
    pub fn observe(&mut self, target: &(String, String), wait: Duration) {
        self.record(target, wait.as_secs_f64());
    }

    /// A failed attempt on `target` after `wait`.
    /// The average jumps to the penalty at once (a failing target must drop behind a
    /// working one now, not after several failures), then decays like any other.
    pub fn penalize(&mut self, target: &(String, String), wait: Duration) {
        let average = self.seconds.get(target).copied().unwrap_or(0.0);
        let penalty = FAILURE_PENALTY * wait.as_secs_f64().max(average);
        if self.seconds.len() >= MAX_TARGETS && !self.seconds.contains_key(target) {
            self.seconds.clear();
        }
        self.seconds.insert(target.clone(), penalty.max(average));
    }

    fn record(&mut self, target: &(String, String), seconds: f64) {
        if let Some(average) = self.seconds.get_mut(target) {
            *average += DECAY * (seconds - *average);
            return;
        }
        if self.seconds.len() >= MAX_TARGETS {
            self.seconds.clear();
        }
        self.seconds.insert(target.clone(), seconds);
    }
}

/// This worker's table.
pub fn with_table<T>(f: impl FnOnce(&mut LatencyTable) -> T) -> T {
    TABLE.with(|table| f(&mut table.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Vec<(String, String)> {
        vec![
            ("openai".into(), "a".into()),
            ("groq".into(), "b".into()),
            ("mistral".into(), "c".into()),
        ]
    }

    #[test]
    fn unmeasured_targets_come_first_then_the_fastest() {
        let t = targets();
        let mut table = LatencyTable::default();
        assert_eq!(table.order(&t), [0, 1, 2]);
        table.observe(&t[0], Duration::from_millis(300));
        table.observe(&t[1], Duration::from_millis(100));
        assert_eq!(table.order(&t), [2, 1, 0]);
        table.observe(&t[2], Duration::from_millis(200));
        assert_eq!(table.order(&t), [1, 2, 0]);
    }

    #[test]
    fn the_average_decays_toward_new_samples_and_failures_weigh_more() {
        let t = targets();
        let mut table = LatencyTable::default();
        table.observe(&t[0], Duration::from_millis(100));
        table.observe(&t[1], Duration::from_millis(200));
        // `a` fails quickly: it must not stay ahead.
        table.penalize(&t[0], Duration::from_millis(10));
        assert_eq!(table.order(&t[..2]), [1, 0]);
        // Fast answers bring it back within a few samples.
        for _ in 0..5 {
            table.observe(&t[0], Duration::from_millis(50));
        }
        assert_eq!(table.order(&t[..2]), [0, 1]);
    }

    #[test]
    fn every_twentieth_order_explores_the_others_in_turn() {
        let t = targets();
        let mut table = LatencyTable::default();
        for (i, ms) in [100, 200, 300].iter().enumerate() {
            table.observe(&t[i], Duration::from_millis(*ms));
        }
        let leads: Vec<usize> = (0..80).map(|_| table.order(&t)[0]).collect();
        let explored: Vec<(usize, usize)> = leads
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, lead)| *lead != 0)
            .collect();
        assert_eq!(explored, [(19, 2), (39, 1), (59, 2), (79, 1)]);
    }
}
