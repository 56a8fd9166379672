//! The per-worker upstream pool: per peer a LIFO of idle connections, evicted when idle
//! too long or found dead at checkout, and bounded per peer. Not `Send`: one per worker.

use super::connect::connect;
use super::{Conn, PeerKey, UpstreamError, UpstreamShared};
use crate::config::UpstreamConfig;
use crate::observe::metrics::PoolStats;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A connection handed out by [`Upstream::checkout`].
#[derive(Debug)]
pub struct Checkout {
    /// The connection.
    pub conn: Conn,
    /// True when it came from the pool rather than a new connect.
    pub reused: bool,
}

/// Marks a connection as in use; dropping it (checkin, or the connection dropped after
/// an error) ends that.
#[derive(Debug)]
pub(crate) struct Lease(Rc<Cell<usize>>);

impl Lease {
    fn new(in_use: &Rc<Cell<usize>>) -> Self {
        in_use.set(in_use.get() + 1);
        Lease(Rc::clone(in_use))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// One worker's upstream side: connects through the shared DNS cache and TLS configs,
/// and pools idle connections per [`PeerKey`].
pub struct Upstream {
    shared: Arc<UpstreamShared>,
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle_per_host: usize,
    idle: RefCell<HashMap<PeerKey, VecDeque<Idle>>>,
    in_use: Rc<Cell<usize>>,
    connects: Cell<u64>,
    reuses: Cell<u64>,
}

impl Upstream {
    /// An empty pool over the shared DNS cache and TLS setup.
    pub fn new(shared: Arc<UpstreamShared>, cfg: &UpstreamConfig) -> Self {
        Upstream {
            shared,
            connect_timeout: Duration::from_millis(cfg.connect_timeout_ms),
            idle_timeout: Duration::from_secs(cfg.pool_idle_timeout_s),
            max_idle_per_host: cfg.pool_max_idle_per_host,
            idle: RefCell::new(HashMap::new()),
            in_use: Rc::new(Cell::new(0)),
            connects: Cell::new(0),
            reuses: Cell::new(0),
        }
    }

    /// An idle pooled connection that passed the liveness check, or a new one.
    pub async fn checkout(&self, peer: &PeerKey) -> Result<Checkout, UpstreamError> {
        self.checkout_at(peer, Instant::now()).await
    }

    /// [`checkout`](Self::checkout) with the clock given (for eviction tests).
    pub async fn checkout_at(
        &self,
        peer: &PeerKey,
        now: Instant,
    ) -> Result<Checkout, UpstreamError> {
        if let Some(mut conn) = self.take_idle(peer, now).await {
            self.reuses.set(self.reuses.get() + 1);
            conn.set_lease(Some(Lease::new(&self.in_use)));
            return Ok(Checkout { conn, reused: true });
        }
        self.connect(peer).await
    }

    /// A new connection, never a pooled one: the retry after a pooled one went stale.
    pub async fn connect(&self, peer: &PeerKey) -> Result<Checkout, UpstreamError> {
        let mut conn = connect(&self.shared, peer, self.connect_timeout).await?;
        self.connects.set(self.connects.get() + 1);
        conn.set_lease(Some(Lease::new(&self.in_use)));
        Ok(Checkout {
            conn,
            reused: false,
        })
    }

    /// Returns a connection to the pool. Call it only when the response was fully read
    /// and the connection may carry another request; otherwise just drop the connection.
    /// When the peer already has `pool_max_idle_per_host` idle, the oldest is closed.
    pub fn checkin(&self, peer: &PeerKey, conn: Conn) {
        self.checkin_at(peer, conn, Instant::now());
    }

    /// [`checkin`](Self::checkin) with the clock given (for eviction tests).
    pub fn checkin_at(&self, peer: &PeerKey, mut conn: Conn, now: Instant) {
        conn.set_lease(None);
        if self.max_idle_per_host == 0 {
            return;
        }
        let entry = Idle { conn, since: now };
        let mut idle = self.idle.borrow_mut();
        match idle.get_mut(peer) {
            Some(list) => {
                while list.len() >= self.max_idle_per_host {
                    list.pop_front();
                }
                list.push_back(entry);
            }
            None => {
                idle.insert(peer.clone(), VecDeque::from([entry]));
            }
        }
    }

    /// Closes every idle connection past `pool_idle_timeout_s`; a worker may call this
    /// from time to time so that sockets of peers no longer used do not linger.
    pub fn evict_expired_at(&self, now: Instant) {
        let mut idle = self.idle.borrow_mut();
        idle.retain(|_, list| {
            list.retain(|e| !self.expired(e, now));
            !list.is_empty()
        });
    }

    /// This pool's counters now.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            idle: self.idle.borrow().values().map(VecDeque::len).sum(),
            in_use: self.in_use.get(),
            connects: self.connects.get(),
            reuses: self.reuses.get(),
        }
    }

    fn expired(&self, entry: &Idle, now: Instant) -> bool {
        now.saturating_duration_since(entry.since) > self.idle_timeout
    }

    /// The most recently idled live connection; expired and dead ones met on the way
    /// are closed.
    async fn take_idle(&self, peer: &PeerKey, now: Instant) -> Option<Conn> {
        loop {
            let mut conn = self.pop_idle(peer, now)?;
            // Checked at any idle age, without waiting: an idle HTTP/1.1 connection with
            // EOF or any byte waiting (an unrequested response, a close_notify), in the
            // socket or already inside rustls, would answer the next request wrongly.
            if conn.is_reusable().await {
                return Some(conn);
            }
            log::debug!(
                "upstream {}:{}: pooled connection was closed or sent unrequested bytes",
                peer.host,
                peer.port
            );
        }
    }

    /// The most recently idled unexpired connection, taken out of the pool.
    fn pop_idle(&self, peer: &PeerKey, now: Instant) -> Option<Conn> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(peer)?;
        list.retain(|e| !self.expired(e, now));
        let entry = list.pop_back();
        if list.is_empty() {
            idle.remove(peer);
        }
        entry.map(|e| e.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_counts_in_use_until_dropped() {
        let in_use = Rc::new(Cell::new(0));
        let a = Lease::new(&in_use);
        let b = Lease::new(&in_use);
        assert_eq!(in_use.get(), 2);
        drop(a);
        assert_eq!(in_use.get(), 1);
        drop(b);
        assert_eq!(in_use.get(), 0);
    }
}
