//! Data-plane listening sockets: one `SO_REUSEPORT` socket per worker per address,
//! bound on the main thread so a port 0 resolves once and every worker shares it.

use std::io;
use std::net::{SocketAddr, TcpListener};

/// Kernel accept queue per socket.
const BACKLOG: i32 = 1024;

/// For each address, `workers` sockets bound to the same port; returns them by worker.
pub fn bind_all(
    addrs: &[SocketAddr],
    workers: usize,
) -> io::Result<(Vec<Vec<TcpListener>>, Vec<SocketAddr>)> {
    let mut by_worker: Vec<Vec<TcpListener>> = (0..workers).map(|_| Vec::new()).collect();
    let mut bound = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let first = bind_one(*addr)?;
        let actual = first.local_addr()?;
        bound.push(actual);
        let mut sockets = vec![first];
        for _ in 1..workers {
            sockets.push(bind_one(actual)?);
        }
        for (worker, socket) in by_worker.iter_mut().zip(sockets) {
            worker.push(socket);
        }
    }
    Ok((by_worker, bound))
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if addr.is_ipv6() {
        // "[::]:8787" serves v6 only; list "0.0.0.0:8787" too for v4.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
