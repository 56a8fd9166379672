//! Streams a response body from upstream to client as it arrives: each upstream read
//! is written at once from the same buffer, while the client socket is watched for a hang-up.

use super::cached::BodyCapture;
use super::client::ClientConn;
use super::io::{race, Raced};
use super::observe::ResponseTap;
use super::send::ClientWriter;
use super::usage_strip::{deliver_stripped, UsageChunkStrip};
use super::Worker;
use crate::http::{write_chunk_header, ChunkedDecoder, ResponseFraming, LAST_CHUNK};
use crate::observe::metrics::TimeoutKind;
use crate::upstream::Conn;
use monoio::buf::IoBuf;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt, CancelableAsyncReadRent, Canceller};
use std::pin::pin;
use std::time::Duration;

const READ_BUF: usize = 16 * 1024;
/// How much pipelined input the hang-up watcher takes in one read.
const WATCH_BUF: usize = 4 * 1024;

/// How a body ended.
pub enum BodyEnd {
    /// Fully delivered; `conn` is returned when it may be pooled (nothing after the body).
    Complete { conn: Option<Conn> },
    /// The upstream died or broke framing mid-body: the client's response is left cut.
    Cut,
    /// The client hung up: the upstream connection was dropped (closed) at once.
    ClientGone,
    /// The upstream's framing broke in the bytes that came with its head, before the
    /// client was sent anything: the caller still answers (502).
    MalformedFirst,
}

/// What sees the body bytes as they are forwarded: the cache's copy, when the response
/// may be stored, and the request's observe tap.
pub struct Watchers<'a, 'c> {
    pub capture: Option<&'a mut BodyCapture<'c>>,
    pub tap: &'a mut ResponseTap,
    /// Set when the usage-only chunk is removed: the body is then de-framed, filtered
    /// and framed again (chunked, or ended by close for HTTP/1.0).
    pub strip: Option<&'a mut UsageChunkStrip>,
}

/// How the body is read from upstream and written to the client.
pub(super) enum Mode {
    Length(u64),
    /// Chunked both sides: bytes pass through; the decoder only finds the end.
    ChunkedPass(ChunkedDecoder),
    /// Chunked upstream, HTTP/1.0 client: decoded, ended by close.
    ChunkedDecode(ChunkedDecoder),
    /// Close-delimited upstream, HTTP/1.1 client: each read becomes one chunk.
    CloseToChunked,
    /// Close-delimited both sides.
    CloseRaw,
}

/// What one piece of upstream bytes did.
pub(super) struct Step {
    /// Bytes of the piece that belong to this body.
    pub used: usize,
    pub done: bool,
}

/// The upstream side of a body: its connection, framing, and the bytes read with the head.
pub struct UpstreamBody {
    pub conn: Conn,
    pub framing: ResponseFraming,
    pub first: Vec<u8>,
}

/// Forwards the body; an upstream silent for `upstream.stream_idle_timeout_s` between
/// reads is cut (counted), like an upstream that died.
pub async fn stream_body(
    worker: &Worker,
    client: &mut ClientConn,
    upstream: UpstreamBody,
    head: Vec<u8>,
    http10: bool,
    watchers: Watchers<'_, '_>,
) -> BodyEnd {
    let Watchers {
        mut capture,
        tap,
        mut strip,
    } = watchers;
    let UpstreamBody {
        mut conn,
        framing,
        first,
    } = upstream;
    let idle = Duration::from_secs(worker.settings.upstream.stream_idle_timeout_s);
    let mut mode = match (framing, http10) {
        (ResponseFraming::Empty, _) | (ResponseFraming::Length(0), _) => {
            let (res, _) = client.writer.write_all(head).await;
            if res.is_err() {
                return BodyEnd::ClientGone;
            }
            return BodyEnd::Complete {
                conn: first.is_empty().then_some(conn),
            };
        }
        (ResponseFraming::Length(n), _) => Mode::Length(n),
        (ResponseFraming::Chunked, false) => Mode::ChunkedPass(ChunkedDecoder::new()),
        (ResponseFraming::Chunked, true) => Mode::ChunkedDecode(ChunkedDecoder::new()),
        (ResponseFraming::Close, false) => Mode::CloseToChunked,
        (ResponseFraming::Close, true) => Mode::CloseRaw,
    };
    let ClientConn {
        reader,
        writer,
        input,
        ..
    } = client;
    // The head goes out with the first body bytes (one write, one segment) when they
    // came with it; otherwise at once, so the client sees the status without waiting.
    let mut head = Some(head);
    if first.is_empty() {
        if let Some(h) = head.take() {
            if writer.write_all(h).await.0.is_err() {
                return BodyEnd::ClientGone;
            }
        }
    }
    let mut buf = first;
    if buf.capacity() < READ_BUF {
        buf.reserve(READ_BUF - buf.len());
    }
    // The hang-up watcher starts only if we must wait on upstream; a response that
    // came whole with its head never needs it.
    let canceller = Canceller::new();
    let mut watch = pin!(reader.cancelable_read(Vec::with_capacity(WATCH_BUF), canceller.handle()));
    let mut watching = false;
    let mut watch_done = false;
    loop {
        if !buf.is_empty() {
            let head_unsent = head.is_some();
            let delivered = match strip.as_deref_mut() {
                Some(strip) => {
                    let watchers = Watchers {
                        capture: capture.as_deref_mut(),
                        tap: &mut *tap,
                        strip: Some(strip),
                    };
                    let out = (head.take(), !http10);
                    deliver_stripped(&mut mode, writer, out, buf, watchers).await
                }
                None => {
                    let capture = capture.as_deref_mut();
                    deliver(&mut mode, writer, head.take(), buf, capture, tap).await
                }
            };
            let step = match delivered {
                Ok((step, back)) => {
                    buf = back;
                    step
                }
                // Decoders fail with InvalidData before they write; writes fail otherwise.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData && head_unsent => {
                    return BodyEnd::MalformedFirst
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return BodyEnd::Cut,
                Err(_) => return BodyEnd::ClientGone,
            };
            if step.done {
                let clean = step.used == buf.len();
                if watching && !watch_done {
                    let _ = canceller.cancel();
                    let (res, got) = watch.as_mut().await;
                    match res {
                        Ok(0) => return BodyEnd::ClientGone,
                        Ok(n) => input.extend_from_slice(&got[..n]),
                        Err(_) => {}
                    }
                }
                return BodyEnd::Complete {
                    conn: clean.then_some(conn),
                };
            }
            buf.clear();
        }
        let mut read = pin!(monoio::time::timeout(idle, conn.read(buf)));
        let timed = if watch_done {
            read.await
        } else {
            watching = true;
            match race(read.as_mut(), watch.as_mut()).await {
                Raced::Left(r) => r,
                Raced::Right((res, got)) => {
                    watch_done = true;
                    match res {
                        // Pipelined bytes of the next request: keep them, stop watching.
                        Ok(n) if n > 0 => input.extend_from_slice(&got[..n]),
                        // Hung up: dropping the read and the connection closes the upstream.
                        _ => return BodyEnd::ClientGone,
                    }
                    // The upstream read was left pending, not dropped: finish it.
                    read.await
                }
            }
        };
        let Ok((res, back)) = timed else {
            // Dropping the connection with its read closes the upstream.
            worker.metrics.count_timeout(TimeoutKind::UpstreamIdle);
            return BodyEnd::Cut;
        };
        buf = back;
        match res {
            Ok(0) | Err(_) => {
                let tail = strip.map(|s| {
                    let mut tail = Vec::new();
                    s.finish(&mut tail);
                    tail
                });
                return finish_at_eof(&mode, writer, res.is_ok(), capture, tail).await;
            }
            Ok(_) => {}
        }
    }
}

/// Writes one piece to the client according to the mode.
async fn deliver(
    mode: &mut Mode,
    writer: &mut ClientWriter,
    head: Option<Vec<u8>>,
    buf: Vec<u8>,
    mut capture: Option<&mut BodyCapture<'_>>,
    tap: &mut ResponseTap,
) -> std::io::Result<(Step, Vec<u8>)> {
    let len = buf.len();
    // Bytes to write before this piece: the response head, on the first piece only.
    let mut out = head.unwrap_or_default();
    // Chunked bodies are captured decoded (the decoder hands out the data); others as read.
    // The tap sees the same bytes (usage, size, first byte) before they are written.
    let mut keep = |data: &[u8]| {
        tap.push(data);
        if let Some(c) = capture.as_deref_mut() {
            c.push(data);
        }
    };
    let step = match mode {
        Mode::Length(remaining) => {
            let used = (*remaining).min(len as u64) as usize;
            *remaining -= used as u64;
            keep(&buf[..used]);
            Step {
                used,
                done: *remaining == 0,
            }
        }
        Mode::ChunkedPass(decoder) => {
            let p = decoder
                .feed(&buf, &mut keep)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            Step {
                used: p.consumed,
                done: p.done,
            }
        }
        Mode::ChunkedDecode(decoder) => {
            let p = decoder
                .feed(&buf, |d| {
                    keep(d);
                    out.extend_from_slice(d)
                })
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            if p.done {
                complete(capture);
            }
            let (res, _) = writer.write_all(out).await;
            res?;
            return Ok((
                Step {
                    used: p.consumed,
                    done: p.done,
                },
                buf,
            ));
        }
        Mode::CloseToChunked => {
            keep(&buf);
            write_chunk_header(len, &mut out);
            out.extend_from_slice(&buf);
            out.extend_from_slice(b"\r\n");
            let (res, _) = writer.write_all(out).await;
            res?;
            return Ok((
                Step {
                    used: len,
                    done: false,
                },
                buf,
            ));
        }
        Mode::CloseRaw => {
            keep(&buf);
            Step {
                used: len,
                done: false,
            }
        }
    };
    if step.done {
        complete(capture);
    }
    if !out.is_empty() {
        // First piece: head and body bytes in one write (a copy of at most one read).
        out.extend_from_slice(&buf[..step.used]);
        let (res, _) = writer.write_all(out).await;
        res?;
        return Ok((step, buf));
    }
    if step.used == 0 {
        return Ok((step, buf));
    }
    let (res, slice) = writer.write_all(buf.slice(0..step.used)).await;
    res?;
    Ok((step, slice.into_inner()))
}

/// The body is whole: store the copy before its last bytes go out (see `BodyCapture`).
pub(super) fn complete(capture: Option<&mut BodyCapture<'_>>) {
    if let Some(capture) = capture {
        capture.complete();
    }
}

/// Upstream EOF or error: the natural end of a close-delimited body, a cut otherwise.
async fn finish_at_eof(
    mode: &Mode,
    writer: &mut ClientWriter,
    clean_eof: bool,
    mut capture: Option<&mut BodyCapture<'_>>,
    stripped_tail: Option<Vec<u8>>,
) -> BodyEnd {
    // A stripped stream's unterminated last event still goes out as it came.
    let tail = stripped_tail.unwrap_or_default();
    if matches!(mode, Mode::CloseToChunked | Mode::CloseRaw) && clean_eof {
        if let Some(c) = capture.as_deref_mut() {
            c.push(&tail);
        }
        complete(capture);
    }
    match mode {
        Mode::CloseToChunked if clean_eof => {
            let mut out = Vec::new();
            if !tail.is_empty() {
                write_chunk_header(tail.len(), &mut out);
                out.extend_from_slice(&tail);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(LAST_CHUNK);
            let (res, _) = writer.write_all(out).await;
            match res {
                Ok(_) => BodyEnd::Complete { conn: None },
                Err(_) => BodyEnd::ClientGone,
            }
        }
        Mode::CloseRaw if clean_eof => match writer.write_all(tail).await.0 {
            Ok(_) => BodyEnd::Complete { conn: None },
            Err(_) => BodyEnd::ClientGone,
        },
        _ => BodyEnd::Cut,
    }
}
