//! `sluice-load`'s command line (oha's short flags, the older long ones): target, load shape,
//! bounds, request bytes, TLS and the error budget, validated into a `LoadConfig`.

use std::net::SocketAddr;
use std::time::Duration;

use lexopt::prelude::*;
use monoio_rustls::TlsConnector;
use serde::Serialize;

use super::request::{self, DEFAULT_MODEL};
use super::socket::Tls;
use super::target::Target;
use super::tls;
use crate::error::ToolError;

pub use super::usage::USAGE;

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
    /// The request method.
    pub method: String,
    /// `--model`, when given.
    pub model: Option<String>,
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
    /// Failed requests over all requests still counted a success.
    pub max_error_rate: f64,
    /// `--insecure`: any certificate accepted.
    pub insecure: bool,
    /// `--cacert`: extra trusted roots.
    pub cacert: Option<String>,
    /// How to make `https://` connections; `None` for `http://`.
    #[serde(skip)]
    pub tls: Option<Tls>,
    /// The complete requests (head and body), sent as they are, in turn (one unless
    /// `--bodies` gave several).
    #[serde(skip)]
    pub requests: Vec<Vec<u8>>,
}

/// What `from_args` found on the command line.
#[derive(Debug)]
pub enum Command {
    /// Run this load.
    Run(Box<LoadConfig>),
    /// Print the usage.
    Help,
    /// Print the version.
    Version,
}

/// The flags as given, before validation.
#[derive(Default)]
struct Flags {
    url: Option<String>,
    body_file: Option<String>,
    bodies_file: Option<String>,
    data: Option<String>,
    json: Option<String>,
    model: Option<String>,
    cacert: Option<String>,
    method: Option<String>,
    stream: bool,
    quiet: bool,
    insecure: bool,
    rate: Option<f64>,
    concurrency: Option<usize>,
    connections: Option<usize>,
    duration: Option<f64>,
    requests: Option<u64>,
    workers: Option<usize>,
    timeout_ms: Option<u64>,
    expect_chunks: Option<u64>,
    max_error_rate: Option<f64>,
    headers: Vec<(String, String)>,
}

impl LoadConfig {
    /// Request timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Parses the command line (without the program name).
    pub fn from_args(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Command, ToolError> {
        let mut parser = lexopt::Parser::from_args(args);
        let mut f = Flags::default();
        while let Some(arg) = parser.next()? {
            match arg {
                Long("url") => f.url = Some(parser.value()?.string()?),
                Value(url) if f.url.is_none() => f.url = Some(url.string()?),
                Long("stream") => f.stream = true,
                Long("expect-chunks") => f.expect_chunks = Some(parser.value()?.parse()?),
                Short('q') | Long("rate") => f.rate = Some(parser.value()?.parse()?),
                Short('c') | Long("concurrency") => f.concurrency = Some(parser.value()?.parse()?),
                Long("connections") => f.connections = Some(parser.value()?.parse()?),
                Short('z') | Long("duration") => {
                    f.duration = Some(parse_duration("--duration", &parser.value()?.string()?)?)
                }
                Short('n') | Long("requests") => f.requests = Some(parser.value()?.parse()?),
                Short('D') | Long("body") => f.body_file = Some(parser.value()?.string()?),
                Long("bodies") => f.bodies_file = Some(parser.value()?.string()?),
                Short('d') | Long("data") => f.data = Some(parser.value()?.string()?),
                Long("model") => f.model = Some(parser.value()?.string()?),
                Short('H') | Long("header") => f
                    .headers
                    .push(request::parse_header(&parser.value()?.string()?)?),
                Short('m') | Long("method") => {
                    f.method = Some(request::parse_method(&parser.value()?.string()?)?)
                }
                Long("workers") => f.workers = Some(parser.value()?.parse()?),
                Short('t') | Long("timeout") => {
                    let secs = parse_duration("--timeout", &parser.value()?.string()?)?;
                    f.timeout_ms = Some((secs * 1000.0).ceil() as u64);
                }
                Long("timeout-ms") => f.timeout_ms = Some(parser.value()?.parse()?),
                Long("json") => f.json = Some(parser.value()?.string()?),
                Long("quiet") => f.quiet = true,
                Long("max-error-rate") => f.max_error_rate = Some(parser.value()?.parse()?),
                Long("insecure") => f.insecure = true,
                Long("cacert") => f.cacert = Some(parser.value()?.string()?),
                Long("help") | Short('h') => return Ok(Command::Help),
                Long("version") | Short('V') => return Ok(Command::Version),
                _ => return Err(arg.unexpected().into()),
            }
        }
        Ok(Command::Run(Box::new(f.validate()?)))
    }
}

impl Flags {
    fn validate(self) -> Result<LoadConfig, ToolError> {
        let usage = |m: &str| ToolError::Usage(m.to_owned());
        let url = self
            .url
            .ok_or_else(|| usage("a URL is required (sluice-load http://HOST:PORT/PATH)"))?;
        let target = Target::parse(&url)?;
        let shape = match (self.rate, self.concurrency) {
            (Some(_), Some(_)) => return Err(usage("--rate and --concurrency exclude each other")),
            (Some(rate), None) if !(0.001..=1e9).contains(&rate) => {
                return Err(usage("--rate must be between 0.001 and 1e9"))
            }
            (Some(rate), None) => LoadShape::Open {
                rate,
                connections: self
                    .connections
                    .unwrap_or((rate / 10.0).ceil().clamp(16.0, 1024.0) as usize),
            },
            (None, concurrency) => LoadShape::Closed {
                concurrency: concurrency.or(self.connections).unwrap_or(10),
            },
        };
        let bound = match (self.duration, self.requests) {
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
        let timeout_ms = self.timeout_ms.unwrap_or(30_000);
        if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(usage("--timeout must be between 1 ms and a day"));
        }
        let workers = self.workers.unwrap_or(1);
        if pool == 0 || workers == 0 {
            return Err(usage(
                "--concurrency, --connections and --workers must be at least 1",
            ));
        }
        let max_error_rate = self.max_error_rate.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&max_error_rate) {
            return Err(usage("--max-error-rate must be between 0 and 1"));
        }
        if self.expect_chunks.is_some() && !self.stream {
            return Err(usage("--expect-chunks needs --stream"));
        }
        let method = self.method.unwrap_or_else(|| "POST".to_owned());
        let bodies = match &self.bodies_file {
            Some(_) if self.body_file.is_some() || self.data.is_some() => {
                return Err(usage("--bodies excludes --body and --data"))
            }
            Some(path) => {
                let file = std::fs::read(path).map_err(|source| ToolError::File {
                    path: path.clone(),
                    source,
                })?;
                let bodies = super::bodies::bodies_of(&file);
                if bodies.is_empty() {
                    return Err(usage("--bodies FILE has no body (one JSON body per line)"));
                }
                Some(bodies)
            }
            None => None,
        };
        let given = match (self.body_file, self.data) {
            (Some(_), Some(_)) => return Err(usage("--body and --data exclude each other")),
            (Some(path), None) => {
                Some(std::fs::read(&path).map_err(|source| ToolError::File { path, source })?)
            }
            (None, Some(data)) => Some(data.into_bytes()),
            (None, None) => None,
        };
        let body = match (given, &self.model) {
            (Some(body), Some(model)) => request::with_model(&body, model)?,
            (Some(body), None) => body,
            (None, Some(_)) if method == "GET" || method == "HEAD" => {
                return Err(usage(
                    "--model needs a body, and GET and HEAD send none without -d/-D",
                ))
            }
            (None, _) if method == "GET" || method == "HEAD" => Vec::new(),
            (None, model) => {
                request::default_body(model.as_deref().unwrap_or(DEFAULT_MODEL), self.stream)
            }
        };
        let tls = if target.tls {
            let config = tls::client_config(self.cacert.as_deref(), self.insecure)?;
            let name = target
                .server_name()
                .ok_or_else(|| usage("the URL's host is not a valid TLS server name"))?;
            Some(Tls {
                connector: TlsConnector::from(config),
                name,
            })
        } else {
            None
        };
        let requests = match bodies {
            Some(bodies) => bodies
                .iter()
                .map(|body| match &self.model {
                    Some(model) => request::with_model(body, model),
                    None => Ok(body.clone()),
                })
                .map(|body| Ok(request::render(&method, &target, &self.headers, &body?)))
                .collect::<Result<Vec<_>, ToolError>>()?,
            None => vec![request::render(&method, &target, &self.headers, &body)],
        };
        Ok(LoadConfig {
            url,
            addr: target.addr,
            method,
            model: self.model,
            stream: self.stream,
            expect_chunks: self.expect_chunks,
            shape,
            bound,
            workers: workers.min(pool),
            timeout_ms,
            quiet: self.quiet,
            json: self.json,
            max_error_rate,
            insecure: self.insecure,
            cacert: self.cacert,
            tls,
            requests,
        })
    }
}

/// Parses `10`, `10s`, `1.5s`, `500ms`, `2m`, `1h` or `1m30s` into seconds.
pub fn parse_duration(flag: &str, text: &str) -> Result<f64, ToolError> {
    let bad = || ToolError::Usage(format!("{flag} {text:?}: expected e.g. 10s, 500ms, 2m, 1h"));
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(secs);
    }
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let scale = match &rest[digits..digits + unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<LoadConfig, ToolError> {
        let args = list
            .iter()
            .map(Into::into)
            .collect::<Vec<std::ffi::OsString>>();
        match LoadConfig::from_args(args)? {
            Command::Run(config) => Ok(*config),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn builds_config_and_request() {
        let config = parse(&[
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
        ])
        .unwrap();
        assert_eq!(
            config.shape,
            LoadShape::Open {
                rate: 500.0,
                connections: 50
            }
        );
        assert_eq!(config.bound, Bound::Requests(7));
        let text = String::from_utf8(config.requests[0].clone()).unwrap();
        assert!(text.starts_with("POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:1\r\n"));
        assert!(text.contains("Authorization: Bearer k\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (&json["stream"], &json["model"]),
            (&true.into(), &"openai/mock-gpt".into())
        );
    }

    #[test]
    fn oha_short_flags_mean_what_they_mean_in_oha() {
        let config = parse(&[
            "-c",
            "3",
            "-z",
            "1m30s",
            "-m",
            "put",
            "-d",
            r#"{"model":"x"}"#,
            "-H",
            "X-A: 1",
            "-H",
            "X-B: 2",
            "-t",
            "2s",
            "--model",
            "groq/llama",
            "http://127.0.0.1:1/p",
        ])
        .unwrap();
        assert_eq!(config.shape, LoadShape::Closed { concurrency: 3 });
        assert_eq!(config.bound, Bound::Duration(90.0));
        assert_eq!(config.timeout_ms, 2000);
        let text = String::from_utf8(config.requests[0].clone()).unwrap();
        assert!(text.starts_with("PUT /p HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("X-A: 1\r\nX-B: 2\r\n"));
        assert!(text.ends_with(r#"{"model":"groq/llama"}"#), "{text}");
        let counted = parse(&["-n", "5", "-q", "20", "http://127.0.0.1:1/"]).unwrap();
        assert_eq!(counted.bound, Bound::Requests(5));
        assert!(matches!(counted.shape, LoadShape::Open { rate, .. } if rate == 20.0));
        let get = parse(&["-m", "GET", "http://127.0.0.1:1/"]).unwrap();
        assert_eq!(
            get.requests[0],
            b"GET / HTTP/1.1\r\nhost: 127.0.0.1:1\r\n\r\n"
        );
    }

    #[test]
    fn durations() {
        for (text, secs) in [
            ("10", 10.0),
            ("10s", 10.0),
            ("500ms", 0.5),
            ("2m", 120.0),
            ("1h", 3600.0),
            ("1m30s", 90.0),
            ("1.5s", 1.5),
        ] {
            assert_eq!(parse_duration("-z", text).unwrap(), secs, "{text}");
        }
        for bad in ["", "s", "10x", "1m30", "ms10"] {
            assert!(parse_duration("-z", bad).is_err(), "{bad}");
        }
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
            &["--max-error-rate", "1.5"],
            &["-d", "x", "--body", "/dev/null"],
            &["-m", "GET", "--model", "m"],
            &["--model", "m", "-d", "not json"],
            &["--expect-chunks", "3"],
            &["--bogus"],
        ] {
            let all: Vec<&str> = base.iter().chain(extra).copied().collect();
            assert!(parse(&all).is_err(), "{extra:?}");
        }
        assert!(parse(&["--stream"]).is_err());
        assert!(parse(&["https://127.0.0.1:1/", "--cacert", "/nonexistent.pem"]).is_err());
    }
}
