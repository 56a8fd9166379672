//! The TCP socket under every upstream connection, watched: it counts the bytes the
//! kernel accepted (the resend rule's "was anything sent") and can be read in probe mode.

// Probe mode exists for TLS: rustls may already hold plaintext or a close_notify that
// it read with the last response, where a peek on the socket cannot see it. A read
// through rustls in probe mode drains what rustls holds and, when it needs the socket,
// gets WouldBlock at once instead of waiting.

use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::TcpStream;
use monoio::BufResult;
use std::cell::Cell;
use std::io;
use std::rc::Rc;

/// What the connection and its socket share.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    probing: Cell<bool>,
    sent: Cell<u64>,
}

impl Watch {
    /// Bytes the kernel accepted on this socket so far (TLS records included).
    pub(crate) fn sent(&self) -> u64 {
        self.sent.get()
    }

    /// Runs `f` with socket reads answering WouldBlock at once.
    pub(crate) async fn probing<F: std::future::Future>(&self, f: F) -> F::Output {
        self.probing.set(true);
        let out = f.await;
        self.probing.set(false);
        out
    }

    fn count(&self, result: &io::Result<usize>) {
        if let Ok(n) = result {
            self.sent.set(self.sent.get().saturating_add(*n as u64));
        }
    }
}

/// A TCP stream that reports to its [`Watch`].
pub(crate) struct WatchedTcp {
    stream: TcpStream,
    watch: Rc<Watch>,
}

impl WatchedTcp {
    pub(crate) fn new(stream: TcpStream, watch: Rc<Watch>) -> Self {
        WatchedTcp { stream, watch }
    }
}

fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

impl AsyncReadRent for WatchedTcp {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        if self.watch.probing.get() {
            return (Err(would_block()), buf);
        }
        self.stream.read(buf).await
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        if self.watch.probing.get() {
            return (Err(would_block()), buf);
        }
        self.stream.readv(buf).await
    }
}

impl AsyncWriteRent for WatchedTcp {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        let (result, buf) = self.stream.write(buf).await;
        self.watch.count(&result);
        (result, buf)
    }

    async fn writev<T: IoVecBuf>(&mut self, bufs: T) -> BufResult<usize, T> {
        let (result, bufs) = self.stream.writev(bufs).await;
        self.watch.count(&result);
        (result, bufs)
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.stream.flush().await
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        self.stream.shutdown().await
    }
}
