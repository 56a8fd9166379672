//! Upstream layer against real loopback servers: plain and TLS connects, certificate
//! checks, pool reuse, idle eviction, dead-connection detection, bounds, connect timeout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/tls.rs"]
mod tls;

use monoio::buf::VecBuf;
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use sluice::config::UpstreamConfig;
use sluice::upstream::{Conn, PeerKey, Upstream, UpstreamError, UpstreamShared};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tls::TestPki;

fn run<F: std::future::Future>(fut: F) -> F::Output {
    monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .enable_timer()
        .build()
        .unwrap()
        .block_on(fut)
}

/// What the test server does after answering one request.
#[derive(Clone, Copy)]
enum After {
    KeepAlive,
    Close,
}

/// A blocking HTTP/1.1-ish server on its own threads. Each response body names the
/// connection (its accept number), the request number on it, and the path it got.
struct TestServer {
    addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    /// One message each time the server has closed a connection.
    closed: mpsc::Receiver<()>,
}

fn spawn_server(tls: Option<Arc<rustls::ServerConfig>>, after: After) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = Arc::new(AtomicUsize::new(0));
    let (closed_tx, closed) = mpsc::channel();
    let counter = Arc::clone(&accepts);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let id = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let tls = tls.clone();
            let closed_tx = closed_tx.clone();
            std::thread::spawn(move || {
                match tls {
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        let mut io = rustls::StreamOwned::new(session, stream);
                        serve(&mut io, id, after);
                    }
                    None => {
                        let mut io = stream;
                        serve(&mut io, id, after);
                    }
                }
                let _ = closed_tx.send(());
            });
        }
    });
    TestServer {
        addr,
        accepts,
        closed,
    }
}

fn serve(io: &mut impl ReadWrite, id: usize, after: After) {
    for request in 1.. {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match io.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let text = String::from_utf8_lossy(&head);
        let path = text.split(' ').nth(1).unwrap_or("?").to_string();
        let body = format!("conn={id} req={request} path={path}");
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if io
            .write_all(response.as_bytes())
            .and_then(|_| io.flush())
            .is_err()
        {
            return;
        }
        if let After::Close = after {
            return;
        }
    }
}

/// What a TLS server sends right after a response, in the same write as it.
#[derive(Clone, Copy)]
enum Extra {
    /// A close_notify alert, the TCP connection left open.
    CloseNotify,
    /// A second, unrequested response, as its own TLS record.
    Unrequested,
}

/// The response `serve` gives to the first request on connection 1.
fn first_response(path: &str) -> String {
    let body = format!("conn=1 req=1 path={path}");
    format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A TLS server that answers each connection's first request like `serve`, sends
/// `extra` with it in one `writev`, then only waits for the client to close.
fn spawn_tls_with_extra(config: Arc<rustls::ServerConfig>, extra: Extra) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepts = Arc::new(AtomicUsize::new(0));
    let (_closed_tx, closed) = mpsc::channel();
    let counter = Arc::clone(&accepts);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let id = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let session = rustls::ServerConnection::new(config).unwrap();
                let mut io = rustls::StreamOwned::new(session, stream);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match io.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split(' ').nth(1).unwrap_or("?").to_string();
                let body = format!("conn={id} req=1 path={path}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                io.conn.writer().write_all(response.as_bytes()).unwrap();
                match extra {
                    Extra::CloseNotify => io.conn.send_close_notify(),
                    Extra::Unrequested => io
                        .conn
                        .writer()
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nextra")
                        .unwrap(),
                }
                // Every pending record in one writev, so they arrive together.
                io.conn.write_tls(&mut io.sock).unwrap();
                assert!(!io.conn.wants_write());
                let mut sink = [0u8; 256];
                while matches!(io.sock.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    TestServer {
        addr,
        accepts,
        closed,
    }
}

/// Reads exactly `n` bytes, never asking for more, so rustls keeps whatever follows.
async fn read_exactly(conn: &mut Conn, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        let (read, buf) = conn.read(Vec::with_capacity(n - got.len())).await;
        assert!(read.unwrap() > 0, "closed early");
        got.extend_from_slice(&buf);
    }
    got
}

/// Nothing waits in the kernel's receive queue of this socket.
fn socket_queue_is_empty(conn: &Conn) -> bool {
    let mut byte = 0u8;
    // SAFETY: the fd is the connection's open socket; one byte on our stack is written.
    let n = unsafe {
        libc::recv(
            conn.raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n < 0
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Sends `GET path` as three slices in one `writev` and returns the response body.
async fn roundtrip(conn: &mut Conn, path: &str) -> String {
    let parts = vec![
        b"GET ".to_vec(),
        path.as_bytes().to_vec(),
        b" HTTP/1.1\r\nhost: upstream.test\r\n\r\n".to_vec(),
    ];
    let total: usize = parts.iter().map(Vec::len).sum();
    let (written, _) = conn.writev(VecBuf::from(parts)).await;
    assert_eq!(written.unwrap(), total, "writev must send every slice");

    let mut got = Vec::new();
    loop {
        let (n, buf) = conn.read(Vec::with_capacity(4096)).await;
        let n = n.unwrap();
        assert!(n > 0, "upstream closed before a full response");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .parse()
                .unwrap();
            if body.len() >= len {
                assert!(head.starts_with("HTTP/1.1 200 OK"));
                return body.to_string();
            }
        }
    }
}

fn config(max_idle: usize) -> UpstreamConfig {
    UpstreamConfig {
        connect_timeout_ms: 2000,
        pool_idle_timeout_s: 90,
        pool_max_idle_per_host: max_idle,
        ca_file: None,
        ..UpstreamConfig::default()
    }
}

fn upstream(cfg: &UpstreamConfig, ca_files: &[PathBuf]) -> Upstream {
    let shared = UpstreamShared::new(cfg, &[("localhost".into(), 443)], ca_files).unwrap();
    Upstream::new(Arc::new(shared), cfg)
}

fn plain_peer(addr: SocketAddr) -> PeerKey {
    PeerKey {
        tls: false,
        host: addr.ip().to_string(),
        port: addr.port(),
        ca_file: None,
    }
}

fn tls_peer(host: &str, addr: SocketAddr, ca_file: Option<PathBuf>) -> PeerKey {
    PeerKey {
        tls: true,
        host: host.into(),
        port: addr.port(),
        ca_file,
    }
}

#[test]
fn plain_connect_carries_request_and_response() {
    let server = spawn_server(None, After::KeepAlive);
    let cfg = config(4);
    let up = upstream(&cfg, &[]);
    run(async {
        let mut checkout = up.checkout(&plain_peer(server.addr)).await.unwrap();
        assert!(!checkout.reused);
        assert!(!checkout.conn.is_tls());
        assert_eq!(
            roundtrip(&mut checkout.conn, "/v1/a").await,
            "conn=1 req=1 path=/v1/a"
        );
        let stats = up.stats();
        assert_eq!((stats.in_use, stats.connects, stats.reuses), (1, 1, 0));
        drop(checkout);
        assert_eq!(
            up.stats().in_use,
            0,
            "a dropped connection is no longer in use"
        );
        assert_eq!(up.stats().idle, 0, "a dropped connection is not pooled");
    });
}

#[test]
fn tls_with_test_ca_works_and_connection_is_reused() {
    let pki = TestPki::new(&["localhost"]);
    let server = spawn_server(Some(Arc::clone(&pki.server_config)), After::KeepAlive);
    let cfg = config(4);
    let up = upstream(&cfg, std::slice::from_ref(&pki.ca_file));
    let peer = tls_peer("localhost", server.addr, Some(pki.ca_file.clone()));
    run(async {
        let mut first = up.checkout(&peer).await.unwrap();
        assert!(first.conn.is_tls() && !first.reused);
        assert_eq!(
            roundtrip(&mut first.conn, "/one").await,
            "conn=1 req=1 path=/one"
        );
        up.checkin(&peer, first.conn);
        assert_eq!(up.stats().idle, 1);

        let mut second = up.checkout(&peer).await.unwrap();
        assert!(second.reused);
        assert_eq!(
            roundtrip(&mut second.conn, "/two").await,
            "conn=1 req=2 path=/two"
        );
        up.checkin(&peer, second.conn);
    });
    assert_eq!(server.accepts.load(Ordering::SeqCst), 1);
    let stats = up.stats();
    assert_eq!(
        (stats.idle, stats.in_use, stats.connects, stats.reuses),
        (1, 0, 1, 1)
    );
}

#[test]
fn global_ca_file_is_trusted_for_every_peer() {
    let pki = TestPki::new(&["localhost"]);
    let server = spawn_server(Some(Arc::clone(&pki.server_config)), After::KeepAlive);
    let mut cfg = config(4);
    cfg.ca_file = Some(pki.ca_file.clone());
    let up = upstream(&cfg, &[]);
    run(async {
        let mut c = up
            .checkout(&tls_peer("localhost", server.addr, None))
            .await
            .unwrap();
        assert_eq!(roundtrip(&mut c.conn, "/g").await, "conn=1 req=1 path=/g");
    });
}

#[test]
fn tls_without_the_ca_fails_verification() {
    let pki = TestPki::new(&["localhost"]);
    let server = spawn_server(Some(Arc::clone(&pki.server_config)), After::KeepAlive);
    let cfg = config(4);
    let up = upstream(&cfg, &[]);
    let result = run(up.checkout(&tls_peer("localhost", server.addr, None)));
    let err = result.expect_err("an unknown CA must be refused");
    assert!(matches!(err, UpstreamError::Tls(_)), "got {err:?}");
    assert_eq!(up.stats().connects, 0);
}

#[test]
fn certificate_for_another_host_fails() {
    let pki = TestPki::new(&["other.test"]);
    let server = spawn_server(Some(Arc::clone(&pki.server_config)), After::KeepAlive);
    let cfg = config(4);
    let up = upstream(&cfg, std::slice::from_ref(&pki.ca_file));
    let peer = tls_peer("localhost", server.addr, Some(pki.ca_file.clone()));
    let err = run(up.checkout(&peer)).expect_err("a name mismatch must be refused");
    assert!(matches!(err, UpstreamError::Tls(_)), "got {err:?}");
}

#[test]
fn idle_connections_expire_by_the_injected_clock() {
    let server = spawn_server(None, After::KeepAlive);
    let mut cfg = config(4);
    cfg.pool_idle_timeout_s = 10;
    let up = upstream(&cfg, &[]);
    let peer = plain_peer(server.addr);
    let t0 = Instant::now();
    run(async {
        let mut c = up.checkout_at(&peer, t0).await.unwrap();
        roundtrip(&mut c.conn, "/a").await;
        up.checkin_at(&peer, c.conn, t0);

        // Exactly at the timeout it is still usable.
        let mut c = up
            .checkout_at(&peer, t0 + Duration::from_secs(10))
            .await
            .unwrap();
        assert!(c.reused);
        roundtrip(&mut c.conn, "/b").await;
        up.checkin_at(&peer, c.conn, t0 + Duration::from_secs(10));

        // Past it, the idle one is closed and a new connection is made.
        let mut c = up
            .checkout_at(&peer, t0 + Duration::from_secs(21))
            .await
            .unwrap();
        assert!(!c.reused);
        assert_eq!(up.stats().idle, 0);
        // A response on it also proves the server counted the second accept.
        assert_eq!(roundtrip(&mut c.conn, "/c").await, "conn=2 req=1 path=/c");
    });
    assert_eq!(server.accepts.load(Ordering::SeqCst), 2);
}

#[test]
fn evict_expired_closes_stale_idle_connections() {
    let server = spawn_server(None, After::KeepAlive);
    let mut cfg = config(4);
    cfg.pool_idle_timeout_s = 5;
    let up = upstream(&cfg, &[]);
    let peer = plain_peer(server.addr);
    let t0 = Instant::now();
    run(async {
        let mut c = up.checkout_at(&peer, t0).await.unwrap();
        roundtrip(&mut c.conn, "/a").await;
        up.checkin_at(&peer, c.conn, t0);
    });
    up.evict_expired_at(t0 + Duration::from_secs(5));
    assert_eq!(up.stats().idle, 1);
    up.evict_expired_at(t0 + Duration::from_secs(6));
    assert_eq!(up.stats().idle, 0);
}

#[test]
fn pooled_connection_closed_by_server_is_replaced() {
    let server = spawn_server(None, After::Close);
    let cfg = config(4);
    let up = upstream(&cfg, &[]);
    let peer = plain_peer(server.addr);
    run(async {
        let mut c = up.checkout(&peer).await.unwrap();
        assert_eq!(roundtrip(&mut c.conn, "/a").await, "conn=1 req=1 path=/a");
        up.checkin(&peer, c.conn);
        // Wait until the server has closed its end (an event, not a sleep).
        server.closed.recv_timeout(Duration::from_secs(5)).unwrap();

        // At once: a connection closed while idle is never handed out, at any age.
        let mut c = up.checkout(&peer).await.unwrap();
        assert!(
            !c.reused,
            "a closed pooled connection must not be handed out"
        );
        assert_eq!(roundtrip(&mut c.conn, "/b").await, "conn=2 req=1 path=/b");
    });
    assert_eq!(server.accepts.load(Ordering::SeqCst), 2);
    assert_eq!(up.stats().reuses, 0);
}

#[test]
fn tls_pooled_connection_closed_by_server_is_replaced() {
    let pki = TestPki::new(&["localhost"]);
    let server = spawn_server(Some(Arc::clone(&pki.server_config)), After::Close);
    let cfg = config(4);
    let up = upstream(&cfg, std::slice::from_ref(&pki.ca_file));
    let peer = tls_peer("localhost", server.addr, Some(pki.ca_file.clone()));
    run(async {
        let mut c = up.checkout(&peer).await.unwrap();
        roundtrip(&mut c.conn, "/a").await;
        up.checkin(&peer, c.conn);
        server.closed.recv_timeout(Duration::from_secs(5)).unwrap();
        let mut c = up.checkout(&peer).await.unwrap();
        assert!(!c.reused);
        assert_eq!(roundtrip(&mut c.conn, "/b").await, "conn=2 req=1 path=/b");
    });
    assert_eq!(server.accepts.load(Ordering::SeqCst), 2);
}

#[test]
fn tls_close_notify_already_read_by_rustls_is_seen_at_checkout() {
    let pki = TestPki::new(&["localhost"]);
    let server = spawn_tls_with_extra(Arc::clone(&pki.server_config), Extra::CloseNotify);
    let cfg = config(4);
    let up = upstream(&cfg, std::slice::from_ref(&pki.ca_file));
    let peer = tls_peer("localhost", server.addr, Some(pki.ca_file.clone()));
    run(async {
        let mut c = up.checkout(&peer).await.unwrap();
        assert_eq!(roundtrip(&mut c.conn, "/a").await, "conn=1 req=1 path=/a");
        // The alert came in the response's read: only rustls knows of it now.
        assert!(socket_queue_is_empty(&c.conn));
        up.checkin(&peer, c.conn);
        let mut c = up.checkout(&peer).await.unwrap();
        assert!(
            !c.reused,
            "a connection the server closed must not be handed out"
        );
        assert_eq!(roundtrip(&mut c.conn, "/b").await, "conn=2 req=1 path=/b");
    });
    assert_eq!(server.accepts.load(Ordering::SeqCst), 2);
}

#[test]
fn tls_unrequested_bytes_held_by_rustls_are_seen_at_checkout() {
    let pki = TestPki::new(&["localhost"]);
    let server = spawn_tls_with_extra(Arc::clone(&pki.server_config), Extra::Unrequested);
    let cfg = config(4);
    let up = upstream(&cfg, std::slice::from_ref(&pki.ca_file));
    let peer = tls_peer("localhost", server.addr, Some(pki.ca_file.clone()));
    run(async {
        let mut c = up.checkout(&peer).await.unwrap();
        let request = b"GET /a HTTP/1.1\r\nhost: upstream.test\r\n\r\n".to_vec();
        let (written, _) = c.conn.write(request).await;
        written.unwrap();
        let expected = first_response("/a");
        let got = read_exactly(&mut c.conn, expected.len()).await;
        assert_eq!(String::from_utf8_lossy(&got), expected);
        assert!(
            socket_queue_is_empty(&c.conn),
            "the extra record was read with it"
        );
        up.checkin(&peer, c.conn);
        let mut c = up.checkout(&peer).await.unwrap();
        assert!(!c.reused, "rustls still held unrequested bytes");
        // This connection's extra bytes follow its body; the body is this one's own.
        let body = roundtrip(&mut c.conn, "/b").await;
        assert!(body.starts_with("conn=2 req=1 path=/b"), "{body}");
    });
    assert_eq!(server.accepts.load(Ordering::SeqCst), 2);
}

#[test]
fn idle_pool_is_bounded_per_host() {
    let server = spawn_server(None, After::KeepAlive);
    let other = spawn_server(None, After::KeepAlive);
    let cfg = config(2);
    let up = upstream(&cfg, &[]);
    let peer = plain_peer(server.addr);
    let other_peer = plain_peer(other.addr);
    run(async {
        let mut conns = Vec::new();
        for i in 0..3 {
            let mut c = up.checkout(&peer).await.unwrap();
            roundtrip(&mut c.conn, &format!("/{i}")).await;
            conns.push(c.conn);
        }
        assert_eq!(up.stats().in_use, 3);
        for conn in conns {
            up.checkin(&peer, conn);
        }
        assert_eq!(up.stats().idle, 2, "bounded by pool_max_idle_per_host");
        assert_eq!(up.stats().in_use, 0);

        let mut c = up.checkout(&other_peer).await.unwrap();
        roundtrip(&mut c.conn, "/x").await;
        up.checkin(&other_peer, c.conn);
        assert_eq!(up.stats().idle, 3, "the bound is per host");

        // LIFO: the most recently returned connection (the third) comes back first.
        let mut c = up.checkout(&peer).await.unwrap();
        assert!(c.reused);
        assert_eq!(
            roundtrip(&mut c.conn, "/again").await,
            "conn=3 req=2 path=/again"
        );
    });
    assert_eq!(server.accepts.load(Ordering::SeqCst), 3);
}

#[test]
fn refused_connection_is_a_connect_error() {
    // Bind then drop: the port is (very likely) unused, and nothing listens on it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = config(4);
    let up = upstream(&cfg, &[]);
    let err = run(up.checkout(&plain_peer(addr))).expect_err("must fail");
    assert!(matches!(err, UpstreamError::Connect(_)), "got {err:?}");
}

/// A listener whose accept queue is full drops new SYNs on Linux, so a connect to it
/// hangs until our timeout: a loopback-only way to reach `ConnectTimeout`.
#[test]
fn connect_timeout_against_a_full_accept_queue() {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: the fd is the listener's open socket; listen(2) again only shrinks the backlog.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    let mut saw_full = false;
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
                saw_full = true;
                break;
            }
        }
    }
    assert!(
        saw_full,
        "accept queue never filled; cannot test the timeout"
    );

    let mut cfg = config(4);
    cfg.connect_timeout_ms = 100;
    let up = upstream(&cfg, &[]);
    let started = Instant::now();
    let err = run(up.checkout(&plain_peer(addr))).expect_err("must time out");
    assert!(matches!(err, UpstreamError::ConnectTimeout), "got {err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(fillers);
}
