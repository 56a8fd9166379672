//! sluice: a self-hosted AI gateway, thread-per-core on io_uring.
//! The library holds every part of the gateway; `main.rs` is only the command line.

pub mod admin;
pub mod config;
pub mod controls;
pub mod error;
pub mod http;
pub mod json;
pub mod lifecycle;
pub mod live;
pub mod logging;
pub mod manage;
pub mod observe;
pub mod providers;
pub mod proxy;
pub mod redact;
pub mod rfc3339;
pub mod route;
pub mod routing;
pub mod server;
pub mod sse;
pub mod translate;
pub mod upstream;
