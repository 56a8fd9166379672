//! Small IO tools the pipeline shares: a vectored buffer over `Bytes` slices (one
//! `writev` for head + body parts) and a two-way race that hands back the loser.

use bytes::Bytes;
use monoio::buf::IoVecBuf;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Several byte slices written with one `writev`, without copying them together.
pub struct IoSlices {
    parts: Vec<Bytes>,
    iovecs: Vec<libc::iovec>,
}

impl IoSlices {
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

    pub fn len(&self) -> usize {
        self.parts.iter().map(Bytes::len).sum()
    }

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

/// Which of two raced futures finished first.
pub enum Raced<A, B> {
    Left(A),
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
