//! The accept loop the data-plane workers and the admin plane share: accept until stopped,
//! pausing after a failed accept (10 ms doubling to 1 s) and logging failures once a second.

use monoio::io::CancelHandle;
use monoio::net::{TcpListener, TcpStream};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Accepts on `listener` and hands each connection to `serve` until the accept is
/// cancelled (through `cancel`) while `stopping()` holds. A failed accept (out of
/// descriptors and the like) leaves the connection in the backlog: `failed()` counts it,
/// and the loop pauses instead of spinning. Log lines start with `plane` ("" or "admin ").
pub async fn accept_until_stopped(
    listener: &TcpListener,
    cancel: CancelHandle,
    plane: &str,
    stopping: impl Fn() -> bool,
    mut failed: impl FnMut(),
    mut serve: impl FnMut(TcpStream),
) {
    let mut failures = AcceptFailures::new();
    loop {
        match listener.cancelable_accept(cancel.clone()).await {
            Ok((stream, _peer)) => {
                if let Some(count) = failures.accepted(Instant::now()) {
                    log::warn!(
                        "{plane}accepting again ({count} failed accepts since the last report)"
                    );
                }
                serve(stream);
            }
            Err(_) if stopping() => return,
            Err(e) => {
                failed();
                let (pause, report) = failures.failed(Instant::now());
                if let Some(count) = report {
                    log::warn!(
                        "{plane}accept failed: {e} ({count} failed accepts since the last report; \
                         retrying in {} ms)",
                        pause.as_millis()
                    );
                }
                monoio::time::sleep(pause).await;
            }
        }
    }
}

/// Takes the sockets out of the accept path now: new connections are refused at once,
/// whatever becomes of the (asynchronous) close of the listener itself.
pub fn stop_listening(fds: &[RawFd]) {
    for &fd in fds {
        // SAFETY: the fd is a listening socket its caller owns and still has open;
        // shutdown() neither closes nor invalidates it.
        unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
    }
}

/// The first pause after a failed accept; it doubles while failures go on...
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// ...up to this.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line about failed accepts this often.
const ACCEPT_REPORT_EVERY: Duration = Duration::from_secs(1);

/// A listener's failed accepts: how long to pause, and when to report how many failed.
struct AcceptFailures {
    pause: Duration,
    unreported: u64,
    last_report: Option<Instant>,
}

impl AcceptFailures {
    fn new() -> Self {
        AcceptFailures {
            pause: ACCEPT_BACKOFF_MIN,
            unreported: 0,
            last_report: None,
        }
    }

    /// The pause before the next accept, and the count to log now, if a line is due.
    fn failed(&mut self, now: Instant) -> (Duration, Option<u64>) {
        self.unreported += 1;
        let pause = self.pause;
        self.pause = (self.pause * 2).min(ACCEPT_BACKOFF_MAX);
        (pause, self.report(now))
    }

    /// An accept worked: the pause starts small again; the count of failures not yet
    /// reported, if a line is due.
    fn accepted(&mut self, now: Instant) -> Option<u64> {
        self.pause = ACCEPT_BACKOFF_MIN;
        if self.unreported == 0 {
            return None;
        }
        self.report(now)
    }

    fn report(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last_report
            .is_none_or(|last| now.duration_since(last) >= ACCEPT_REPORT_EVERY);
        if !due {
            return None;
        }
        self.last_report = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_and_report_once_a_second() {
        let start = Instant::now();
        let mut f = AcceptFailures::new();
        assert_eq!(f.failed(start), (Duration::from_millis(10), Some(1)));
        let mut pauses = Vec::new();
        for i in 1..=10 {
            let (pause, report) = f.failed(start + Duration::from_millis(i));
            assert_eq!(report, None, "within the second");
            pauses.push(pause.as_millis());
        }
        assert_eq!(pauses, [20, 40, 80, 160, 320, 640, 1000, 1000, 1000, 1000]);
        let later = start + Duration::from_secs(1);
        assert_eq!(f.failed(later).1, Some(11), "the count since the last line");
        assert_eq!(f.accepted(later + Duration::from_millis(5)), None);
        assert_eq!(f.failed(later).0, Duration::from_millis(10), "reset");
        let recovered = later + Duration::from_secs(2);
        assert_eq!(f.accepted(recovered), Some(1));
        assert_eq!(f.accepted(recovered + Duration::from_secs(5)), None);
    }
}
