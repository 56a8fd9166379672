//! The per-request pipeline: read head -> route -> auth -> read body -> plan (rewrite,
//! credentials) -> forward -> stream. The connection loop only sequences these steps.

mod auth;
mod body;
mod client;
mod connection;
mod forward;
pub mod io;
mod plan;
mod stream;

pub use connection::serve_connection;

use crate::config::Settings;
use crate::server::Drain;
use crate::upstream::Upstream;
use std::rc::Rc;
use std::sync::Arc;

/// What one worker's connections share: the config snapshot, the per-core upstream
/// pool, and the worker's drain state. Never crosses threads.
pub struct Worker {
    pub settings: Arc<Settings>,
    pub upstream: Upstream,
    pub drain: Rc<Drain>,
}
