//! The per-request pipeline: read head -> route -> auth -> read body -> plan (rewrite,
//! credentials) -> forward -> stream. The connection loop only sequences these stages.

mod attempt;
mod auth;
mod body;
mod body_budget;
mod cached;
mod client;
mod connection;
pub mod control_state;
mod forward;
pub mod io;
mod plan;
mod pump;
mod request_log;
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
    /// This worker's upstream pool.
    pub upstream: Upstream,
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
