//! The process shape: worker threads (one per core), their listeners, and an orderly
//! shutdown. `Server::start` returns once every worker accepts.

mod catch_panic;
mod listener;
mod observe_plane;
mod worker;

pub use observe_plane::{ObserveError, ObservePlane, WorkerObserve};

use crate::config::Settings;
use crate::controls::spend_file::{restore_and_save, SpendFileError, SpendSaver};
use crate::lifecycle::Readiness;
use crate::live::{LiveConfig, Snapshot};
use crate::observe::logdb::{LogDbError, LogSender};
use crate::observe::metrics::MetricsHub;
use crate::observe::AccessLog;
use crate::proxy::{ControlState, SystemClock};
use crate::routing::{ElementKind, LimitType};
use crate::upstream::{UpstreamError, UpstreamShared};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Why the server could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address as configured.
        addr: String,
        /// The bind error.
        source: std::io::Error,
    },
    /// The upstream side (DNS thread, TLS roots) could not be set up.
    #[error("upstream setup: {0}")]
    Upstream(#[from] UpstreamError),
    /// A worker failed to start or died.
    #[error("{0}")]
    Worker(String),
    /// Something this platform or build cannot do.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The request log or the admin plane could not start.
    #[error(transparent)]
    Observe(#[from] ObserveError),
    /// The saved spend of spend limits and cost buckets could not be read back.
    #[error("spend limits: {0}")]
    Spend(#[from] SpendFileError),
}

/// A running gateway.
pub struct Server {
    addrs: Vec<SocketAddr>,
    workers: Vec<JoinHandle<()>>,
    shutdown: Arc<AtomicBool>,
    driver: &'static str,
    readiness: Arc<Readiness>,
    metrics: Arc<MetricsHub>,
    observe: Option<ObservePlane>,
    /// The access-log thread, joined once the workers (and their ends) are gone.
    access_writer: Option<std::thread::JoinHandle<()>>,
    /// Keeps spend in `data_dir` when a gateway has spend limits or cost buckets.
    spend_saver: Option<SpendSaver>,
    /// The config snapshot in force, shared with the workers.
    live: Arc<LiveConfig>,
}

impl Server {
    /// Starts the gateway with its controls (one cache, one limiter per gateway) on the
    /// system clock.
    pub fn start(settings: Arc<Settings>) -> Result<Server, ServeError> {
        let controls = Arc::new(ControlState::new(&settings, Arc::new(SystemClock)));
        Server::start_with(settings, controls)
    }

    /// Starts the gateway sharing `controls` between its workers (tests inject a clock or
    /// a cache of their own here).
    pub fn start_with(
        settings: Arc<Settings>,
        controls: Arc<ControlState>,
    ) -> Result<Server, ServeError> {
        Server::start_planes(settings, controls, false)
    }

    /// Starts the gateway with its observe plane: the request log under
    /// `server.data_dir` (created if needed; startup fails, naming the path, when it
    /// cannot be opened) with its writer thread, and the admin server on
    /// `admin_listen` when set. `start` and `start_with` leave both off.
    pub fn start_observed(settings: Arc<Settings>) -> Result<Server, ServeError> {
        let controls = Arc::new(ControlState::new(&settings, Arc::new(SystemClock)));
        Server::start_observed_with(settings, controls)
    }

    /// `start_observed` with controls of the caller's making.
    pub fn start_observed_with(
        settings: Arc<Settings>,
        controls: Arc<ControlState>,
    ) -> Result<Server, ServeError> {
        Server::start_planes(settings, controls, true)
    }

    fn start_planes(
        settings: Arc<Settings>,
        controls: Arc<ControlState>,
        observed: bool,
    ) -> Result<Server, ServeError> {
        if settings.server.tls.is_some() {
            // Refuse rather than silently serve plain HTTP on a port meant for TLS.
            return Err(ServeError::Unsupported(
                "[server.tls] (TLS on the listener) is not supported yet; terminate TLS in front of sluice",
            ));
        }
        let cpus = allowed_cpus();
        let count = match settings.server.workers {
            0 => cpus.len().max(1),
            n => n,
        };
        let (mut listeners, bound) =
            listener::bind_all(&settings.listen, count).map_err(|source| ServeError::Bind {
                addr: settings.server.listen.join(", "),
                source,
            })?;
        // Providers with stored keys are the ones expected in use: resolve them ahead;
        // any other host is resolved (off the workers) on first use.
        let hosts: Vec<(String, u16)> = settings
            .providers
            .values()
            .filter(|p| !p.base.has_placeholder() && !p.keys.is_empty())
            .map(|p| (p.base.host.clone(), p.base.port))
            .collect();
        let ca_files: Vec<_> = settings
            .providers
            .values()
            .filter_map(|p| p.ca_file.clone())
            .collect();
        let upstream = Arc::new(UpstreamShared::new(&settings.upstream, &hosts, &ca_files)?);
        let readiness = Arc::new(Readiness::new(count));
        let metrics = MetricsHub::new(count);
        // Budgets survive a restart: what was spent is read back before any request. With
        // the observe plane on, a reload may add a budget, so spend is kept from the start.
        let spend_saver = match observed || keeps_spend(&settings) {
            true => Some(restore_and_save(
                Path::new(&settings.server.data_dir),
                controls.local_counters().clone(),
            )?),
            false => None,
        };
        let live = Arc::new(LiveConfig::new(Snapshot::first(settings.clone(), controls)));
        // Before the workers: a log or admin failure then leaves nothing running.
        let observe = if observed {
            Some(ObservePlane::start(&live, &metrics, &readiness)?)
        } else {
            None
        };
        let (access_log, access_writer) = if settings.server.access_log {
            let queue = settings.server.log_queue_entries;
            let (log, writer) = AccessLog::start(queue)
                .map_err(|e| ServeError::Worker(format!("spawn the access-log thread: {e}")))?;
            (Some(log), Some(writer))
        } else {
            (None, None)
        };
        let worker_observe = WorkerObserve {
            log: observe.as_ref().map(ObservePlane::log_sender),
            access_log,
            metrics: metrics.clone(),
        };
        let shutdown = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut workers = Vec::with_capacity(count);
        for (index, listeners) in listeners.drain(..).enumerate() {
            let spec = worker::WorkerSpec {
                index,
                cpu: (!cpus.is_empty()).then(|| cpus[index % cpus.len()]),
                listeners,
                live: live.clone(),
                upstream: upstream.clone(),
                shutdown: shutdown.clone(),
                readiness: readiness.clone(),
                observe: worker_observe.clone(),
            };
            let tx = ready_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("sluice-w{index}"))
                .spawn(move || worker::run(spec, tx))
                .map_err(|e| ServeError::Worker(format!("spawn worker: {e}")))?;
            workers.push(handle);
        }
        drop(ready_tx);
        let mut drivers = Vec::with_capacity(count);
        for _ in 0..count {
            match ready_rx.recv() {
                Ok(Ok(driver)) => drivers.push(driver),
                Ok(Err(e)) => {
                    shutdown.store(true, Ordering::Release);
                    return Err(ServeError::Worker(e));
                }
                Err(_) => {
                    shutdown.store(true, Ordering::Release);
                    return Err(ServeError::Worker("a worker exited at start".into()));
                }
            }
        }
        let driver = if drivers.iter().all(|d| *d == "io_uring") {
            "io_uring"
        } else {
            "epoll"
        };
        Ok(Server {
            addrs: bound,
            workers,
            shutdown,
            driver,
            readiness,
            metrics,
            observe,
            access_writer,
            spend_saver,
            live,
        })
    }

    /// The running configuration: publish a new `Settings` here to apply it live.
    pub fn live(&self) -> &Arc<LiveConfig> {
        &self.live
    }

    /// The bound data-plane addresses (a port 0 resolved).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Workers started.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// "io_uring", or "epoll" where io_uring is unavailable.
    pub fn driver(&self) -> &'static str {
        self.driver
    }

    /// Starts the drain: listeners close, idle connections close, in-flight ones finish.
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
    }

    /// Waits for every worker to finish its drain (bounded by `shutdown_grace_s`),
    /// then stops the admin server and writes the queued log entries.
    pub fn join(self) {
        for w in self.workers {
            let _ = w.join();
        }
        // The workers' ends are dropped: the writer writes what is queued and ends.
        if let Some(writer) = self.access_writer {
            let _ = writer.join();
        }
        if let Some(observe) = self.observe {
            observe.shutdown();
        }
        if let Some(saver) = self.spend_saver {
            saver.stop();
        }
    }

    /// The admin server's address (a port 0 resolved); `None` when it is off.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.observe.as_ref().and_then(ObservePlane::admin_addr)
    }

    /// A handle on the request log queue (`None` without the observe plane).
    pub fn log_sender(&self) -> Option<LogSender> {
        self.observe.as_ref().map(ObservePlane::log_sender)
    }

    /// Waits until every log entry queued so far is written.
    pub fn flush_logs(&self) -> Result<(), LogDbError> {
        match &self.observe {
            Some(observe) => observe.flush_logs(),
            None => Ok(()),
        }
    }

    /// Workers accepting now, against workers started.
    pub fn readiness(&self) -> &Arc<Readiness> {
        &self.readiness
    }

    /// Where workers publish their metrics.
    pub fn metrics(&self) -> &Arc<MetricsHub> {
        &self.metrics
    }
}

/// Whether any gateway counts spend: enforced spend rules, or a route's cost `rate` element.
fn keeps_spend(settings: &Settings) -> bool {
    settings.gateways.values().any(|g| {
        let rules = g
            .config
            .spend_limits
            .as_ref()
            .is_some_and(|l| l.enforced().next().is_some());
        let buckets = g.routes.iter().flat_map(|r| &r.elements).any(
            |e| matches!(&e.kind, ElementKind::Rate(rate) if rate.limit_type == LimitType::Cost),
        );
        rules || buckets
    })
}

/// The CPUs this process may run on (its affinity mask, so `taskset` is honoured).
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}
