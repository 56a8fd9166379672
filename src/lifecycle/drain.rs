//! A worker's shutdown state: whether it is draining, who waits for that, and how
//! many client connections are still open. Single-threaded (one per worker).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// One worker's drain: whether it drains, and its open client connections.
#[derive(Default)]
pub struct Drain {
    draining: Cell<bool>,
    active: Cell<usize>,
    next_id: Cell<u64>,
    /// Futures waiting for draining (or, after it starts, for the last connection).
    waiters: RefCell<HashMap<u64, Waker>>,
}

impl Drain {
    /// A drain not started, with no connection counted.
    pub fn new() -> Rc<Self> {
        Rc::new(Drain::default())
    }

    /// Whether draining has started.
    pub fn is_draining(&self) -> bool {
        self.draining.get()
    }

    /// Starts draining: idle connections close, in-flight ones finish with `Connection: close`.
    pub fn start(&self) {
        self.draining.set(true);
        self.wake_all();
    }

    /// Client connections open now.
    pub fn active_connections(&self) -> usize {
        self.active.get()
    }

    /// Counts a connection until the guard drops.
    pub fn track_connection(self: &Rc<Self>) -> ConnectionGuard {
        self.active.set(self.active.get() + 1);
        ConnectionGuard(self.clone())
    }

    /// Resolves once draining has started.
    pub fn wait(&self) -> Waiter<'_> {
        Waiter {
            drain: self,
            id: None,
            until: Until::Draining,
        }
    }

    /// Resolves once no connection is left open.
    pub fn all_closed(&self) -> Waiter<'_> {
        Waiter {
            drain: self,
            id: None,
            until: Until::NoConnections,
        }
    }

    fn wake_all(&self) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for (_, waker) in waiters {
            waker.wake();
        }
    }
}

/// One counted connection; dropping it counts the connection out.
pub struct ConnectionGuard(Rc<Drain>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let left = self.0.active.get().saturating_sub(1);
        self.0.active.set(left);
        if left == 0 {
            self.0.wake_all();
        }
    }
}

enum Until {
    Draining,
    NoConnections,
}

/// A registered wait; it deregisters on drop so waiters never pile up.
pub struct Waiter<'a> {
    drain: &'a Drain,
    id: Option<u64>,
    until: Until,
}

impl Future for Waiter<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let done = match self.until {
            Until::Draining => self.drain.is_draining(),
            Until::NoConnections => self.drain.active.get() == 0,
        };
        if done {
            return Poll::Ready(());
        }
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = self.drain.next_id.get();
                self.drain.next_id.set(id + 1);
                self.id = Some(id);
                id
            }
        };
        self.drain
            .waiters
            .borrow_mut()
            .insert(id, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.drain.waiters.borrow_mut().remove(&id);
        }
    }
}
