//! `sluice-load`'s command line: target URL, load shape (closed or open loop), bounds, request
//! bytes; validated into a `LoadConfig` before any thread starts.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use lexopt::prelude::*;
use serde::Serialize;

use crate::error::ToolError;

/// Usage text for `--help`.
pub const USAGE: &str = "\
usage: sluice-load --url http://HOST:PORT/PATH [--stream [--expect-chunks N]] [--rate R | --concurrency C]
                   [--duration S | --requests N] [--body FILE] [--header 'Name: value']...
                   [--method M] [--workers N] [--connections N] [--timeout-ms T]
                   [--json OUT] [--quiet]
Defaults: --concurrency 10, --duration 10, --workers 1, --timeout-ms 30000, a small chat body.";

/// Longest request timeout accepted (a day), so deadlines never overflow.
const MAX_TIMEOUT_MS: u64 = 86_400_000;

/// How requests are offered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadShape {
    /// C connections each sending back to back.
    Closed {
        /// Connections in total.
        concurrency: usize,
    },
    /// Requests at a constant rate, latency from each scheduled send time.
    Open {
        /// Requests per second in total.
        rate: f64,
        /// Connections in the pool, in total.
        connections: usize,
    },
}

/// When the run stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// After this many seconds.
    Duration(f64),
    /// After this many requests.
    Requests(u64),
}

/// Everything one run needs.
#[derive(Debug, Clone, Serialize)]
pub struct LoadConfig {
    /// The URL as given.
    pub url: String,
    /// The resolved address of the URL's host.
    pub addr: SocketAddr,
    /// Parse responses as SSE streams.
    pub stream: bool,
    /// `--expect-chunks N`: every stream must carry exactly N content events, the i-th
    /// holding `tok{i} ` (what sluice-mock sends): no byte lost, none reordered.
    pub expect_chunks: Option<u64>,
    /// Closed or open loop.
    pub shape: LoadShape,
    /// When to stop.
    pub bound: Bound,
    /// Worker threads.
    pub workers: usize,
    /// Limit for one request, and for in-flight requests after the deadline.
    pub timeout_ms: u64,
    /// No progress line.
    pub quiet: bool,
    /// Where to write the JSON report.
    pub json: Option<String>,
    /// The complete request (head and body), sent as is on every request.
    #[serde(skip)]
    pub request: Vec<u8>,
}

impl LoadConfig {
    /// Request timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Parses the command line (without the program name); `Ok(None)` for `--help`.
    pub fn from_args(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Option<Self>, ToolError> {
        let mut parser = lexopt::Parser::from_args(args);
        let (mut url, mut body_file, mut json) = (None, None, None);
        let (mut stream, mut quiet) = (false, false);
        let (mut rate, mut concurrency, mut connections) =
            (None::<f64>, None::<usize>, None::<usize>);
        let (mut duration, mut requests) = (None::<f64>, None::<u64>);
        let (mut workers, mut timeout_ms) = (1usize, 30_000u64);
        let mut method = String::from("POST");
        let mut expect_chunks = None;
        let mut headers = Vec::new();
        while let Some(arg) = parser.next()? {
            match arg {
                Long("url") => url = Some(parser.value()?.string()?),
                Long("stream") => stream = true,
                Long("expect-chunks") => expect_chunks = Some(parser.value()?.parse()?),
                Long("rate") => rate = Some(parser.value()?.parse()?),
                Long("concurrency") => concurrency = Some(parser.value()?.parse()?),
                Long("duration") => duration = Some(parser.value()?.parse()?),
                Long("requests") => requests = Some(parser.value()?.parse()?),
                Long("body") => body_file = Some(parser.value()?.string()?),
                Long("header") => headers.push(parse_header(&parser.value()?.string()?)?),
                Long("method") => method = parser.value()?.string()?,
                Long("workers") => workers = parser.value()?.parse()?,
                Long("connections") => connections = Some(parser.value()?.parse()?),
                Long("timeout-ms") => timeout_ms = parser.value()?.parse()?,
                Long("json") => json = Some(parser.value()?.string()?),
                Long("quiet") => quiet = true,
                Long("help") | Short('h') => return Ok(None),
                _ => return Err(arg.unexpected().into()),
            }
        }
        let usage = |m: &str| ToolError::Usage(m.to_owned());
        let url = url.ok_or_else(|| usage("--url is required"))?;
        let target = Target::parse(&url)?;
        let shape = match (rate, concurrency) {
            (Some(_), Some(_)) => return Err(usage("--rate and --concurrency exclude each other")),
            (Some(rate), None) if !(0.001..=1e9).contains(&rate) => {
                return Err(usage("--rate must be between 0.001 and 1e9"))
            }
            (Some(rate), None) => LoadShape::Open {
                rate,
                connections: connections
                    .unwrap_or((rate / 10.0).ceil().clamp(16.0, 1024.0) as usize),
            },
            (None, concurrency) => LoadShape::Closed {
                concurrency: concurrency.or(connections).unwrap_or(10),
            },
        };
        let bound = match (duration, requests) {
            (Some(_), Some(_)) => {
                return Err(usage("--duration and --requests exclude each other"))
            }
            (Some(s), None) if !(s > 0.0 && s <= 1e9) => {
                return Err(usage("--duration must be between 0 and 1e9 seconds"))
            }
            (Some(s), None) => Bound::Duration(s),
            (None, Some(0)) => return Err(usage("--requests must be at least 1")),
            (None, Some(n)) => Bound::Requests(n),
            (None, None) => Bound::Duration(10.0),
        };
        let pool = match shape {
            LoadShape::Closed { concurrency } => concurrency,
            LoadShape::Open { connections, .. } => connections,
        };
        if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(usage("--timeout-ms must be between 1 and 86400000"));
        }
        if pool == 0 || workers == 0 {
            return Err(usage(
                "--concurrency, --connections, --workers and --timeout-ms must be at least 1",
            ));
        }
        let body = match body_file {
            Some(path) => {
                std::fs::read(&path).map_err(|source| ToolError::File { path, source })?
            }
            None if method == "GET" || method == "HEAD" => Vec::new(),
            None => default_body(stream).into_bytes(),
        };
        let request = render_request(&method, &target, &headers, &body);
        Ok(Some(Self {
            url,
            addr: target.addr,
            stream,
            expect_chunks,
            shape,
            bound,
            workers: workers.min(pool),
            timeout_ms,
            quiet,
            json,
            request,
        }))
    }
}

/// The parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]` as written, for the Host header.
    pub authority: String,
    /// Path and query, at least `/`.
    pub path: String,
    /// Where to connect (resolved once, before the run).
    pub addr: SocketAddr,
}

impl Target {
    /// Parses and resolves an `http://` URL.
    pub fn parse(url: &str) -> Result<Self, ToolError> {
        let refuse = |reason| ToolError::Url {
            url: url.to_owned(),
            reason,
        };
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => return Err(refuse("https is not supported, use http://")),
            _ => return Err(refuse("expected http://HOST[:PORT]/PATH")),
        };
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
        if authority.is_empty() || authority.contains('@') {
            return Err(refuse("missing or unsupported host"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().map_err(|_| refuse("bad port"))?)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|_| refuse("cannot resolve host"))?
            .next()
            .ok_or_else(|| refuse("host has no address"))?;
        Ok(Self {
            authority: authority.to_owned(),
            path: path.to_owned(),
            addr,
        })
    }
}

fn parse_header(line: &str) -> Result<(String, String), ToolError> {
    match line.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() && !line.contains(['\r', '\n']) => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(ToolError::Usage(format!(
            "--header {line:?}: expected 'Name: value'"
        ))),
    }
}

/// A small realistic chat request.
fn default_body(stream: bool) -> String {
    let stream = if stream { r#","stream":true"# } else { "" };
    format!(
        r#"{{"model":"gpt-4o-mini","messages":[{{"role":"system","content":"You are a helpful assistant."}},{{"role":"user","content":"Write a haiku about load testing."}}],"max_tokens":64{stream}}}"#
    )
}

/// The request bytes: head with Host, Content-Length, JSON content type unless given, then body.
fn render_request(
    method: &str,
    target: &Target,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!(
        "{method} {} HTTP/1.1\r\nhost: {}\r\n",
        target.path, target.authority
    );
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        && !body.is_empty()
    {
        out.push_str("content-type: application/json\r\n");
    }
    if !body.is_empty() || method == "POST" {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        list.iter().map(Into::into).collect()
    }

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://127.0.0.1:8080/v1/chat/completions?x=1").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.path, "/v1/chat/completions?x=1");
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(Target::parse("http://[::1]").unwrap().addr.port(), 80);
        assert!(Target::parse("https://127.0.0.1/").is_err());
        assert!(Target::parse("127.0.0.1:80").is_err());
        assert!(Target::parse("http://127.0.0.1:99999/").is_err());
    }

    #[test]
    fn builds_config_and_request() {
        let config = LoadConfig::from_args(args(&[
            "--url",
            "http://127.0.0.1:1/v1/chat/completions",
            "--stream",
            "--rate",
            "500",
            "--requests",
            "7",
            "--header",
            "Authorization: Bearer k",
            "--workers",
            "4",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            config.shape,
            LoadShape::Open {
                rate: 500.0,
                connections: 50
            }
        );
        assert_eq!(config.bound, Bound::Requests(7));
        let text = String::from_utf8(config.request).unwrap();
        assert!(text.starts_with("POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:1\r\n"));
        assert!(text.contains("Authorization: Bearer k\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(body).unwrap()["stream"],
            true
        );
    }

    #[test]
    fn refuses_contradictions() {
        let base = ["--url", "http://127.0.0.1:1/"];
        for extra in [
            &["--rate", "1", "--concurrency", "2"][..],
            &["--duration", "1", "--requests", "2"],
            &["--rate", "0"],
            &["--rate", "1e-30"],
            &["--duration", "1e30"],
            &["--duration", "NaN"],
            &["--timeout-ms", "0"],
            &["--requests", "0"],
            &["--header", "no colon"],
            &["--bogus"],
        ] {
            let all: Vec<&str> = base.iter().chain(extra).copied().collect();
            assert!(LoadConfig::from_args(args(&all)).is_err(), "{extra:?}");
        }
        assert!(LoadConfig::from_args(args(&["--stream"])).is_err());
    }
}
