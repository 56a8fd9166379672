//! The server's observe plane: the request log (`{data_dir}/logs.db` and its
//! writer thread), the metrics hub, and the admin server, started and stopped together.
//!
//! A `data_dir` that cannot be created or opened fails startup with its path in
//! the message: a gateway that silently logs nothing would hide the problem.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use crate::admin::{AdminContext, AdminError, AdminServer};
use crate::live::LiveConfig;
use crate::manage::{Manage, OpenError};
use crate::observe::logdb::{LogDb, LogDbError, LogSender, LogWriter};
use crate::observe::metrics::{MetricsHub, WorkerMetrics};
use crate::observe::AccessLog;

use crate::lifecycle::Readiness;

/// Why the observe plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// The request log could not be opened.
    #[error("request log in data_dir {path}: {source}")]
    Logs {
        /// `server.data_dir`.
        path: PathBuf,
        /// Why it could not be opened.
        source: LogDbError,
    },
    /// The admin plane could not start.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// The management store (`manage.db`) could not be opened or read.
    #[error(transparent)]
    Manage(#[from] OpenError),
}

/// What one worker gets for the per-request wiring: its log queue end and its
/// metrics recorder. The proxy picks these up (see `server::worker::serve`).
#[derive(Debug, Clone)]
pub struct WorkerObserve {
    /// `None` when the server runs without the observe plane.
    pub log: Option<LogSender>,
    /// `Some` when `server.access_log` is on.
    pub access_log: Option<AccessLog>,
    /// Where the worker publishes its metrics.
    pub metrics: Arc<MetricsHub>,
}

impl WorkerObserve {
    /// Worker `index`'s own recorder (make it once, on the worker's thread).
    pub fn worker_metrics(&self, index: usize) -> WorkerMetrics {
        self.metrics.worker(index)
    }
}

/// The running log writer and admin server.
#[derive(Debug)]
pub struct ObservePlane {
    /// The template of each worker's sender (a sender's spare entries are its own,
    /// so it is handed out as a clone, never shared).
    log_sender: Mutex<LogSender>,
    log_writer: Arc<LogWriter>,
    admin: Option<AdminServer>,
}

impl ObservePlane {
    /// Opens the log under `server.data_dir` (creating the folder), starts its
    /// writer, and the admin server when `admin_listen` is set.
    pub fn start(
        live: &Arc<LiveConfig>,
        metrics: &Arc<MetricsHub>,
        readiness: &Arc<Readiness>,
    ) -> Result<ObservePlane, ObserveError> {
        let settings = live.current().settings.clone();
        let path = PathBuf::from(&settings.server.data_dir);
        let logs_error = |source| ObserveError::Logs {
            path: path.clone(),
            source,
        };
        let log_db = LogDb::open(&path).map_err(logs_error)?;
        // The API's gateways go live here, before the workers start.
        let manage = Arc::new(Manage::open(
            &path,
            &settings.server.secrets_key,
            live.clone(),
        )?);
        let (log_sender, pending) = log_db.writer(settings.server.log_queue_entries);
        let log_writer = Arc::new(pending.start().map_err(logs_error)?);
        let admin = match settings.admin_listen {
            None => None,
            Some(addr) => {
                let context = AdminContext {
                    admin_tokens: settings.server.admin_tokens(),
                    loopback: addr.ip().is_loopback(),
                    manage: Some(manage.clone()),
                    readiness: readiness.clone(),
                    metrics: metrics.clone(),
                    log_db,
                    log_writer: log_writer.clone(),
                    live: live.clone(),
                };
                Some(AdminServer::start(addr, context)?)
            }
        };
        Ok(ObservePlane {
            log_sender: Mutex::new(log_sender),
            log_writer,
            admin,
        })
    }

    /// A sender of its own for a worker (or a test).
    pub fn log_sender(&self) -> LogSender {
        self.log_sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The admin plane's address, when it runs.
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        self.admin.as_ref().map(AdminServer::local_addr)
    }

    /// Waits until what was queued so far is written.
    pub fn flush_logs(&self) -> Result<(), LogDbError> {
        self.log_writer.flush()
    }

    /// Stops the admin server, then writes what is queued and stops the writer.
    pub fn shutdown(self) {
        let ObservePlane {
            log_writer, admin, ..
        } = self;
        if let Some(admin) = admin {
            admin.stop();
        }
        // The admin thread, now joined, held the only other handle.
        match Arc::try_unwrap(log_writer) {
            Ok(writer) => {
                if let Err(e) = writer.shutdown() {
                    log::error!("request log: {e}");
                }
            }
            Err(shared) => {
                if let Err(e) = shared.flush() {
                    log::error!("request log: {e}");
                }
            }
        }
    }
}
