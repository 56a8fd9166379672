//! One connection's panic stays in that connection: its future is dropped (closing the
//! client socket) and the worker goes on serving, as a Tokio task's panic would.

use super::worker::panic_message;
use crate::lifecycle::Readiness;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Polls `future`, ending it (logged and counted in `readiness`) if a poll panics.
pub async fn catch_panics(future: impl Future<Output = ()>, readiness: Arc<Readiness>) {
    CatchPanic {
        future: Some(Box::pin(future)),
        readiness,
    }
    .await
}

struct CatchPanic<F> {
    future: Option<Pin<Box<F>>>,
    readiness: Arc<Readiness>,
}

impl<F: Future<Output = ()>> Future for CatchPanic<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(future) = self.future.as_mut() else {
            return Poll::Ready(());
        };
        // Unwind safety: what a connection shares with its worker (pool, metrics, log
        // queue) is only touched in short non-panicking sections; a `RefCell` borrow
        // held at the panic is released by the unwind.
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                self.future = None;
                self.readiness.connection_panicked();
                log::error!(
                    "a request panicked ({}); its connection was closed, the worker serves on",
                    panic_message(panic.as_ref())
                );
                Poll::Ready(())
            }
        }
    }
}
