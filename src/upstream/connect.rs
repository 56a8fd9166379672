//! Making a new upstream connection: addresses from the DNS cache, TCP connect with a
//! timeout (each address in turn), TCP_NODELAY, then the TLS handshake where wanted.

use super::dns::Lookup;
use super::probe::{Watch, WatchedTcp};
use super::{Conn, PeerKey, UpstreamError, UpstreamShared};
use monoio::net::TcpStream;
use monoio_rustls::TlsConnector;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How often a worker looks again for a host the DNS thread is resolving for it.
const DNS_POLL: Duration = Duration::from_millis(5);

/// Connects to `peer`; `timeout` bounds the wait for DNS, each TCP connect, and the
/// TLS handshake, separately.
pub(crate) async fn connect(
    shared: &UpstreamShared,
    peer: &PeerKey,
    timeout: Duration,
) -> Result<Conn, UpstreamError> {
    let addrs = addresses(shared, &peer.host, peer.port, timeout).await?;
    let stream = connect_tcp(&addrs, timeout).await?;
    stream.set_nodelay(true).map_err(UpstreamError::Connect)?;
    if !peer.tls {
        return Ok(Conn::plain(stream));
    }
    let config = shared.tls.get(peer.ca_file.as_ref())?;
    let name = server_name(&peer.host)?;
    let fd = stream.as_raw_fd();
    let watch = Rc::new(Watch::default());
    let watched = WatchedTcp::new(stream, Rc::clone(&watch));
    let connector = TlsConnector::from(config);
    match monoio::time::timeout(timeout, connector.connect(name, watched)).await {
        Ok(Ok(tls)) => Ok(Conn::tls(tls, fd, watch)),
        Ok(Err(e)) => Err(UpstreamError::Tls(e.into())),
        Err(_) => Err(UpstreamError::ConnectTimeout),
    }
}

/// The cached addresses; a host not cached yet is resolved by the DNS thread while this
/// task waits on a timer (the worker thread itself never blocks on DNS).
async fn addresses(
    shared: &UpstreamShared,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, UpstreamError> {
    if let Lookup::Found(addrs) = shared.dns.lookup(host, port) {
        return non_empty(addrs, host);
    }
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        monoio::time::sleep(DNS_POLL).await;
        if let Some(addrs) = shared.dns.cached(host, port) {
            return non_empty(addrs, host);
        }
    }
    Err(UpstreamError::Dns {
        host: host.to_string(),
    })
}

fn non_empty(addrs: Vec<SocketAddr>, host: &str) -> Result<Vec<SocketAddr>, UpstreamError> {
    if addrs.is_empty() {
        return Err(UpstreamError::Dns {
            host: host.to_string(),
        });
    }
    Ok(addrs)
}

/// Tries each address in order; the last failure is the one reported.
async fn connect_tcp(addrs: &[SocketAddr], timeout: Duration) -> Result<TcpStream, UpstreamError> {
    let mut last = UpstreamError::ConnectTimeout;
    for addr in addrs {
        match monoio::time::timeout(timeout, TcpStream::connect_addr(*addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => {
                log::debug!("upstream connect to {addr} failed: {e}");
                last = UpstreamError::Connect(e);
            }
            Err(_) => {
                log::debug!("upstream connect to {addr} timed out");
                last = UpstreamError::ConnectTimeout;
            }
        }
    }
    Err(last)
}

/// SNI and certificate name: the host as configured (an IP literal checks the IP SAN).
fn server_name(host: &str) -> Result<ServerName<'static>, UpstreamError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(bare.to_string())
        .map_err(|_| UpstreamError::Config(format!("invalid upstream host name {host}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamConfig;
    use std::io;
    use std::net::{IpAddr, Ipv4Addr, TcpListener};

    /// Knows one name, so that no test asks a real DNS server.
    fn fake(host: &str) -> io::Result<Vec<IpAddr>> {
        match host {
            "upstream.test" => Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such host")),
        }
    }

    fn shared() -> UpstreamShared {
        UpstreamShared::with_resolver(&UpstreamConfig::default(), &[], &[], fake).unwrap()
    }

    fn peer(host: &str, port: u16) -> PeerKey {
        PeerKey {
            tls: false,
            host: host.into(),
            port,
            ca_file: None,
        }
    }

    fn run<F: std::future::Future>(fut: F) -> F::Output {
        monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
            .enable_timer()
            .build()
            .unwrap()
            .block_on(fut)
    }

    #[test]
    fn host_missing_from_cache_is_resolved_off_the_worker_then_connected() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = shared();
        let conn = run(connect(
            &shared,
            &peer("upstream.test", port),
            Duration::from_secs(5),
        ));
        let conn = conn.unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert_eq!(
            accepted.peer_addr().unwrap().ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        // TCP_NODELAY is set on every upstream socket.
        let mut nodelay: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: valid fd, and out-pointers to locals of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                conn.raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&mut nodelay as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!((rc, nodelay), (0, 1));
    }

    #[test]
    fn unresolvable_host_is_a_dns_error_within_the_timeout() {
        let shared = shared();
        let started = Instant::now();
        let result = run(connect(
            &shared,
            &peer("nowhere.test", 80),
            Duration::from_millis(50),
        ));
        assert!(
            matches!(&result, Err(UpstreamError::Dns { host }) if host == "nowhere.test"),
            "got {result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn ipv6_literal_is_a_valid_server_name() {
        assert!(server_name("[::1]").is_ok());
        assert!(server_name("api.openai.com").is_ok());
        assert!(matches!(
            server_name("bad host"),
            Err(UpstreamError::Config(_))
        ));
    }
}
