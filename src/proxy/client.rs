//! The client side of one connection: its two socket halves and the bytes read
//! but not yet consumed (the start of the next pipelined request, a body, ...).

use super::request_log::RequestIds;
use super::send::ClientWriter;
use super::Worker;
use crate::error::{ErrorShape, GatewayError};
use crate::http::HeadWriter;
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt, OwnedReadHalf, Splitable};
use monoio::net::TcpStream;
use std::io;
use std::time::Duration;

/// How much to grow the input buffer by when it is nearly full.
const READ_CHUNK: usize = 16 * 1024;

pub struct ClientConn {
    pub reader: OwnedReadHalf<TcpStream>,
    /// Every write is bounded by `client_send_timeout_s`.
    pub writer: ClientWriter,
    /// Bytes received and not yet consumed by the parser.
    pub input: Vec<u8>,
    /// The shape of the gateway's errors for the current request (by its endpoint).
    pub error_shape: ErrorShape,
    /// The ids every response to the current request carries (`cf-aig-log-id`, ...),
    /// decided before its head is written.
    pub ids: RequestIds,
    /// The current request is HTTP/1.0 (a kept-alive answer then says so).
    pub http10: bool,
}

impl ClientConn {
    pub fn new(stream: TcpStream, worker: &Worker) -> Self {
        let (reader, writer) = stream.into_split();
        let send_timeout = Duration::from_secs(worker.settings.server.client_send_timeout_s);
        ClientConn {
            reader,
            writer: ClientWriter::new(writer, send_timeout, worker.metrics.clone()),
            input: Vec::with_capacity(READ_CHUNK),
            error_shape: ErrorShape::OpenAi,
            ids: RequestIds::default(),
            http10: false,
        }
    }

    /// Appends what the socket has to `input`; `Ok(0)` means the client closed.
    pub async fn read_more(&mut self) -> io::Result<usize> {
        read_append(&mut self.reader, &mut self.input).await
    }

    /// Drops the first `n` input bytes (a parsed head or body).
    pub fn consume(&mut self, n: usize) {
        self.input.drain(..n.min(self.input.len()));
    }

    pub async fn write_all(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        let (res, _) = self.writer.write_all(bytes).await;
        res.map(|_| ())
    }

    /// Writes a gateway error as JSON (SPEC section 7).
    pub async fn write_error(&mut self, err: &GatewayError, close: bool) -> io::Result<()> {
        self.write_error_with(err, close, &[]).await
    }

    /// Writes a gateway error with extra response headers (and its own `Retry-After`).
    pub async fn write_error_with(
        &mut self,
        err: &GatewayError,
        close: bool,
        extra: &[(&str, &[u8])],
    ) -> io::Result<()> {
        let body = err.body(self.error_shape);
        let Some(secs) = err.retry_after_s.map(|s| s.to_string()) else {
            return self.write_json_with(err.status, &body, close, extra).await;
        };
        let mut headers = extra.to_vec();
        if !extra
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
        {
            headers.push(("retry-after", secs.as_bytes()));
        }
        self.write_json_with(err.status, &body, close, &headers)
            .await
    }

    /// Writes a complete JSON response made by the gateway.
    pub async fn write_json(&mut self, status: u16, body: &[u8], close: bool) -> io::Result<()> {
        self.write_json_with(status, body, close, &[]).await
    }

    /// [`Self::write_json`] with `extra` headers after the content ones.
    pub async fn write_json_with(
        &mut self,
        status: u16,
        body: &[u8],
        close: bool,
        extra: &[(&str, &[u8])],
    ) -> io::Result<()> {
        let mut head = HeadWriter::new();
        head.status_line(status)
            .header("content-type", b"application/json")
            .content_length(body.len() as u64);
        for (name, value) in extra {
            head.header(name, value);
        }
        for (name, value) in self.ids.headers() {
            head.header(name, value);
        }
        head.connection(close, self.http10);
        let mut bytes = head.finish().map_err(io::Error::other)?;
        bytes.extend_from_slice(body);
        self.write_all(bytes).await
    }
}

/// Reads once into the spare capacity of `buf`, growing it first when nearly full.
pub async fn read_append<R: AsyncReadRent>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.capacity() - buf.len() < READ_CHUNK / 4 {
        buf.reserve(READ_CHUNK);
    }
    let owned = std::mem::take(buf);
    let (len, cap) = (owned.len(), owned.capacity());
    let (res, slice) = reader.read(owned.slice_mut(len..cap)).await;
    *buf = slice.into_inner();
    res
}
