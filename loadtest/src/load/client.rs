//! One load-generator connection: send the pre-rendered request, read the response head and body
//! (length, chunked or until close) and, in stream mode, time the SSE events as they arrive.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use monoio::io::AsyncWriteRentExt;
use monoio::net::TcpStream;
use monoio::time::Instant;

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

/// The end of one exchange.
#[derive(Debug, Clone, Copy)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Whether the connection can carry the next request.
    pub keep_alive: bool,
}

/// A keep-alive client connection with its buffers.
pub struct Connection {
    stream: TcpStream,
    input: InBuf,
    scanner: SseScanner,
    /// Timings of the last stream read on this connection.
    pub times: StreamTimes,
}

impl Connection {
    /// Connects with TCP_NODELAY.
    pub async fn open(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_addr(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            input: InBuf::with_capacity(16 * 1024),
            scanner: SseScanner::default(),
            times: StreamTimes::default(),
        })
    }

    /// Sends `request` and reads the whole response; with `stream`, a 2xx body is scanned as SSE
    /// into `self.times`.
    pub async fn exchange(
        &mut self,
        request: Rc<Vec<u8>>,
        stream: bool,
    ) -> Result<Response, ExchangeError> {
        self.times.reset();
        self.scanner.reset();
        let (written, _) = self.stream.write_all(request).await;
        written?;
        let (status, framing, keep_alive) = self.read_head().await?;
        let scan = stream && (200..300).contains(&status);
        self.read_body(framing, scan).await?;
        Ok(Response {
            status,
            keep_alive: keep_alive && framing != Framing::UntilClose,
        })
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
            if self.input.fill(&mut self.stream).await? == 0 {
                return Err(ExchangeError::Closed);
            }
        }
    }

    async fn read_body(&mut self, framing: Framing, scan: bool) -> Result<(), ExchangeError> {
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
                    if self.input.fill(&mut self.stream).await? == 0 {
                        return match framing {
                            Framing::UntilClose => Ok(()),
                            _ => Err(ExchangeError::Closed),
                        };
                    }
                    now = Instant::now();
                }
                ChunkStep::Skip(n) => self.input.consume(n),
                ChunkStep::Data(n) => {
                    if scan {
                        let times = &mut self.times;
                        self.scanner
                            .feed(&self.input.data()[..n], |event| times.on_event(event, now));
                    }
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
