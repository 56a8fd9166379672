//! The live progress line: on a terminal, stderr gets one `\r`-rewritten line four times a
//! second (elapsed and remaining time, requests, errors, current rate); elsewhere, nothing.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::config::{Bound, LoadConfig};

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(250);

/// Ticks the current rate is averaged over (one second).
const WINDOW: usize = 4;

/// Counters the workers bump and the main thread reads.
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests that ended well.
    pub ok: AtomicU64,
    /// Requests that failed.
    pub errors: AtomicU64,
}

/// Whether the line is drawn: not `--quiet`, and stderr is a terminal.
pub fn wanted(config: &LoadConfig) -> bool {
    !config.quiet && std::io::stderr().is_terminal()
}

/// Waits until every worker has reported on `done`, drawing the line meanwhile if `draw`.
pub fn watch(
    config: &LoadConfig,
    progress: &Progress,
    done: &mpsc::Receiver<usize>,
    start: Instant,
    draw: bool,
) {
    let mut finished = 0;
    if !draw {
        while finished < config.workers && done.recv().is_ok() {
            finished += 1;
        }
        return;
    }
    let mut next_tick = start + TICK;
    let mut window: VecDeque<(Instant, u64)> = VecDeque::from([(start, 0)]);
    let mut stderr = std::io::stderr();
    while finished < config.workers {
        let wait = next_tick.saturating_duration_since(Instant::now());
        match done.recv_timeout(wait) {
            Ok(_) => finished += 1,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                next_tick += TICK;
                let now = Instant::now();
                let ok = progress.ok.load(Ordering::Relaxed);
                let errors = progress.errors.load(Ordering::Relaxed);
                window.push_back((now, ok + errors));
                if window.len() > WINDOW + 1 {
                    window.pop_front();
                }
                let rate = match (window.front(), window.back()) {
                    (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                        (n1 - n0) as f64 / t1.duration_since(*t0).as_secs_f64()
                    }
                    _ => 0.0,
                };
                let elapsed = now.saturating_duration_since(start).as_secs_f64();
                let line = line(config.bound, elapsed, ok, errors, rate);
                let _ = write!(stderr, "\r{line}\x1b[K");
                let _ = stderr.flush();
            }
        }
    }
    let _ = write!(stderr, "\r\x1b[K");
    let _ = stderr.flush();
}

/// One progress line.
fn line(bound: Bound, elapsed: f64, ok: u64, errors: u64, rate: f64) -> String {
    let done = ok + errors;
    match bound {
        Bound::Duration(total) => format!(
            "[{elapsed:.1}s / {total}s, {:.1}s left] {done} requests, {errors} errors, {rate:.0} req/s",
            (total - elapsed).max(0.0)
        ),
        Bound::Requests(n) => {
            let left = if rate > 0.0 {
                format!("~{:.1}s left", n.saturating_sub(done) as f64 / rate)
            } else {
                "? left".to_owned()
            };
            format!("[{elapsed:.1}s, {left}] {done}/{n} requests, {errors} errors, {rate:.0} req/s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_time_left() {
        assert_eq!(
            line(Bound::Duration(10.0), 2.5, 90, 10, 40.0),
            "[2.5s / 10s, 7.5s left] 100 requests, 10 errors, 40 req/s"
        );
        assert_eq!(
            line(Bound::Requests(300), 1.0, 100, 0, 50.0),
            "[1.0s, ~4.0s left] 100/300 requests, 0 errors, 50 req/s"
        );
        assert!(line(Bound::Requests(3), 0.2, 0, 0, 0.0).contains("? left"));
    }
}
