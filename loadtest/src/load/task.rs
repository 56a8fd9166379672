//! One connection's loop: take a slot, (re)connect, exchange, and judge the response; every
//! request is timed and counted, failures by kind, with the first error body kept.

use std::rc::Rc;
use std::time::Duration;

use monoio::time::Instant;

use super::client::{Connection, ExchangeError, StreamTimes};
use super::socket::describe;
use super::stats::{self, Failure, Sample};
use super::{Worker, CONNECT_BACKOFF};

/// Sends requests on one (re)connected connection until the worker runs out of slots.
pub(super) async fn connection_task(worker: Rc<Worker>) {
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
            None => {
                let connect = Connection::open(config.addr, config.tls.as_ref());
                let failure = match monoio::time::timeout(timeout, connect).await {
                    Ok(Ok(open)) => Ok(open),
                    Ok(Err(e)) => Err(Failure::Connect(e.to_string())),
                    Err(_) => Err(Failure::Connect("connect: timed out".to_owned())),
                };
                match failure {
                    Ok(open) => open,
                    Err(failure) => {
                        worker.finish(Err(failure), origin, Instant::now());
                        monoio::time::sleep(CONNECT_BACKOFF).await;
                        continue;
                    }
                }
            }
        };
        let capture = worker.stats.borrow().sample.is_none();
        let request = worker.next_request();
        let sent = request.len() as u64;
        let exchange = open.exchange(request, config.stream, capture);
        let result = monoio::time::timeout(timeout, exchange).await;
        let finished = Instant::now();
        {
            let mut stats = worker.stats.borrow_mut();
            stats.bytes_sent += sent;
            stats.bytes_received += open.take_received();
        }
        let outcome = match result {
            Err(_) => Err(Failure::Timeout),
            Ok(Err(ExchangeError::Closed)) if config.stream => Err(Failure::ShortStream),
            Ok(Err(ExchangeError::Closed)) => Err(Failure::Io(
                "connection closed before the response ended".to_owned(),
            )),
            Ok(Err(ExchangeError::Io(e))) => Err(Failure::Io(format!("io: {}", describe(&e)))),
            Ok(Err(ExchangeError::Wire(e))) => Err(Failure::Io(format!("bad response: {e}"))),
            Ok(Ok(response)) => {
                let status = response.status;
                {
                    let mut stats = worker.stats.borrow_mut();
                    stats.response(status);
                    if capture && !(200..300).contains(&status) {
                        stats.sample = Some(Sample {
                            status,
                            body: std::mem::take(&mut open.sample),
                            body_bytes: open.body_bytes,
                        });
                    }
                }
                let outcome = judge(&worker, &open.times, status, origin, finished);
                if response.keep_alive {
                    conn = Some(open);
                }
                outcome
            }
        };
        worker.finish(outcome, origin, finished);
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
