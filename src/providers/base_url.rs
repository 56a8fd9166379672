//! Parsing of a provider's upstream base URL (`http(s)://host[:port][/path]`) into `BaseUrl`,
//! its `Host` header value, and the detection of a trailing version segment (`/v1`).

use super::BaseUrl;
use std::fmt;
use std::net::Ipv6Addr;

/// Why a base URL was refused. Messages never echo the URL (it could hold credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    /// Not `http://` or `https://`.
    #[error("must start with http:// or https://")]
    Scheme,
    /// No host.
    #[error("has no host")]
    MissingHost,
    /// The host is not a name or an IP address.
    #[error("has an invalid host")]
    InvalidHost,
    /// The port is not 1-65535.
    #[error("has an invalid port (1-65535)")]
    InvalidPort,
    /// `user:password@` in the URL.
    #[error("must not contain user information (user:password@)")]
    UserInfo,
    /// A query string or fragment.
    #[error("must not contain a query string or fragment")]
    QueryOrFragment,
    /// Whitespace or control characters in the path.
    #[error("has whitespace or control characters in its path")]
    InvalidPath,
}

impl BaseUrl {
    /// Parses `http(s)://host[:port][/path]`; the path loses its trailing slashes.
    pub fn parse(url: &str) -> Result<BaseUrl, BaseUrlError> {
        let (tls, rest) = split_scheme(url).ok_or(BaseUrlError::Scheme)?;
        if rest.contains(['?', '#']) {
            return Err(BaseUrlError::QueryOrFragment);
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(BaseUrlError::UserInfo);
        }
        let (host, port) = split_authority(authority)?;
        let default_port = if tls { 443 } else { 80 };
        let port = match port {
            None => default_port,
            Some(text) => parse_port(text)?,
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(BaseUrlError::InvalidPath);
        }
        Ok(BaseUrl::from_parts(tls, &host, port, path))
    }

    /// Builds a base from parts already known to be valid (the built-in table).
    pub(crate) fn from_parts(tls: bool, host: &str, port: u16, path: &str) -> BaseUrl {
        let path = path.trim_end_matches('/').to_string();
        let versioned = is_version_segment(path.rsplit('/').next().unwrap_or(""));
        BaseUrl {
            tls,
            host: host.to_ascii_lowercase(),
            port,
            path,
            versioned,
        }
    }

    /// The `Host` header value: the host, plus `:port` when it is not the scheme's default.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// 443 for https, 80 for http.
    pub fn default_port(&self) -> u16 {
        if self.tls {
            443
        } else {
            80
        }
    }

    /// The host still holds a `{placeholder}` of the built-in table (azure-openai,
    /// workers-ai): the provider cannot be reached until config sets its `base_url`.
    pub fn has_placeholder(&self) -> bool {
        self.host.contains('{') || self.path.contains('{')
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.path)
    }
}

fn split_scheme(url: &str) -> Option<(bool, &str)> {
    for (scheme, tls) in [("https://", true), ("http://", false)] {
        if let Some(head) = url.get(..scheme.len()) {
            if head.eq_ignore_ascii_case(scheme) {
                return Some((tls, &url[scheme.len()..]));
            }
        }
    }
    None
}

/// Host (without IPv6 brackets) and the port text, if any.
fn split_authority(authority: &str) -> Result<(String, Option<&str>), BaseUrlError> {
    if authority.is_empty() {
        return Err(BaseUrlError::MissingHost);
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(BaseUrlError::InvalidHost)?;
        host.parse::<Ipv6Addr>()
            .map_err(|_| BaseUrlError::InvalidHost)?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(BaseUrlError::InvalidHost)?),
        };
        return Ok((host.to_string(), port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(BaseUrlError::MissingHost);
    }
    // Braces admit the `{resource}` placeholders of the built-in table.
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '{' | '}');
    if !host.chars().all(valid) {
        return Err(BaseUrlError::InvalidHost);
    }
    Ok((host.to_string(), port))
}

fn parse_port(text: &str) -> Result<u16, BaseUrlError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BaseUrlError::InvalidPort);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(BaseUrlError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

/// `v\d+\w*`: v1, v4, v1beta, v1alpha, v2_1.
fn is_version_segment(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && rest[digits..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_with_path_and_default_port() {
        let b = BaseUrl::parse("https://api.openai.com/v1").unwrap();
        assert!(b.tls);
        assert_eq!(b.host, "api.openai.com");
        assert_eq!(b.port, 443);
        assert_eq!(b.path, "/v1");
        assert!(b.versioned);
        assert_eq!(b.authority(), "api.openai.com");
        assert_eq!(b.to_string(), "https://api.openai.com/v1");
    }

    #[test]
    fn http_with_port_and_trailing_slash() {
        let b = BaseUrl::parse("http://127.0.0.1:9000/openai/v1/").unwrap();
        assert!(!b.tls);
        assert_eq!(b.port, 9000);
        assert_eq!(b.path, "/openai/v1");
        assert!(b.versioned);
        assert_eq!(b.authority(), "127.0.0.1:9000");
    }

    #[test]
    fn explicit_default_port_is_left_out_of_authority() {
        assert_eq!(BaseUrl::parse("http://h:80").unwrap().authority(), "h");
        assert_eq!(BaseUrl::parse("https://h:443/").unwrap().authority(), "h");
        assert_eq!(BaseUrl::parse("https://h:80").unwrap().authority(), "h:80");
    }

    #[test]
    fn root_path_is_empty_and_not_versioned() {
        let b = BaseUrl::parse("https://api.anthropic.com/").unwrap();
        assert_eq!(b.path, "");
        assert!(!b.versioned);
        let b = BaseUrl::parse("https://api.anthropic.com").unwrap();
        assert_eq!(b.path, "");
    }

    #[test]
    fn ipv6_host_is_bracketed_in_authority_only() {
        let b = BaseUrl::parse("http://[::1]:8080/v1").unwrap();
        assert_eq!(b.host, "::1");
        assert_eq!(b.authority(), "[::1]:8080");
        assert_eq!(BaseUrl::parse("http://[::1]").unwrap().authority(), "[::1]");
    }

    #[test]
    fn scheme_is_case_insensitive_and_host_lowercased() {
        let b = BaseUrl::parse("HTTPS://API.Example.COM/V1").unwrap();
        assert!(b.tls);
        assert_eq!(b.host, "api.example.com");
        assert!(!b.versioned, "V1 is not v1");
    }

    #[test]
    fn version_segments() {
        for yes in ["v1", "v4", "v1beta", "v1alpha", "v2_1", "v10"] {
            assert!(is_version_segment(yes), "{yes}");
        }
        for no in ["", "v", "vx1", "ai", "openai", "1", "v1-beta", "version1"] {
            assert!(!is_version_segment(no), "{no}");
        }
    }

    #[test]
    fn refusals() {
        let cases = [
            ("ftp://h", BaseUrlError::Scheme),
            ("api.openai.com/v1", BaseUrlError::Scheme),
            ("https://", BaseUrlError::MissingHost),
            ("https:///v1", BaseUrlError::MissingHost),
            ("https://:80", BaseUrlError::MissingHost),
            ("https://h:0", BaseUrlError::InvalidPort),
            ("https://h:65536", BaseUrlError::InvalidPort),
            ("https://h:", BaseUrlError::InvalidPort),
            ("https://h:+1", BaseUrlError::InvalidPort),
            ("https://u:p@h", BaseUrlError::UserInfo),
            ("https://h/v1?x=1", BaseUrlError::QueryOrFragment),
            ("https://h/v1#f", BaseUrlError::QueryOrFragment),
            ("https://h o", BaseUrlError::InvalidHost),
            ("https://[zz]", BaseUrlError::InvalidHost),
            ("https://[::1]x", BaseUrlError::InvalidHost),
            ("https://h/a b", BaseUrlError::InvalidPath),
        ];
        for (url, want) in cases {
            assert_eq!(BaseUrl::parse(url), Err(want), "{url}");
        }
    }

    #[test]
    fn placeholders_are_accepted_and_reported() {
        let b = BaseUrl::parse("https://{resource}.openai.azure.com/openai").unwrap();
        assert!(b.has_placeholder());
        assert!(!BaseUrl::parse("https://x.openai.azure.com/openai")
            .unwrap()
            .has_placeholder());
    }

    #[test]
    fn non_ascii_input_does_not_panic() {
        assert!(BaseUrl::parse("é").is_err());
        assert!(BaseUrl::parse("httpé://x").is_err());
        assert!(BaseUrl::parse("https://hé").is_err());
    }
}
