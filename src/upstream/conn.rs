//! One upstream connection, plain or TLS, as a rent-style stream; plus the non-blocking
//! liveness check the pool runs before handing an idle connection out again.

use super::pool::Lease;
use super::probe::{Watch, WatchedTcp};
use monoio::buf::{IoBuf, IoBufMut, IoVecBuf, IoVecBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::TcpStream;
use monoio::BufResult;
use monoio_rustls::ClientTlsStream;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;

/// An upstream connection. Read and write it with monoio's rent traits; give it back with
/// `Upstream::checkin` only after a response was fully read.
pub struct Conn {
    io: Io,
    /// The socket under `io`; monoio-rustls does not expose its inner stream, so it is kept.
    fd: RawFd,
    /// Shared with the socket under `io`: bytes sent, and probe mode.
    watch: Rc<Watch>,
    /// Counts this connection as in use while it is checked out.
    lease: Option<Lease>,
}

enum Io {
    Plain(WatchedTcp),
    Tls(Box<ClientTlsStream<WatchedTcp>>),
}

impl Conn {
    pub(crate) fn plain(stream: TcpStream) -> Self {
        let fd = stream.as_raw_fd();
        let watch = Rc::new(Watch::default());
        Conn {
            io: Io::Plain(WatchedTcp::new(stream, Rc::clone(&watch))),
            fd,
            watch,
            lease: None,
        }
    }

    /// `fd` and `watch` must be those of the socket the TLS stream runs over.
    pub(crate) fn tls(stream: ClientTlsStream<WatchedTcp>, fd: RawFd, watch: Rc<Watch>) -> Self {
        Conn {
            io: Io::Tls(Box::new(stream)),
            fd,
            watch,
            lease: None,
        }
    }

    /// Bytes the kernel accepted on this connection's socket so far, TLS records and
    /// handshake included: compare two readings to know whether a request left at all.
    pub fn bytes_sent(&self) -> u64 {
        self.watch.sent()
    }

    /// Whether this connection speaks TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.io, Io::Tls(_))
    }

    /// The raw socket, for identity checks and socket options.
    pub fn raw_fd(&self) -> RawFd {
        self.fd
    }

    pub(crate) fn set_lease(&mut self, lease: Option<Lease>) {
        self.lease = lease;
    }

    /// True when an idle connection may carry another request: nothing arrived since
    /// its last response and it is not closed. Never waits.
    pub(crate) async fn is_reusable(&mut self) -> bool {
        if !self.socket_is_quiet() {
            return false;
        }
        let Io::Tls(tls) = &mut self.io else {
            return true;
        };
        // Plaintext or a close_notify rustls already holds answers at once; otherwise
        // the socket read in probe mode ends the read with WouldBlock.
        let (result, _) = self.watch.probing(tls.read(Vec::with_capacity(1))).await;
        matches!(result, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// True when the socket has nothing to read and is not closed: `recv` with
    /// `MSG_PEEK | MSG_DONTWAIT` gives EAGAIN. Zero (peer closed), unexpected bytes, or
    /// any other error all mean the connection must not be reused.
    fn socket_is_quiet(&self) -> bool {
        let mut byte = 0u8;
        // SAFETY: `self.fd` is the open socket owned by `self.io` for as long as `self`
        // lives, and the buffer is one writable byte on our stack.
        let n = unsafe {
            libc::recv(
                self.fd,
                (&mut byte as *mut u8).cast::<libc::c_void>(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("tls", &self.is_tls())
            .field("fd", &self.fd)
            .finish()
    }
}

impl AsyncReadRent for Conn {
    async fn read<T: IoBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match &mut self.io {
            Io::Plain(s) => s.read(buf).await,
            Io::Tls(s) => s.read(buf).await,
        }
    }

    async fn readv<T: IoVecBufMut>(&mut self, buf: T) -> BufResult<usize, T> {
        match &mut self.io {
            Io::Plain(s) => s.readv(buf).await,
            Io::Tls(s) => s.readv(buf).await,
        }
    }
}

impl AsyncWriteRent for Conn {
    async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
        match &mut self.io {
            Io::Plain(s) => s.write(buf).await,
            Io::Tls(s) => s.write(buf).await,
        }
    }

    /// Plain: one `writev`. TLS: monoio-rustls 0.4 would write only the first slice, so the
    /// slices are joined and written whole (rustls copies into records anyway), which
    /// also puts a small request into one record.
    async fn writev<T: IoVecBuf>(&mut self, bufs: T) -> BufResult<usize, T> {
        match &mut self.io {
            Io::Plain(s) => s.writev(bufs).await,
            Io::Tls(s) => {
                let joined = gather(&bufs);
                if joined.is_empty() {
                    return (Ok(0), bufs);
                }
                let (result, _) = s.write_all(joined).await;
                (result, bufs)
            }
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match &mut self.io {
            Io::Plain(s) => s.flush().await,
            Io::Tls(s) => s.flush().await,
        }
    }

    async fn shutdown(&mut self) -> io::Result<()> {
        match &mut self.io {
            Io::Plain(s) => s.shutdown().await,
            Io::Tls(s) => s.shutdown().await,
        }
    }
}

/// Copies every slice of `bufs` into one buffer.
fn gather<T: IoVecBuf>(bufs: &T) -> Vec<u8> {
    let count = bufs.read_iovec_len();
    let iovecs = if count == 0 {
        &[][..]
    } else {
        // SAFETY: `IoVecBuf` promises `read_iovec_ptr` points at `read_iovec_len` iovecs
        // that stay valid while `bufs` is borrowed.
        unsafe { std::slice::from_raw_parts(bufs.read_iovec_ptr(), count) }
    };
    let total = iovecs.iter().map(|v| v.iov_len).sum();
    let mut joined = Vec::with_capacity(total);
    for v in iovecs {
        if v.iov_len == 0 {
            continue;
        }
        // SAFETY: each iovec of an `IoVecBuf` describes `iov_len` initialised bytes that
        // stay valid while `bufs` is borrowed.
        let part = unsafe { std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len) };
        joined.extend_from_slice(part);
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn run<F: std::future::Future>(fut: F) -> F::Output {
        monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
            .enable_timer()
            .build()
            .unwrap()
            .block_on(fut)
    }

    /// A connected pair: our side as a `Conn`, the peer as a blocking std socket.
    async fn pair() -> (Conn, std::net::TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let ours = TcpStream::connect_addr(addr).await.unwrap();
        let (theirs, _) = listener.accept().unwrap();
        (Conn::plain(ours), theirs)
    }

    #[test]
    fn quiet_open_socket_is_alive() {
        run(async {
            let (mut conn, _peer) = pair().await;
            assert!(conn.is_reusable().await);
            assert!(conn.is_reusable().await, "the check consumes nothing");
        });
    }

    #[test]
    fn unexpected_bytes_mean_dead() {
        run(async {
            let (mut conn, mut peer) = pair().await;
            peer.write_all(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
                .unwrap();
            assert!(!conn.is_reusable().await);
        });
    }

    #[test]
    fn peer_close_means_dead() {
        run(async {
            let (mut conn, peer) = pair().await;
            drop(peer);
            assert!(!conn.is_reusable().await);
        });
    }

    #[test]
    fn plain_writev_sends_every_slice() {
        run(async {
            let (mut conn, mut peer) = pair().await;
            let parts = vec![
                b"POST /x ".to_vec(),
                Vec::new(),
                b"HTTP/1.1\r\n\r\n".to_vec(),
            ];
            let (n, _) = conn.writev(monoio::buf::VecBuf::from(parts)).await;
            assert_eq!(n.unwrap(), 20);
            let mut got = [0u8; 20];
            std::io::Read::read_exact(&mut peer, &mut got).unwrap();
            assert_eq!(&got, b"POST /x HTTP/1.1\r\n\r\n");
        });
    }
}
