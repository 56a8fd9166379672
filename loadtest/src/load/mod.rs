//! `sluice-load`: an HTTP/1.1 keep-alive load generator, thread-per-core, closed or open loop.
//! This file owns the run: workers, request slots, outcome recording and the final verdict.

pub mod bodies;
pub mod client;
pub mod config;
pub mod progress;
pub mod report;
pub mod request;
pub mod socket;
pub mod sse;
pub mod stats;
pub mod target;
mod task;
pub mod text;
pub mod timeline;
pub mod tls;
mod usage;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use monoio::time::Instant;

use crate::error::ToolError;
use crate::runtime;
use config::{Bound, LoadConfig, LoadShape};
use progress::Progress;
use report::Report;
use stats::{Failure, Stats};

/// Pause after a failed connect, so a closed port is not hammered in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// What a run ended with.
#[derive(Debug)]
pub struct Outcome {
    /// The text report.
    pub text: String,
    /// `Err(why)` when the run counts as failed (see `Report::verdict`).
    pub verdict: Result<(), String>,
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
    requests: bodies::Requests,
    /// Requests taken so far (numbers the next one, across workers).
    taken: Cell<u64>,
    index: u64,
    workers: u64,
    next_slot: Cell<u64>,
    stats: RefCell<Stats>,
    progress: Arc<Progress>,
}

impl Worker {
    /// The next request to send: the workers take turns through the list.
    fn next_request(&self) -> Rc<Vec<u8>> {
        let taken = self.taken.get();
        self.taken.set(taken + 1);
        self.requests.get(taken * self.workers + self.index)
    }

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

    /// Counts a request timed from `origin` that ended at `finished`, good or not.
    fn finish(&self, outcome: Result<(), Failure>, origin: Instant, finished: Instant) {
        let elapsed = finished.saturating_duration_since(origin);
        let second = finished
            .saturating_duration_since(self.plan.start)
            .as_secs() as usize;
        let mut stats = self.stats.borrow_mut();
        let counter = match outcome {
            Ok(()) => {
                stats.succeed(elapsed, second);
                &self.progress.ok
            }
            Err(failure) => {
                stats.fail(&failure, elapsed, second);
                &self.progress.errors
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs the load, writes `--json`, and returns the text report with the verdict.
pub fn run(config: LoadConfig) -> Result<Outcome, ToolError> {
    let config = Arc::new(config);
    let progress = Arc::new(Progress::default());
    let start = std::time::Instant::now() + Duration::from_millis(20);
    let (done_tx, done_rx) = mpsc::channel::<usize>();
    let mut handles = Vec::with_capacity(config.workers);
    for index in 0..config.workers {
        let (config, progress, done_tx) = (config.clone(), progress.clone(), done_tx.clone());
        let handle = runtime::spawn_worker("sluice-load", index, move |driver| async move {
            let result = run_worker(index, config, start, progress).await;
            let _ = done_tx.send(index);
            result.map(|stats| (driver, stats))
        })?;
        handles.push(handle);
    }
    drop(done_tx);
    progress::watch(
        &config,
        &progress,
        &done_rx,
        start,
        progress::wanted(&config),
    );
    let mut merged = Stats::new()?;
    let mut driver = "";
    for (index, handle) in handles.into_iter().enumerate() {
        let (name, stats) = handle.join().map_err(|_| ToolError::Worker(index))???;
        driver = name;
        merged.merge(&stats);
    }
    let elapsed = start.elapsed();
    let report = Report::new(&config, driver, &merged, elapsed);
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
    Ok(Outcome {
        text: report.text(),
        verdict: report.verdict(),
    })
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
        requests: bodies::Requests::new(&config.requests),
        taken: Cell::new(0),
        index: index as u64,
        workers: workers as u64,
        config,
        plan,
        next_slot: Cell::new(0),
        stats: RefCell::new(Stats::new()?),
        progress,
    });
    monoio::time::sleep_until(start).await;
    let tasks: Vec<_> = (0..worker.plan.connections)
        .map(|_| monoio::spawn(task::connection_task(worker.clone())))
        .collect();
    for task in tasks {
        task.await;
    }
    let stats = worker.stats.borrow().clone();
    Ok(stats)
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
