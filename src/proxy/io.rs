//! Small IO tools the pipeline shares: a vectored buffer over `Bytes` slices (one
//! `writev` for head + body parts) and a two-way race that hands back the loser.

use bytes::{Buf, Bytes};
use monoio::buf::IoVecBuf;
use monoio::io::AsyncWriteRent;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::Poll;

/// Several byte slices written with one `writev`, without copying them together.
pub struct IoSlices {
    parts: Vec<Bytes>,
    iovecs: Vec<libc::iovec>,
}

impl IoSlices {
    /// Slices over `parts` (empty ones left out of the iovecs).
    pub fn new(parts: Vec<Bytes>) -> Self {
        let iovecs = parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| libc::iovec {
                iov_base: p.as_ptr() as *mut libc::c_void,
                iov_len: p.len(),
            })
            .collect();
        IoSlices { parts, iovecs }
    }

    /// Bytes in all.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// SAFETY: the iovecs point into `parts`, whose heap buffers are owned by this value
// and never change while it lives (Bytes is immutable), so the pointers stay valid
// for as long as the runtime holds the value; the count is the Vec's length.
unsafe impl IoVecBuf for IoSlices {
    fn read_iovec_ptr(&self) -> *const libc::iovec {
        self.iovecs.as_ptr()
    }

    fn read_iovec_len(&self) -> usize {
        self.iovecs.len()
    }
}

/// Writes every byte of `parts`, one `writev` at a time, going on after a short write;
/// returns how many bytes that was. (monoio 0.2's `write_vectored_all` does not move a
/// partly written slice on, and sends its first bytes again.)
pub async fn write_all_parts<W: AsyncWriteRent>(
    writer: &mut W,
    mut parts: Vec<Bytes>,
) -> io::Result<usize> {
    let total = parts.iter().map(Bytes::len).sum();
    let mut written = 0;
    while written < total {
        let (result, slices) = writer.writev(IoSlices::new(parts)).await;
        parts = slices.parts;
        match result {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                written += n;
                consume(&mut parts, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Drops the first `n` bytes of `parts`.
fn consume(parts: &mut Vec<Bytes>, mut n: usize) {
    let whole = parts
        .iter()
        .position(|part| {
            let done = part.len() > n;
            if !done {
                n -= part.len();
            }
            done
        })
        .unwrap_or(parts.len());
    parts.drain(..whole);
    if let Some(first) = parts.first_mut() {
        first.advance(n.min(first.len()));
    }
}

/// Which of two raced futures finished first.
pub enum Raced<A, B> {
    /// The first future finished first.
    Left(A),
    /// The second future finished first.
    Right(B),
}

/// Polls both until one is ready; the other is left pending (not dropped), so an
/// in-flight read can still be awaited or cancelled properly afterwards.
pub async fn race<A: Future, B: Future>(
    mut a: Pin<&mut A>,
    mut b: Pin<&mut B>,
) -> Raced<A::Output, B::Output> {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Raced::Left(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(Raced::Right(v));
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use monoio::buf::IoBuf;
    use monoio::BufResult;

    /// Takes at most `max` bytes per call, like a socket whose buffer is full.
    struct Trickle {
        max: usize,
        got: Vec<u8>,
    }

    impl AsyncWriteRent for Trickle {
        async fn write<T: IoBuf>(&mut self, buf: T) -> BufResult<usize, T> {
            (Ok(0), buf)
        }

        async fn writev<T: IoVecBuf>(&mut self, bufs: T) -> BufResult<usize, T> {
            let mut room = self.max;
            for i in 0..bufs.read_iovec_len() {
                // SAFETY: an `IoVecBuf` hands out `read_iovec_len` valid iovecs, each
                // describing `iov_len` initialised bytes, alive while `bufs` is.
                let part = unsafe {
                    let v = *bufs.read_iovec_ptr().add(i);
                    std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len)
                };
                let take = part.len().min(room);
                self.got.extend_from_slice(&part[..take]);
                room -= take;
            }
            (Ok(self.max - room), bufs)
        }

        async fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }

        async fn shutdown(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_go_on_where_they_stopped() {
        let parts = vec![
            Bytes::from_static(b"POST / HTTP/1.1\r\n\r\n"),
            Bytes::new(),
            Bytes::from_static(b"{\"model\":"),
            Bytes::from_static(b"\"gpt-4o\"}"),
        ];
        let whole: Vec<u8> = parts.concat();
        for max in [1, 3, 7, 19, 64] {
            let mut sink = Trickle {
                max,
                got: Vec::new(),
            };
            let runtime = monoio::RuntimeBuilder::<monoio::FusionDriver>::new().build();
            let written = runtime
                .unwrap()
                .block_on(write_all_parts(&mut sink, parts.clone()));
            assert_eq!(written.ok(), Some(whole.len()), "max {max}");
            assert_eq!(sink.got, whole, "max {max}");
        }
    }
}
