//! One load-generator connection: send the pre-rendered request, read the response head and body
//! (length, chunked or until close), keep the start of an error body, and time SSE events.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use monoio::io::AsyncWriteRentExt;
use monoio::time::Instant;

use super::socket::{ConnectError, Socket, Tls};
use super::sse::{SseEvent, SseScanner};
use crate::error::WireError;
use crate::wire::{self, ChunkStep, ChunkedDecoder, Framing, InBuf};

/// Why an exchange failed before a complete response.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The response is not valid HTTP/1.1.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The peer closed before the response was complete.
    #[error("connection closed mid-response")]
    Closed,
}

/// Timings of one stream, relative to the request's start.
#[derive(Debug, Default)]
pub struct StreamTimes {
    /// When the first content event arrived.
    pub first_content: Option<Instant>,
    /// Gaps between consecutive content events, in microseconds.
    pub gaps_us: Vec<u64>,
    /// Content events.
    pub chunks: u64,
    /// Whether `data: [DONE]` arrived.
    pub done: bool,
    /// Every content event so far carried `tok{i} ` with `i` its position.
    pub in_order: bool,
    last_content: Option<Instant>,
}

impl StreamTimes {
    fn reset(&mut self) {
        self.first_content = None;
        self.last_content = None;
        self.gaps_us.clear();
        self.chunks = 0;
        self.done = false;
        self.in_order = true;
    }

    fn on_event(&mut self, event: SseEvent, now: Instant) {
        match event {
            SseEvent::Content(token) => {
                self.in_order &= token == Some(self.chunks);
                if let Some(last) = self.last_content {
                    let gap = now.duration_since(last).as_micros();
                    self.gaps_us.push(u64::try_from(gap).unwrap_or(u64::MAX));
                }
                self.first_content.get_or_insert(now);
                self.last_content = Some(now);
                self.chunks += 1;
            }
            SseEvent::Done => self.done = true,
            SseEvent::Other => {}
        }
    }
}

/// Most bytes of an error body kept for the report.
pub const SAMPLE_BYTES: usize = 512;

/// The end of one exchange.
#[derive(Debug, Clone, Copy)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Whether the connection can carry the next request.
    pub keep_alive: bool,
}

/// What to do with a body's bytes besides reading them.
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// Scan as SSE into the stream timings.
    scan: bool,
    /// Keep the start as an error sample.
    capture: bool,
}

/// A keep-alive client connection with its buffers.
pub struct Connection {
    stream: Socket,
    input: InBuf,
    scanner: SseScanner,
    /// Timings of the last stream read on this connection.
    pub times: StreamTimes,
    /// The first `SAMPLE_BYTES` of the last body read with `capture_errors` and a non-2xx status.
    pub sample: Vec<u8>,
    /// Body bytes of the last response.
    pub body_bytes: u64,
    /// Bytes read since the last `take_received` (heads and bodies, after TLS).
    received: u64,
}

impl Connection {
    /// Connects (TCP_NODELAY, then the TLS handshake with `tls`).
    pub async fn open(addr: SocketAddr, tls: Option<&Tls>) -> Result<Self, ConnectError> {
        Ok(Self {
            stream: Socket::open(addr, tls).await?,
            input: InBuf::with_capacity(16 * 1024),
            scanner: SseScanner::default(),
            times: StreamTimes::default(),
            sample: Vec::new(),
            body_bytes: 0,
            received: 0,
        })
    }

    /// Bytes read since the last call.
    pub fn take_received(&mut self) -> u64 {
        std::mem::take(&mut self.received)
    }

    /// Sends `request` and reads the whole response; with `stream`, a 2xx body is scanned as SSE
    /// into `self.times`; with `capture_errors`, a non-2xx body's start is kept in `self.sample`.
    pub async fn exchange(
        &mut self,
        request: Rc<Vec<u8>>,
        stream: bool,
        capture_errors: bool,
    ) -> Result<Response, ExchangeError> {
        self.times.reset();
        self.scanner.reset();
        self.sample.clear();
        self.body_bytes = 0;
        let (written, _) = self.stream.write_all(request).await;
        written?;
        let (status, framing, keep_alive) = self.read_head().await?;
        let ok = (200..300).contains(&status);
        let read = Reading {
            scan: stream && ok,
            capture: capture_errors && !ok,
        };
        self.read_body(framing, read).await?;
        Ok(Response {
            status,
            keep_alive: keep_alive && framing != Framing::UntilClose,
        })
    }

    /// One read into the input buffer, counted.
    async fn fill(&mut self) -> io::Result<usize> {
        let n = self.input.fill(&mut self.stream).await?;
        self.received += n as u64;
        Ok(n)
    }

    async fn read_head(&mut self) -> Result<(u16, Framing, bool), ExchangeError> {
        loop {
            if !self.input.data().is_empty() {
                let mut headers = [httparse::EMPTY_HEADER; wire::MAX_HEADERS];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(self.input.data()) {
                    Ok(httparse::Status::Complete(len)) => {
                        let status = response.code.unwrap_or(0);
                        let headers = &*response.headers;
                        let framing = match status {
                            100..=199 | 204 | 304 => Framing::Empty,
                            _ => wire::framing(headers, Framing::UntilClose)?,
                        };
                        let keep_alive = if response.version == Some(0) {
                            wire::header_has_token(headers, "connection", "keep-alive")
                        } else {
                            !wire::header_has_token(headers, "connection", "close")
                        };
                        self.input.consume(len);
                        if (100..200).contains(&status) {
                            continue;
                        }
                        return Ok((status, framing, keep_alive));
                    }
                    Ok(httparse::Status::Partial)
                        if self.input.data().len() > wire::MAX_HEAD_BYTES =>
                    {
                        return Err(WireError::HeadTooLarge(wire::MAX_HEAD_BYTES).into());
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(_) => return Err(WireError::BadHead("unparsable response head").into()),
                }
            }
            if self.fill().await? == 0 {
                return Err(ExchangeError::Closed);
            }
        }
    }

    async fn read_body(&mut self, framing: Framing, read: Reading) -> Result<(), ExchangeError> {
        let mut decoder = ChunkedDecoder::default();
        let mut remaining = match framing {
            Framing::Empty => return Ok(()),
            Framing::Length(n) => n,
            Framing::Chunked | Framing::UntilClose => u64::MAX,
        };
        let mut now = Instant::now();
        loop {
            let data_len = self.input.data().len();
            let step = match framing {
                Framing::Chunked => decoder.step(self.input.data())?,
                _ if data_len == 0 => ChunkStep::NeedMore,
                _ => ChunkStep::Data(
                    usize::try_from(remaining).map_or(data_len, |r| r.min(data_len)),
                ),
            };
            match step {
                ChunkStep::NeedMore => {
                    if self.fill().await? == 0 {
                        return match framing {
                            Framing::UntilClose => Ok(()),
                            _ => Err(ExchangeError::Closed),
                        };
                    }
                    now = Instant::now();
                }
                ChunkStep::Skip(n) => self.input.consume(n),
                ChunkStep::Data(n) => {
                    let data = &self.input.data()[..n];
                    if read.scan {
                        let times = &mut self.times;
                        self.scanner.feed(data, |event| times.on_event(event, now));
                    }
                    if read.capture {
                        let room = SAMPLE_BYTES.saturating_sub(self.sample.len());
                        self.sample.extend_from_slice(&data[..n.min(room)]);
                    }
                    self.body_bytes += n as u64;
                    self.input.consume(n);
                    if framing != Framing::Chunked {
                        remaining -= n as u64;
                        if remaining == 0 {
                            return Ok(());
                        }
                    }
                }
                ChunkStep::Done(n) => {
                    self.input.consume(n);
                    return Ok(());
                }
            }
        }
    }
}
