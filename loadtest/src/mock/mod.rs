//! `sluice-mock`: a mock provider speaking OpenAI (Chat, Responses), Anthropic Messages and Gemini, thread-per-core, HTTP or HTTPS.
//! This file owns the command line and the workers; `serve` owns one connection.

pub mod answer;
mod anthropic;
mod chat;
pub mod formats;
mod gemini;
pub mod knobs;
pub mod render;
pub mod request;
mod responses;
pub mod schema;
pub mod serve;
mod tls;

use std::io::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use lexopt::prelude::*;
use monoio::net::TcpListener;
use monoio_rustls::TlsAcceptor;

use crate::error::ToolError;
use crate::runtime;
use knobs::Knobs;
use serve::Worker;

/// Usage text for `--help`.
pub const USAGE: &str = "\
usage: sluice-mock [--listen ADDR] [--tls-cert PEM --tls-key PEM] [--workers N]
                   [--chunks N] [--chunk-interval-ms MS] [--ttft-ms MS] [--status CODE]
                   [--body-bytes N] [--dims N] [--tool-call true|false]
The knob flags set the defaults of the x-mock-* request headers.
Speaks OpenAI (POST /v1/chat/completions, /v1/responses, /v1/embeddings, GET /v1/models),
Anthropic (POST /v1/messages) and Gemini (POST /v1beta/models/M:generateContent and
:streamGenerateContent?alt=sse), each with its own JSON, SSE and error shapes. Requests
offering tools get a call to the first one, until the conversation ends with its result;
requests asking for JSON (a schema) get JSON that fits it.";

/// How the mock runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfig {
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Worker threads sharing the port.
    pub workers: usize,
    /// PEM certificate chain and key paths, for HTTPS.
    pub tls: Option<(String, String)>,
    /// Per-request behaviour when headers set none.
    pub defaults: Knobs,
}

impl MockConfig {
    /// Parses the command line (without the program name); `Ok(None)` for `--help`.
    pub fn from_args(
        args: impl IntoIterator<Item = std::ffi::OsString>,
    ) -> Result<Option<Self>, ToolError> {
        let mut parser = lexopt::Parser::from_args(args);
        let mut listen = SocketAddr::from(([127, 0, 0, 1], 9999));
        let mut workers = 1;
        let (mut cert, mut key) = (None, None);
        let mut defaults = Knobs::default();
        while let Some(arg) = parser.next()? {
            match arg {
                Long("listen") => listen = parser.value()?.parse()?,
                Long("workers") => workers = parser.value()?.parse()?,
                Long("tls-cert") => cert = Some(parser.value()?.string()?),
                Long("tls-key") => key = Some(parser.value()?.string()?),
                Long(
                    name @ ("chunks" | "chunk-interval-ms" | "ttft-ms" | "status" | "body-bytes"
                    | "dims" | "tool-call"),
                ) => {
                    let name = name.to_owned();
                    let value = parser.value()?.string()?;
                    defaults
                        .apply(&name, &value)
                        .map_err(|e| ToolError::Usage(format!("--{name}: {e}")))?;
                }
                Long("help") | Short('h') => return Ok(None),
                _ => return Err(arg.unexpected().into()),
            }
        }
        if workers == 0 {
            return Err(ToolError::Usage("--workers must be at least 1".into()));
        }
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(ToolError::Usage(
                    "--tls-cert and --tls-key go together".into(),
                ))
            }
        };
        Ok(Some(Self {
            listen,
            workers,
            tls,
            defaults,
        }))
    }
}

/// Starts the workers, prints `listening on IP:PORT` as the first stdout line, and serves
/// until the process is killed (or a worker fails).
pub fn run(config: MockConfig) -> Result<(), ToolError> {
    let acceptor = match &config.tls {
        Some((cert, key)) => Some(tls::load_acceptor(cert, key)?),
        None => None,
    };
    let (bound_tx, bound_rx) = mpsc::channel();
    let mut handles = Vec::with_capacity(config.workers);
    let mut addr = config.listen;
    for index in 0..config.workers {
        let (defaults, acceptor, bound_tx) =
            (config.defaults.clone(), acceptor.clone(), bound_tx.clone());
        let handle = runtime::spawn_worker("sluice-mock", index, move |driver| async move {
            let listener = match runtime::bind_reuse_port(addr) {
                Ok(listener) => listener,
                Err(error) => return drop(bound_tx.send(Err(error))),
            };
            let _ = bound_tx.send(listener.local_addr());
            eprintln!("sluice-mock worker {index}: {driver} driver");
            accept_loop(listener, Rc::new(Worker::new(defaults)), acceptor).await;
        })?;
        handles.push(handle);
        // The first worker fixes the port (it may have been 0); the others share it.
        addr = bound_rx
            .recv()
            .map_err(|_| ToolError::Worker(index))?
            .map_err(ToolError::io("binding the listener"))?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {addr}")
        .and_then(|()| stdout.flush())
        .map_err(ToolError::io("writing to stdout"))?;
    drop(stdout);
    for (index, handle) in handles.into_iter().enumerate() {
        handle.join().map_err(|_| ToolError::Worker(index))??;
    }
    Ok(())
}

async fn accept_loop(listener: TcpListener, worker: Rc<Worker>, acceptor: Option<TlsAcceptor>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors or similar: back off instead of spinning.
                eprintln!("sluice-mock: accept failed: {error}");
                monoio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (worker, acceptor) = (worker.clone(), acceptor.clone());
        monoio::spawn(async move {
            match acceptor {
                None => serve::serve_connection(stream, &worker).await,
                Some(acceptor) => {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        serve::serve_connection(tls, &worker).await;
                    }
                }
            }
        });
    }
}
