//! What the server shares with the planes it wires: a worker's drain (`Drain`), the
//! process's readiness (`Readiness`), and the accept loop both planes run (`accept`).

mod accept;
mod drain;
mod readiness;

pub use accept::{accept_until_stopped, stop_listening};
pub use drain::{ConnectionGuard, Drain};
pub use readiness::Readiness;
