//! Lifecycle state the server shares with the planes it wires: a worker's drain (`Drain`)
//! and the process's readiness (`Readiness`). Plain state, no IO; `server` owns the changes.

mod drain;
mod readiness;

pub use drain::{ConnectionGuard, Drain};
pub use readiness::Readiness;
