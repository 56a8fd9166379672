//! The shared DNS cache: hosts resolved at startup and refreshed by one background
//! thread, so that the hot path only takes a short read lock on a map.

use super::UpstreamError;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How often every cached host is resolved again.
const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// Resolves a host name to its addresses (blocking); swapped out in tests.
pub(crate) type Resolver = fn(&str) -> io::Result<Vec<IpAddr>>;

/// The system resolver (getaddrinfo through std); only ever called on the refresh thread
/// or at startup, never on a worker.
pub(crate) fn system_resolve(host: &str) -> io::Result<Vec<IpAddr>> {
    Ok((host, 0u16).to_socket_addrs()?.map(|a| a.ip()).collect())
}

type Entries = Arc<RwLock<HashMap<String, Arc<[IpAddr]>>>>;

/// Host name -> addresses. Dropping it stops the refresh thread.
pub(crate) struct DnsCache {
    entries: Entries,
    /// Hosts for the refresh thread to resolve now (cache misses on the hot path).
    wanted: Sender<String>,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Found(Vec<SocketAddr>),
    /// Not cached (yet); the refresh thread was asked to resolve it.
    Pending,
}

impl DnsCache {
    /// Starts the refresh thread, which resolves `hosts` at once and then every interval
    /// (failures are logged). Startup never waits on DNS.
    pub(crate) fn start(hosts: &[&str], resolver: Resolver) -> Result<Self, UpstreamError> {
        let entries: Entries = Arc::default();
        let mut names: Vec<String> = Vec::new();
        for host in hosts {
            if literal(host).is_some() || names.iter().any(|n| n == host) {
                continue;
            }
            names.push((*host).to_string());
        }
        let (tx, rx) = mpsc::channel::<String>();
        let thread_entries = Arc::clone(&entries);
        std::thread::Builder::new()
            .name("sluice-dns".into())
            .spawn(move || refresh_loop(&thread_entries, names, &rx, resolver))
            .map_err(|e| UpstreamError::Config(format!("cannot start DNS thread: {e}")))?;
        Ok(DnsCache {
            entries,
            wanted: tx,
        })
    }

    /// The addresses to try for `host:port`, in order. IP literals and `localhost` need no
    /// resolution; other hosts are a read of the cache, and a miss asks the refresh thread
    /// to resolve the host now.
    pub(crate) fn lookup(&self, host: &str, port: u16) -> Lookup {
        match self.cached(host, port) {
            Some(addrs) => Lookup::Found(addrs),
            None => {
                // The thread only ends when this cache is dropped, so sending cannot fail.
                let _ = self.wanted.send(host.to_string());
                Lookup::Pending
            }
        }
    }

    /// Like [`lookup`](Self::lookup) without asking for a resolution on a miss. The read
    /// lock is held only for the map access, never across an await.
    pub(crate) fn cached(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        let with_port = |ips: &[IpAddr]| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        if let Some(ips) = literal(host) {
            return Some(with_port(&ips));
        }
        let found = match self.entries.read() {
            Ok(map) => map.get(host).cloned(),
            Err(poisoned) => poisoned.into_inner().get(host).cloned(),
        };
        found.map(|ips| with_port(&ips))
    }
}

/// Addresses of hosts that need no resolver.
fn literal(host: &str) -> Option<Vec<IpAddr>> {
    if host.eq_ignore_ascii_case("localhost") {
        return Some(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().ok().map(|ip| vec![ip])
}

/// Resolves one host and stores the result; on failure the old addresses stay.
fn resolve_into(entries: &Entries, host: &str, resolver: Resolver) -> bool {
    match resolver(host) {
        Ok(ips) if !ips.is_empty() => {
            let ips: Arc<[IpAddr]> = ips.into();
            match entries.write() {
                Ok(mut map) => map.insert(host.to_string(), ips),
                Err(poisoned) => poisoned.into_inner().insert(host.to_string(), ips),
            };
            true
        }
        Ok(_) => {
            log::warn!("DNS: {host} resolved to no address; keeping previous addresses");
            false
        }
        Err(e) => {
            log::warn!("DNS: cannot resolve {host}: {e}; keeping previous addresses");
            false
        }
    }
}

/// Refreshes every known host each interval and resolves requested hosts at once;
/// ends when the cache (and with it the sender) is dropped.
fn refresh_loop(
    entries: &Entries,
    mut names: Vec<String>,
    wanted: &mpsc::Receiver<String>,
    resolver: Resolver,
) {
    // The first round runs at once: the hosts given at startup.
    let mut next_refresh = Instant::now();
    loop {
        let wait = next_refresh.saturating_duration_since(Instant::now());
        match wanted.recv_timeout(wait) {
            Ok(host) => {
                // A known host lands here only when it failed before: try again now.
                resolve_into(entries, &host, resolver);
                if !names.contains(&host) {
                    names.push(host);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                for host in &names {
                    resolve_into(entries, host, resolver);
                }
                next_refresh = Instant::now() + REFRESH_INTERVAL;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(host: &str) -> io::Result<Vec<IpAddr>> {
        match host {
            "api.example.test" => Ok(vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7))]),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such host")),
        }
    }

    #[test]
    fn literals_and_localhost_need_no_resolver() {
        let cache = DnsCache::start(&[], fake).unwrap();
        assert_eq!(
            cache.lookup("10.1.2.3", 443),
            Lookup::Found(vec!["10.1.2.3:443".parse().unwrap()])
        );
        assert_eq!(
            cache.lookup("[::1]", 80),
            Lookup::Found(vec!["[::1]:80".parse().unwrap()])
        );
        assert_eq!(
            cache.lookup("LocalHost", 8080),
            Lookup::Found(vec![
                "127.0.0.1:8080".parse().unwrap(),
                "[::1]:8080".parse().unwrap()
            ])
        );
    }

    #[test]
    fn startup_hosts_are_resolved_in_the_background_and_failures_are_not_fatal() {
        let cache = DnsCache::start(&["nowhere.test", "api.example.test"], fake).unwrap();
        // Wait on the cache itself (bounded), not on a fixed sleep.
        let deadline = Instant::now() + Duration::from_secs(5);
        while cache.cached("api.example.test", 443).is_none() {
            assert!(Instant::now() < deadline, "startup resolution never landed");
            std::thread::yield_now();
        }
        assert_eq!(
            cache.lookup("api.example.test", 443),
            Lookup::Found(vec!["127.0.0.7:443".parse().unwrap()])
        );
        assert_eq!(cache.lookup("nowhere.test", 443), Lookup::Pending);
    }

    #[test]
    fn a_miss_is_resolved_in_the_background() {
        let cache = DnsCache::start(&[], fake).unwrap();
        assert_eq!(cache.lookup("api.example.test", 80), Lookup::Pending);
        // Wait on the cache itself (bounded), not on a fixed sleep.
        let deadline = Instant::now() + Duration::from_secs(5);
        let found = loop {
            if let Lookup::Found(addrs) = cache.lookup("api.example.test", 80) {
                break addrs;
            }
            assert!(
                Instant::now() < deadline,
                "background resolution never landed"
            );
            std::thread::yield_now();
        };
        assert_eq!(found, vec!["127.0.0.7:80".parse::<SocketAddr>().unwrap()]);
    }
}
