//! The client's write half under `server.client_send_timeout_s`: a write that makes no
//! progress that long fails with `TimedOut` (counted), and the caller closes the client.

use super::io::{race, Raced};
use crate::observe::metrics::{TimeoutKind, WorkerMetrics};
use monoio::buf::{IoBuf, IoVecBuf};
use monoio::io::{AsyncWriteRent, CancelableAsyncWriteRent, Canceller, OwnedWriteHalf};
use monoio::net::TcpStream;
use monoio::BufResult;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

/// Every write to the client goes through this (heads, bodies, errors, `100 Continue`).
/// Each write op gets the whole timeout, as nginx's `send_timeout` does (between two
/// successive writes): a slow upstream never trips it, only a client that stops reading.
pub struct ClientWriter {
    half: OwnedWriteHalf<TcpStream>,
    deadline: SendDeadline,
}

struct SendDeadline {
    timeout: Duration,
    metrics: Rc<WorkerMetrics>,
    /// Cancels the write in flight when its time is up; the op is then awaited, never
    /// dropped while the kernel may still hold its buffer.
    canceller: Canceller,
    /// Set once a write timed out: every later write fails at once.
    expired: bool,
}

impl ClientWriter {
    pub fn new(
        half: OwnedWriteHalf<TcpStream>,
        timeout: Duration,
        metrics: Rc<WorkerMetrics>,
    ) -> Self {
        ClientWriter {
            half,
            deadline: SendDeadline {
                timeout,
                metrics,
                canceller: Canceller::new(),
                expired: false,
            },
        }
    }
}

impl SendDeadline {
    /// Waits for `op` (a cancelable write under `self.canceller`) at most the timeout.
    async fn bound<T, F>(&mut self, op: F) -> BufResult<usize, T>
    where
        F: Future<Output = BufResult<usize, T>>,
    {
        let mut op = pin!(op);
        let mut timer = pin!(monoio::time::sleep(self.timeout));
        match race(op.as_mut(), timer.as_mut()).await {
            Raced::Left(done) => done,
            Raced::Right(()) => {
                self.canceller = std::mem::take(&mut self.canceller).cancel();
                self.expired = true;
                self.metrics.count_timeout(TimeoutKind::ClientSend);
                let (_, buf) = op.await;
                (Err(expired()), buf)
            }
        }
    }
}

fn expired() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "client send timeout")
}

impl AsyncWriteRent for ClientWriter {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        if self.deadline.expired {
            return (Err(expired()), buf);
        }
        let op = self
            .half
            .cancelable_write(buf, self.deadline.canceller.handle());
        self.deadline.bound(op).await
    }

    async fn writev<T: IoVecBuf>(&mut self, bufs: T) -> BufResult<usize, T> {
        if self.deadline.expired {
            return (Err(expired()), bufs);
        }
        let op = self
            .half
            .cancelable_writev(bufs, self.deadline.canceller.handle());
        self.deadline.bound(op).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.half.flush().await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        self.half.shutdown().await
    }
}
