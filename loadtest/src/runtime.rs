//! Thread-per-core plumbing shared by both tools: one OS thread per worker, each with its own
//! monoio runtime (io_uring, epoll fallback), and SO_REUSEPORT listeners.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::thread::{self, JoinHandle};

use monoio::net::{ListenerOpts, TcpListener};
use monoio::{FusionDriver, FusionRuntime, RuntimeBuilder};

use crate::error::ToolError;

/// Starts worker `index` on its own thread and runtime; `task` gets the driver's name
/// ("io_uring" or "epoll") so the caller can log it.
pub fn spawn_worker<F, Fut, T>(
    name: &str,
    index: usize,
    task: F,
) -> Result<JoinHandle<Result<T, ToolError>>, ToolError>
where
    F: FnOnce(&'static str) -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    thread::Builder::new()
        .name(format!("{name}-{index}"))
        .spawn(move || {
            let mut runtime = RuntimeBuilder::<FusionDriver>::new()
                .enable_timer()
                .build()
                .map_err(ToolError::io("building the monoio runtime"))?;
            let driver = match &runtime {
                FusionRuntime::Uring(_) => "io_uring",
                FusionRuntime::Legacy(_) => "epoll",
            };
            Ok(runtime.block_on(task(driver)))
        })
        .map_err(ToolError::io("spawning a worker thread"))
}

/// Binds a listener with SO_REUSEPORT so that every worker can bind the same port.
pub fn bind_reuse_port(addr: SocketAddr) -> io::Result<TcpListener> {
    let opts = ListenerOpts::default().reuse_port(true);
    TcpListener::bind_with_config(addr, &opts)
}
