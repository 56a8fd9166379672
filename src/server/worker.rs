//! One worker: an OS thread pinned to a core, its own monoio runtime (io_uring, or
//! epoll where io_uring is unavailable), its listeners, upstream pool and drain.

use super::catch_panic::catch_panics;
use super::WorkerObserve;
use crate::lifecycle::{accept_until_stopped, stop_listening, Drain, Readiness};
use crate::live::LiveConfig;
use crate::proxy::{serve_connection, Worker, WorkerSlot};
use crate::upstream::{Upstream, UpstreamShared};
use monoio::io::{CancelHandle, Canceller};
use monoio::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a worker looks at the process-wide shutdown flag (and at a scrape's
/// request for fresh metrics).
const SHUTDOWN_POLL: Duration = Duration::from_millis(20);
/// How often a worker publishes its metrics unasked.
const METRICS_PUBLISH_EVERY: Duration = Duration::from_secs(1);

pub struct WorkerSpec {
    pub index: usize,
    pub cpu: Option<usize>,
    pub listeners: Vec<std::net::TcpListener>,
    /// The config snapshots: the worker's slot takes each new one at the next request.
    pub live: Arc<LiveConfig>,
    pub upstream: Arc<UpstreamShared>,
    pub shutdown: Arc<AtomicBool>,
    /// Counted in once this worker accepts, out when it drains (`/readyz`).
    pub readiness: Arc<Readiness>,
    /// The log queue and metrics hub for the per-request wiring.
    pub observe: WorkerObserve,
}

/// What a worker reports once it accepts: its driver, or why it could not start.
pub type Ready = Result<&'static str, String>;

/// Runs the worker until it drains. A request that panics (a bug: the request path has
/// none by design) costs only its own connection (`catch_panics`). A panic anywhere else
/// in the worker leaves a runtime that cannot be trusted (its ring may still hold
/// accepts): the process then drains the other workers and exits 70 (`Readiness::failed`),
/// so a supervisor restarts it, instead of going on half-alive.
pub fn run(spec: WorkerSpec, ready: Sender<Ready>) {
    if let Some(cpu) = spec.cpu {
        if let Err(e) = monoio::utils::bind_to_cpu_set([cpu]) {
            log::warn!("worker {} could not pin to cpu {cpu}: {e:?}", spec.index);
        }
    }
    let (index, shutdown, readiness) = (spec.index, spec.shutdown.clone(), spec.readiness.clone());
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut runtime = match build_runtime() {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready.send(Err(format!("worker {}: runtime: {e}", spec.index)));
                return;
            }
        };
        runtime.block_on(serve(spec, ready));
    }));
    if let Err(panic) = ran {
        log::error!(
            "worker {index} panicked ({}); stopping the gateway (exit 70)",
            panic_message(panic.as_ref())
        );
        readiness.worker_failed();
        shutdown.store(true, Ordering::Release);
        // Wakes `sluice serve`'s signal wait, which drains the other workers.
        // SAFETY: kill(2) on our own pid with a signal the process handles.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
    }
}

pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

type Runtime = monoio::FusionRuntime<
    monoio::time::TimeDriver<monoio::IoUringDriver>,
    monoio::time::TimeDriver<monoio::LegacyDriver>,
>;

/// io_uring set up for one thread that alone submits and reaps, with task work run
/// cooperatively (no interrupt to the worker per completion): measured 10-20% more
/// proxied requests per core than a plain ring. DEFER_TASKRUN was tried too and
/// stretched stream latency tails. Else a plain ring, else epoll (monoio's choice).
fn build_runtime() -> std::io::Result<Runtime> {
    let mut tuned = io_uring::IoUring::builder();
    if std::env::var_os("SLUICE_URING_PLAIN").is_none() {
        tuned.setup_coop_taskrun().setup_single_issuer();
    }
    let with = |urb: io_uring::Builder| {
        monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
            .enable_timer()
            .uring_builder(urb)
            .build()
    };
    with(tuned).or_else(|e| {
        log::debug!("io_uring with task-run flags unavailable ({e}); plain setup");
        with(io_uring::IoUring::builder())
    })
}

async fn serve(spec: WorkerSpec, ready: Sender<Ready>) {
    // The generation is read before the snapshot: a publish in between is taken by the
    // slot at the next request.
    let generation = spec.live.generation();
    let snapshot = spec.live.current();
    // This worker's recorder: the proxy records each request into it, and this loop
    // publishes it with the upstream pool gauges.
    let metrics = Rc::new(spec.observe.worker_metrics(spec.index));
    let worker = Rc::new(WorkerSlot::new(
        Worker {
            upstream: Rc::new(Upstream::new(
                spec.upstream.clone(),
                &snapshot.settings.upstream,
            )),
            prices: snapshot.prices.clone(),
            settings: snapshot.settings.clone(),
            controls: snapshot.controls.clone(),
            drain: Drain::new(),
            metrics: metrics.clone(),
            log: spec.observe.log.clone(),
            access_log: spec.observe.access_log.clone(),
        },
        spec.live.clone(),
        generation,
    ));
    let (drain, upstream) = {
        let first = worker.current();
        (first.drain.clone(), first.upstream.clone())
    };
    drop(snapshot);
    let canceller = Canceller::new();
    let listening_fds: Vec<RawFd> = spec.listeners.iter().map(|l| l.as_raw_fd()).collect();
    for std_listener in spec.listeners {
        match TcpListener::from_std(std_listener) {
            Ok(listener) => {
                monoio::spawn(accept_loop(
                    worker.clone(),
                    listener,
                    canceller.handle(),
                    spec.readiness.clone(),
                ));
            }
            Err(e) => {
                let _ = ready.send(Err(format!("worker {}: listener: {e}", spec.index)));
                return;
            }
        }
    }
    let driver = if monoio::utils::is_legacy() {
        "epoll"
    } else {
        "io_uring"
    };
    // Counted as accepting before start is told: `Server::start` returns on these
    // messages, and `/readyz` right after it must see every worker.
    let accepting = spec.readiness.accepting_while();
    let _ = ready.send(Ok(driver));
    let mut last_publish = Instant::now();
    let inject_panic = fault_injected("worker-panic");
    while !spec.shutdown.load(Ordering::Acquire) {
        monoio::time::sleep(SHUTDOWN_POLL).await;
        if inject_panic {
            #[allow(clippy::panic)]
            {
                panic!("fault injected by SLUICE_FAULT_INJECT=worker-panic");
            }
        }
        if metrics.publish_wanted() || last_publish.elapsed() >= METRICS_PUBLISH_EVERY {
            metrics.set_pool(upstream.stats());
            metrics.publish();
            last_publish = Instant::now();
        }
    }
    drop(accepting);
    drain.start();
    stop_listening(&listening_fds);
    let _ = canceller.cancel();
    let grace = Duration::from_secs(worker.current().settings.server.shutdown_grace_s);
    let _ = monoio::time::timeout(grace, drain.all_closed()).await;
    // What the drain finished counts too (a scrape during shutdown sees it).
    metrics.set_pool(upstream.stats());
    metrics.publish();
    let open = drain.active_connections();
    if open > 0 {
        log::warn!(
            "worker {}: shutdown grace over, closing {open} connections",
            spec.index
        );
    }
}

/// `SLUICE_FAULT_INJECT=NAME`: a test makes this fault happen (read once per worker start).
fn fault_injected(name: &str) -> bool {
    std::env::var_os("SLUICE_FAULT_INJECT").is_some_and(|v| v == name)
}

async fn accept_loop(
    worker: Rc<WorkerSlot>,
    listener: TcpListener,
    cancel: CancelHandle,
    readiness: Arc<Readiness>,
) {
    let (drain, metrics) = {
        let first = worker.current();
        (first.drain.clone(), first.metrics.clone())
    };
    let stopping = || drain.is_draining();
    let failed = || metrics.count_accept_error();
    accept_until_stopped(&listener, cancel, "", stopping, failed, |stream| {
        monoio::spawn(catch_panics(
            serve_connection(worker.clone(), stream),
            readiness.clone(),
        ));
    })
    .await;
}
