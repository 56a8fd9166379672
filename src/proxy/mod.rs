//! The per-request pipeline: read head -> route -> auth -> read body -> plan (rewrite,
//! credentials) -> forward -> stream. The connection loop only sequences these stages.

mod access;
mod attempt;
mod auth;
mod body;
mod body_budget;
mod cached;
mod client;
mod connection;
pub mod control_state;
mod conversation;
mod forward;
pub mod io;
mod plan;
mod pump;
mod request_log;
mod response_tap;
mod send;
mod spend;
mod translated;

pub use connection::serve_connection;
pub use control_state::{Clock, ControlState, SystemClock};
pub use plan::route_decision;
pub use spend::window as spend_window;

use crate::config::Settings;
use crate::lifecycle::Drain;
use crate::observe::metrics::WorkerMetrics;
use crate::observe::{AccessLog, LogSender, PriceTable};
use crate::upstream::Upstream;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

/// What one worker's connections share: the config snapshot, the per-core upstream
/// pool, the worker's drain state, the process-wide controls (cache, rate limits), and
/// the observe plane's ends (this core's metrics, the log queue, the price table).
pub struct Worker {
    /// The config snapshot.
    pub settings: Arc<Settings>,
    /// Cache, rate limiters, body budget and clock, shared by every worker.
    pub controls: Arc<ControlState>,
    /// This worker's upstream pool (kept across config snapshots).
    pub upstream: Rc<Upstream>,
    /// This worker's drain state.
    pub drain: Rc<Drain>,
    /// This worker's metrics counters.
    pub metrics: Rc<WorkerMetrics>,
    /// `None` when the server runs without the request log.
    pub log: Option<LogSender>,
    /// `None` unless `server.access_log` is on.
    pub access_log: Option<AccessLog>,
    /// Model prices, for the cost of each request.
    pub prices: Arc<PriceTable>,
}

impl Worker {
    /// This worker with another config snapshot's settings, controls and prices; its pool,
    /// drain, metrics and log ends are the same.
    pub fn with_config(
        &self,
        settings: Arc<Settings>,
        controls: Arc<ControlState>,
        prices: Arc<PriceTable>,
    ) -> Worker {
        Worker {
            settings,
            controls,
            prices,
            upstream: self.upstream.clone(),
            drain: self.drain.clone(),
            metrics: self.metrics.clone(),
            log: self.log.clone(),
            access_log: self.access_log.clone(),
        }
    }
}

/// Where config snapshots come from (`live::LiveConfig`): its generation is read as each
/// request starts, so a change the admin API has answered applies to the next request.
pub trait SnapshotSource {
    /// Bumped by every new snapshot (one atomic load).
    fn generation(&self) -> u64;
    /// The snapshot now in force: settings, controls and prices.
    fn snapshot(&self) -> (Arc<Settings>, Arc<ControlState>, Arc<PriceTable>);
}

/// The worker a connection serves its next request with: replaced by one with the new
/// config snapshot as soon as one is published; a request holds the one it started with
/// to its end, and reading it takes no lock.
pub struct WorkerSlot {
    current: RefCell<Rc<Worker>>,
    source: Arc<dyn SnapshotSource>,
    generation: Cell<u64>,
}

impl WorkerSlot {
    /// A slot holding `worker`, made from `source`'s snapshot of `generation`.
    pub fn new(worker: Worker, source: Arc<dyn SnapshotSource>, generation: u64) -> WorkerSlot {
        WorkerSlot {
            current: RefCell::new(Rc::new(worker)),
            source,
            generation: Cell::new(generation),
        }
    }

    /// The worker for the next request, with the newest snapshot.
    pub fn current(&self) -> Rc<Worker> {
        // Read before the snapshot: a publish in between is taken at the next call.
        let generation = self.source.generation();
        if generation != self.generation.get() {
            self.generation.set(generation);
            let (settings, controls, prices) = self.source.snapshot();
            let next = self
                .current
                .borrow()
                .with_config(settings, controls, prices);
            *self.current.borrow_mut() = Rc::new(next);
        }
        self.current.borrow().clone()
    }
}
