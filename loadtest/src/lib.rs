//! Shared code of the load tools: `sluice-mock` (a mock OpenAI-compatible provider) and
//! `sluice-load` (an HTTP/1.1 load generator); the binaries are thin shells over `mock` and `load`.

pub mod error;
pub mod load;
pub mod mock;
pub mod runtime;
pub mod wire;
