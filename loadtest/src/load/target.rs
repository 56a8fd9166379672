//! `sluice-load`'s target: an `http://` or `https://` URL split into what the request head,
//! the TLS handshake (SNI) and the connect need, resolved once before the run.

use std::net::{SocketAddr, ToSocketAddrs};

use rustls_pki_types::ServerName;

use crate::error::ToolError;

/// The parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https://`: speak TLS.
    pub tls: bool,
    /// `host[:port]` as written, for the Host header.
    pub authority: String,
    /// The host without brackets or port, for SNI and certificate checks.
    pub host: String,
    /// Path and query, at least `/`.
    pub path: String,
    /// Where to connect (resolved once, before the run).
    pub addr: SocketAddr,
}

impl Target {
    /// Parses and resolves an `http://` or `https://` URL.
    pub fn parse(url: &str) -> Result<Self, ToolError> {
        let refuse = |reason| ToolError::Url {
            url: url.to_owned(),
            reason,
        };
        let (tls, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            _ => return Err(refuse("expected http://HOST[:PORT]/PATH or https://...")),
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let path = match path.strip_prefix('?') {
            Some(_) => format!("/{path}"),
            None if path.is_empty() => "/".to_owned(),
            None => path.to_owned(),
        };
        let path = path.split_once('#').map_or(path.as_str(), |(p, _)| p);
        if authority.is_empty() || authority.contains('@') || path.contains(char::is_whitespace) {
            return Err(refuse(
                "missing or unsupported host, or a space in the path",
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().map_err(|_| refuse("bad port"))?)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if tls && ServerName::try_from(host).is_err() {
            return Err(refuse("host is not a valid TLS server name"));
        }
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|_| refuse("cannot resolve host"))?
            .next()
            .ok_or_else(|| refuse("host has no address"))?;
        Ok(Self {
            tls,
            authority: authority.to_owned(),
            host: host.to_owned(),
            path: path.to_owned(),
            addr,
        })
    }

    /// The name the server's certificate must carry.
    pub fn server_name(&self) -> Option<ServerName<'static>> {
        ServerName::try_from(self.host.clone()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://127.0.0.1:8080/v1/chat/completions?x=1").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path, "/v1/chat/completions?x=1");
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert!(!t.tls);
        assert_eq!(Target::parse("http://[::1]").unwrap().addr.port(), 80);
        assert_eq!(Target::parse("http://127.0.0.1?q").unwrap().path, "/?q");
        assert_eq!(Target::parse("http://127.0.0.1/a#frag").unwrap().path, "/a");
        let secure = Target::parse("https://127.0.0.1/v1").unwrap();
        assert!(secure.tls);
        assert_eq!(secure.addr.port(), 443);
        assert_eq!(secure.host, "127.0.0.1");
        assert!(secure.server_name().is_some());
        assert!(Target::parse("127.0.0.1:80").is_err());
        assert!(Target::parse("ftp://127.0.0.1/").is_err());
        assert!(Target::parse("http://127.0.0.1:99999/").is_err());
        assert!(Target::parse("http://127.0.0.1/a b").is_err());
    }
}
