//! The admin plane: an HTTP server on `server.admin_listen` (never the data-plane
//! port), on its own thread and small monoio runtime, answering JSON.
//!
//! Routes: `GET /healthz`, `GET /readyz` (200 once every worker accepts, else 503)
//! and `GET /metrics` (Prometheus text) are open, like the probes they are: a
//! scraper needs no secret, and the metrics hold no log content, credential or
//! high-cardinality label. The APIs, `/api/v1/` (the logs API, which holds request
//! bodies) and `/client/v4/` (the management API in the hosted service's shape), need
//! `Authorization: Bearer TOKEN` of an admin token (compared in constant time; 401
//! otherwise): a `read` token may GET, an `edit` token anything (403 otherwise). With no
//! admin token configured they answer only on a loopback listener (403 elsewhere).

mod analytics;
mod conn;
mod dashboard;
mod logs;
mod query;
mod reply;
mod routes;
mod session;
mod v4;
mod v4_logs;

pub use logs::entry_json;
pub use reply::{ErrorKind, Reply};

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use monoio::io::{CancelHandle, Canceller};
use monoio::net::TcpListener;

use crate::config::AdminRole;
use crate::lifecycle::{accept_until_stopped, stop_listening, Readiness};
use crate::live::LiveConfig;
use crate::manage::Manage;
use crate::observe::logdb::{LogDb, LogDbError, LogWriter};
use crate::observe::metrics::MetricsHub;
use crate::redact::Secret;
use routes::Admin;

/// How often the admin thread looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);

/// What the admin plane reads: shared with the server that started it.
#[derive(Debug, Clone)]
pub struct AdminContext {
    /// Admin tokens and their roles; empty: see `loopback`.
    pub admin_tokens: Vec<(Secret, AdminRole)>,
    /// The admin listener is on a loopback address: with no admin token, the API is open
    /// there (and refused on any other address).
    pub loopback: bool,
    /// The management store (`None` in tests that start the admin plane alone).
    pub manage: Option<Arc<Manage>>,
    /// Read by `/readyz`.
    pub readiness: Arc<Readiness>,
    /// The workers' counters, rendered by `/metrics`.
    pub metrics: Arc<MetricsHub>,
    /// The request log the logs API reads.
    pub log_db: LogDb,
    /// Flushed before each logs API call (read your writes); its stats feed `/metrics`.
    pub log_writer: Arc<LogWriter>,
    /// The config in force: its gateways (the logs API answers 404 (2001) for any other
    /// that has no entries left in the log) and spend rules (`/metrics`).
    pub live: Arc<LiveConfig>,
}

/// Why the admin plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The admin address could not be bound.
    #[error("cannot listen on admin address {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
    /// The request log could not be opened for reading.
    #[error("admin plane: {0}")]
    Logs(#[from] LogDbError),
    /// The admin thread could not be started or did not come up.
    #[error("admin plane: {0}")]
    Thread(String),
}

/// The running admin server; stopped (and its thread joined) on `stop` or drop.
#[derive(Debug)]
pub struct AdminServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AdminServer {
    /// Binds `addr` (port 0 picks one: see [`Self::local_addr`]) and serves on a
    /// new thread; returns once it accepts.
    pub fn start(addr: SocketAddr, context: AdminContext) -> Result<AdminServer, AdminError> {
        let bind_error = |source| AdminError::Bind { addr, source };
        let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let store = context.log_db.store()?;
        let admin = Admin { context, store };
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sluice-admin".into())
            .spawn(move || run(admin, listener, thread_stop, &ready_tx))
            .map_err(|e| AdminError::Thread(format!("spawn: {e}")))?;
        let server = AdminServer {
            addr: bound,
            stop,
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(server),
            Ok(Err(e)) => Err(AdminError::Thread(e)),
            Err(_) => Err(AdminError::Thread("admin thread exited at start".into())),
        }
    }

    /// The bound address (a port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, drops open admin connections and joins the thread.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("admin thread panicked");
            }
        }
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

fn run(
    admin: Admin,
    listener: std::net::TcpListener,
    stop: Arc<AtomicBool>,
    ready: &mpsc::Sender<Result<(), String>>,
) {
    let runtime = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .build();
    let mut runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(format!("runtime: {e}")));
            return;
        }
    };
    let listening_fd = listener.as_raw_fd();
    runtime.block_on(async move {
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(format!("listener: {e}")));
                return;
            }
        };
        let canceller = Canceller::new();
        monoio::spawn(accept_loop(
            Rc::new(admin),
            listener,
            canceller.handle(),
            stop.clone(),
        ));
        let _ = ready.send(Ok(()));
        while !stop.load(Ordering::Acquire) {
            monoio::time::sleep(STOP_POLL).await;
        }
        // Refuse new connections now, whenever the runtime gets to close the socket.
        stop_listening(&[listening_fd]);
        let _ = canceller.cancel();
    });
}

async fn accept_loop(
    admin: Rc<Admin>,
    listener: TcpListener,
    cancel: CancelHandle,
    stop: Arc<AtomicBool>,
) {
    let stopping = || stop.load(Ordering::Acquire);
    accept_until_stopped(
        &listener,
        cancel,
        "admin ",
        stopping,
        || {},
        |stream| {
            monoio::spawn(conn::serve(admin.clone(), stream));
        },
    )
    .await;
}
