//! `sluice-load`: an HTTP/1.1 keep-alive load generator, thread-per-core, closed or open loop.
//! This file owns the run: workers, request slots, outcome recording and the progress line.

pub mod client;
pub mod config;
pub mod sse;
pub mod stats;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use monoio::time::Instant;

use crate::error::ToolError;
use crate::runtime;
use client::{Connection, ExchangeError, StreamTimes};
use config::{Bound, LoadConfig, LoadShape};
use stats::{Failure, Report, Stats};

/// Pause after a failed connect, so a closed port is not hammered in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// Counters the main thread reads for the progress line.
#[derive(Debug, Default)]
struct Progress {
    ok: AtomicU64,
    errors: AtomicU64,
}

/// One worker's share of the run.
struct Plan {
    start: Instant,
    deadline: Option<Instant>,
    requests: Option<u64>,
    /// Open loop: the gap between this worker's slots and its first slot's offset.
    schedule: Option<(Duration, Duration)>,
    connections: usize,
}

/// A worker's state, shared by its connection tasks on one thread.
struct Worker {
    config: Arc<LoadConfig>,
    plan: Plan,
    request: Rc<Vec<u8>>,
    next_slot: Cell<u64>,
    stats: RefCell<Stats>,
    progress: Arc<Progress>,
}

impl Worker {
    /// Takes the next request slot: `Some(scheduled send time)` until the bound is reached.
    fn take_slot(&self) -> Option<Instant> {
        let slot = self.next_slot.get();
        if self.plan.requests.is_some_and(|n| slot >= n) {
            return None;
        }
        let at = match self.plan.schedule {
            Some((interval, offset)) => {
                // Saturating: a slot too far in the future simply never comes.
                let later = Duration::try_from_secs_f64(interval.as_secs_f64() * slot as f64)
                    .unwrap_or(Duration::MAX);
                self.plan.start.checked_add(offset.saturating_add(later))?
            }
            None => Instant::now(),
        };
        if self.plan.deadline.is_some_and(|d| at >= d) {
            return None;
        }
        self.next_slot.set(slot + 1);
        Some(at)
    }

    fn record(&self, outcome: Result<(), Failure>) {
        let counter = match outcome {
            Ok(()) => {
                self.stats.borrow_mut().ok += 1;
                &self.progress.ok
            }
            Err(failure) => {
                self.stats.borrow_mut().fail(failure);
                &self.progress.errors
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs the load, prints the report (and writes `--json`), and returns it as text.
pub fn run(config: LoadConfig) -> Result<String, ToolError> {
    let config = Arc::new(config);
    let progress = Arc::new(Progress::default());
    let start = std::time::Instant::now() + Duration::from_millis(20);
    let (done_tx, done_rx) = mpsc::channel::<usize>();
    let mut handles = Vec::with_capacity(config.workers);
    for index in 0..config.workers {
        let (config, progress, done_tx) = (config.clone(), progress.clone(), done_tx.clone());
        let handle = runtime::spawn_worker("sluice-load", index, move |driver| async move {
            if !config.quiet {
                eprintln!("sluice-load worker {index}: {driver} driver");
            }
            let result = run_worker(index, config, start, progress).await;
            let _ = done_tx.send(index);
            result
        })?;
        handles.push(handle);
    }
    drop(done_tx);
    watch_progress(&config, &progress, &done_rx, start);
    let mut merged = Stats::new()?;
    for (index, handle) in handles.into_iter().enumerate() {
        let stats = handle.join().map_err(|_| ToolError::Worker(index))???;
        merged.merge(&stats);
    }
    let elapsed = start.elapsed();
    let report = Report::new(&config, &merged, elapsed);
    if let Some(path) = &config.json {
        let json = serde_json::to_vec_pretty(&report).map_err(|e| ToolError::Io {
            context: "serialising the report",
            source: e.into(),
        })?;
        std::fs::write(path, json).map_err(|source| ToolError::File {
            path: path.clone(),
            source,
        })?;
    }
    Ok(report.text())
}

/// Prints a progress line each second until every worker has finished.
fn watch_progress(
    config: &LoadConfig,
    progress: &Progress,
    done: &mpsc::Receiver<usize>,
    start: std::time::Instant,
) {
    let mut finished = 0;
    let mut last_total = 0;
    let mut next_tick = start + Duration::from_secs(1);
    while finished < config.workers {
        let wait = next_tick.saturating_duration_since(std::time::Instant::now());
        match done.recv_timeout(wait) {
            Ok(_) => finished += 1,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let ok = progress.ok.load(Ordering::Relaxed);
                let errors = progress.errors.load(Ordering::Relaxed);
                if !config.quiet {
                    eprintln!(
                        "[{:>4.0}s] ok {ok} errors {errors} ({} responses/s)",
                        start.elapsed().as_secs_f64(),
                        (ok + errors).saturating_sub(last_total)
                    );
                }
                last_total = ok + errors;
                next_tick += Duration::from_secs(1);
            }
        }
    }
}

/// Splits `total` over `parts` as evenly as possible; `index` gets its share.
fn share(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((index as u64) < total % parts)
}

async fn run_worker(
    index: usize,
    config: Arc<LoadConfig>,
    start: std::time::Instant,
    progress: Arc<Progress>,
) -> Result<Stats, ToolError> {
    let start = Instant::from_std(start);
    let workers = config.workers;
    let (connections, schedule) = match config.shape {
        LoadShape::Closed { concurrency } => (concurrency, None),
        LoadShape::Open { rate, connections } => {
            // Worker k sends at offset k/R, then every workers/R: the workers interleave.
            let interval = Duration::from_secs_f64(workers as f64 / rate);
            (
                connections,
                Some((interval, Duration::from_secs_f64(index as f64 / rate))),
            )
        }
    };
    let plan = Plan {
        start,
        deadline: match config.bound {
            Bound::Duration(secs) => Some(start + Duration::from_secs_f64(secs)),
            Bound::Requests(_) => None,
        },
        requests: match config.bound {
            Bound::Requests(n) => Some(share(n, workers, index)),
            Bound::Duration(_) => None,
        },
        schedule,
        connections: share(connections as u64, workers, index) as usize,
    };
    let worker = Rc::new(Worker {
        request: Rc::new(config.request.clone()),
        config,
        plan,
        next_slot: Cell::new(0),
        stats: RefCell::new(Stats::new()?),
        progress,
    });
    monoio::time::sleep_until(start).await;
    let tasks: Vec<_> = (0..worker.plan.connections)
        .map(|_| monoio::spawn(connection_task(worker.clone())))
        .collect();
    for task in tasks {
        task.await;
    }
    let stats = worker.stats.borrow().clone();
    Ok(stats)
}

/// Sends requests on one (re)connected connection until the worker runs out of slots.
async fn connection_task(worker: Rc<Worker>) {
    let config = &worker.config;
    let timeout = config.timeout();
    let mut conn: Option<Connection> = None;
    while let Some(scheduled) = worker.take_slot() {
        // The timer wakes up to a millisecond late; that lateness is the load generator's.
        // So a request sent from a free connection is timed from when it went out, while
        // one whose connection was still busy at its slot (a slow server) is timed from
        // the slot, so queueing still counts (no coordinated omission).
        // A slot already due is sent at once: even a past deadline makes the timer wait
        // for its next tick.
        let origin = if Instant::now() < scheduled {
            monoio::time::sleep_until(scheduled).await;
            Instant::now()
        } else {
            scheduled
        };
        let mut open = match conn.take() {
            Some(open) => open,
            None => match monoio::time::timeout(timeout, Connection::open(config.addr)).await {
                Ok(Ok(open)) => open,
                Ok(Err(_)) | Err(_) => {
                    worker.record(Err(Failure::Connect));
                    monoio::time::sleep(CONNECT_BACKOFF).await;
                    continue;
                }
            },
        };
        let exchange = open.exchange(worker.request.clone(), config.stream);
        let result = monoio::time::timeout(timeout, exchange).await;
        let finished = Instant::now();
        let outcome = match result {
            Err(_) => Err(Failure::Timeout),
            Ok(Err(ExchangeError::Closed)) if config.stream => Err(Failure::ShortStream),
            Ok(Err(_)) => Err(Failure::Io),
            Ok(Ok(response)) => {
                let outcome = judge(&worker, &open.times, response.status, origin, finished);
                if response.keep_alive {
                    conn = Some(open);
                }
                outcome
            }
        };
        worker.record(outcome);
    }
}

/// Records the timings of a complete response and says whether it counts as ok.
fn judge(
    worker: &Worker,
    times: &StreamTimes,
    status: u16,
    scheduled: Instant,
    finished: Instant,
) -> Result<(), Failure> {
    if !(200..300).contains(&status) {
        return Err(Failure::Status(status));
    }
    let mut stats = worker.stats.borrow_mut();
    let elapsed = finished.duration_since(scheduled);
    if !worker.config.stream {
        stats::record(&mut stats.latency, elapsed);
        return Ok(());
    }
    if !times.done {
        return Err(Failure::ShortStream);
    }
    if let Some(expected) = worker.config.expect_chunks {
        if times.chunks != expected || !times.in_order {
            return Err(Failure::CorruptStream);
        }
    }
    if let Some(first) = times.first_content {
        stats::record(&mut stats.ttft, first.duration_since(scheduled));
    }
    for gap in &times.gaps_us {
        stats::record(&mut stats.gap, Duration::from_micros(*gap));
    }
    stats::record(&mut stats.total, elapsed);
    stats.chunks += times.chunks;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up() {
        for (total, parts) in [(200, 3), (7, 7), (1, 4), (0, 2)] {
            let sum: u64 = (0..parts).map(|i| share(total, parts, i)).sum();
            assert_eq!(sum, total);
        }
    }
}
