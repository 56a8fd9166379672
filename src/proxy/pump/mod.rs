//! The one response pump: upstream reads -> decoder -> filter -> encoder -> one client
//! write per read. It alone watches the client for a hang-up and decides how a body ended.

// Every upstream body goes through `Pump::run`: plain pass-through, usage-stripped,
// re-framed for HTTP/1.0 or close-delimited upstreams, translated streams, and the whole
// bodies a translation answers from (`Output::Collect`: read, nothing sent). When the
// client's framing is the upstream's and nothing changes bytes (`Output::Verbatim`), the
// bytes read are the bytes written, from the same buffer. An event stream is scanned
// once, here: the tap (usage) and the filter (strip, translator) see the same events.

mod framing;

pub use framing::{Decoder, Encoder, Fed};

use super::cached::BodyCapture;
use super::client::ClientConn;
use super::io::{race, Raced};
use super::response_tap::ResponseTap;
use super::send::ClientWriter;
use super::Worker;
use crate::observe::metrics::TimeoutKind;
use crate::sse::{EventFilter, SseScanner};
use crate::upstream::Conn;
use monoio::buf::IoBuf;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt, CancelableAsyncReadRent, Canceller};
use std::io;
use std::pin::pin;
use std::time::Duration;

const READ_BUF: usize = 16 * 1024;
/// How much pipelined input the hang-up watcher takes in one read.
const WATCH_BUF: usize = 4 * 1024;

/// How a body ended.
pub enum BodyEnd {
    /// Fully delivered; `conn` is returned when it may be pooled (nothing after the body).
    Complete { conn: Option<Conn> },
    /// The upstream died or broke framing mid-body, or a filter's output was not whole:
    /// the client's response is left cut.
    Cut,
    /// The upstream went silent for `stream_idle_timeout_s` (counted); dropped.
    Stalled,
    /// A collected body grew past its limit; the upstream connection was dropped.
    TooLarge,
    /// The client hung up: the upstream connection was dropped (closed) at once.
    ClientGone,
    /// The upstream's framing broke in the bytes that came with its head, before the
    /// client was sent anything: the caller still answers (502).
    MalformedFirst,
}

/// The upstream side of a body: its connection and the bytes read with the head.
pub struct UpstreamBody {
    pub conn: Conn,
    pub first: Vec<u8>,
}

/// What the client gets.
pub enum Output<'a> {
    /// Nothing yet: the decoded body is kept whole in `body` (up to `limit` bytes) for
    /// the caller to answer with (a translated JSON body). The head given is not sent.
    Collect { body: &'a mut Vec<u8>, limit: usize },
    /// The upstream's bytes as read: only when the client's framing is the upstream's.
    Verbatim,
    /// The decoded body, through `filter` when there is one, framed by `encoder`.
    Reframed {
        filter: Option<&'a mut dyn EventFilter>,
        encoder: Encoder,
    },
}

/// One body on its way from upstream to client.
pub struct Pump<'a, 'c> {
    pub decoder: Decoder,
    pub output: Output<'a>,
    /// Sees the upstream's decoded body (size, first byte, usage, the log's copy).
    pub tap: &'a mut ResponseTap,
    /// The cache's copy of what the client gets, when the response may be stored.
    pub capture: Option<&'a mut BodyCapture<'c>>,
}

/// What one piece of upstream bytes did.
struct Piece {
    fed: Fed,
    /// A filter's output was whole at the body's end (always true before it).
    whole: bool,
}

impl Pump<'_, '_> {
    /// Writes `head`, then forwards the body; an upstream silent for
    /// `upstream.stream_idle_timeout_s` between reads is cut (counted), like one that died.
    pub async fn run(
        mut self,
        worker: &Worker,
        client: &mut ClientConn,
        upstream: UpstreamBody,
        head: Vec<u8>,
    ) -> BodyEnd {
        let UpstreamBody { mut conn, first } = upstream;
        let filtered = matches!(
            self.output,
            Output::Reframed {
                filter: Some(_),
                ..
            }
        );
        let mut sse = (filtered || self.tap.is_stream()).then(SseScanner::new);
        let idle = Duration::from_secs(worker.settings.upstream.stream_idle_timeout_s);
        let ClientConn {
            reader,
            writer,
            input,
            ..
        } = client;
        let collecting = matches!(self.output, Output::Collect { .. });
        let head = if collecting { Vec::new() } else { head };
        if self.decoder.done_at_start() {
            let mut out = head;
            let whole = self.end(&mut out);
            if !out.is_empty() && writer.write_all(out).await.0.is_err() {
                return BodyEnd::ClientGone;
            }
            return match whole {
                true => BodyEnd::Complete {
                    conn: first.is_empty().then_some(conn),
                },
                false => BodyEnd::Cut,
            };
        }
        // The head goes out with the first body bytes (one write, one segment) when they
        // came with it; otherwise at once, so the client sees the status without waiting.
        let mut head = (!head.is_empty()).then_some(head);
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
        let mut watch =
            pin!(reader.cancelable_read(Vec::with_capacity(WATCH_BUF), canceller.handle()));
        let mut watching = false;
        let mut watch_done = false;
        loop {
            if !buf.is_empty() {
                let nothing_sent = head.is_some() || collecting;
                let piece = match self.deliver(writer, &mut sse, head.take(), buf).await {
                    Ok((piece, back)) => {
                        buf = back;
                        piece
                    }
                    // The decoder fails with InvalidData before anything is written.
                    Err(e) if e.kind() == io::ErrorKind::InvalidData && nothing_sent => {
                        return BodyEnd::MalformedFirst
                    }
                    Err(e) if e.kind() == io::ErrorKind::FileTooLarge => return BodyEnd::TooLarge,
                    Err(e) if e.kind() == io::ErrorKind::InvalidData => return BodyEnd::Cut,
                    Err(_) => return BodyEnd::ClientGone,
                };
                if piece.fed.done {
                    let clean = piece.fed.used == buf.len();
                    if watching && !watch_done {
                        let _ = canceller.cancel();
                        let (res, got) = watch.as_mut().await;
                        match res {
                            Ok(0) => return BodyEnd::ClientGone,
                            Ok(n) => input.extend_from_slice(&got[..n]),
                            Err(_) => {}
                        }
                    }
                    if !piece.whole {
                        return BodyEnd::Cut;
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
                return BodyEnd::Stalled;
            };
            buf = back;
            match res {
                Ok(0) if self.decoder.ends_by_close() => {
                    let mut out = Vec::new();
                    let whole = self.end(&mut out);
                    if !out.is_empty() && writer.write_all(out).await.0.is_err() {
                        return BodyEnd::ClientGone;
                    }
                    return match whole {
                        true => BodyEnd::Complete { conn: None },
                        false => BodyEnd::Cut,
                    };
                }
                Ok(0) | Err(_) => return BodyEnd::Cut,
                Ok(_) => {}
            }
        }
    }

    /// Writes one piece of upstream bytes to the client (after `head`, on the first).
    async fn deliver(
        &mut self,
        writer: &mut ClientWriter,
        sse: &mut Option<SseScanner>,
        head: Option<Vec<u8>>,
        buf: Vec<u8>,
    ) -> io::Result<(Piece, Vec<u8>)> {
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
        let Pump {
            decoder,
            output,
            tap,
            capture,
        } = self;
        let mut out = head.unwrap_or_default();
        if let Output::Collect { body, limit } = output {
            let fed = decoder
                .feed(&buf, |data| {
                    tap.push(data);
                    body.extend_from_slice(data);
                })
                .map_err(invalid)?;
            if body.len() > *limit {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "body too large",
                ));
            }
            return Ok((Piece { fed, whole: true }, buf));
        }
        let Output::Reframed { filter, encoder } = output else {
            let fed = decoder
                .feed(&buf, |data| {
                    tap.push(data);
                    if let Some(sse) = sse.as_mut() {
                        sse.feed(data, |e| tap.event(e));
                    }
                    if let Some(c) = capture.as_deref_mut() {
                        c.push(data);
                    }
                })
                .map_err(invalid)?;
            if fed.done {
                complete(capture.as_deref_mut());
            }
            let piece = Piece { fed, whole: true };
            if !out.is_empty() {
                // First piece: head and body bytes in one write (a copy of at most one read).
                out.extend_from_slice(&buf[..fed.used]);
                writer.write_all(out).await.0?;
                return Ok((piece, buf));
            }
            if fed.used == 0 {
                return Ok((piece, buf));
            }
            let (res, slice) = writer.write_all(buf.slice(0..fed.used)).await;
            res?;
            return Ok((piece, slice.into_inner()));
        };
        let mut body = Vec::with_capacity(buf.len());
        let fed = decoder
            .feed(&buf, |data| {
                tap.push(data);
                match (filter.as_deref_mut(), sse.as_mut()) {
                    (Some(filter), Some(sse)) => {
                        sse.feed_filter(data, filter, &mut body, |e| tap.event(e));
                    }
                    (_, sse) => {
                        if let Some(sse) = sse {
                            sse.feed(data, |e| tap.event(e));
                        }
                        body.extend_from_slice(data);
                    }
                }
            })
            .map_err(invalid)?;
        let whole = match filter.as_deref_mut() {
            Some(filter) if fed.done => filter.end(&mut body),
            _ => true,
        };
        if let Some(c) = capture.as_deref_mut() {
            c.push(&body);
        }
        if fed.done && whole {
            complete(capture.as_deref_mut());
        }
        encoder.frame(&body, &mut out);
        if fed.done && whole {
            encoder.end(&mut out);
        }
        if !out.is_empty() {
            writer.write_all(out).await.0?;
        }
        Ok((Piece { fed, whole }, buf))
    }

    /// The body ended cleanly (its length reached, or the upstream's close): appends
    /// what is left to write and stores the cache's copy. `false`: not a whole body.
    fn end(&mut self, out: &mut Vec<u8>) -> bool {
        if let Output::Collect { .. } = self.output {
            return true;
        }
        let Output::Reframed { filter, encoder } = &mut self.output else {
            complete(self.capture.as_deref_mut());
            return true;
        };
        let mut tail = Vec::new();
        let whole = filter.as_deref_mut().is_none_or(|f| f.end(&mut tail));
        if let Some(c) = self.capture.as_deref_mut() {
            c.push(&tail);
        }
        encoder.frame(&tail, out);
        if whole {
            complete(self.capture.as_deref_mut());
            encoder.end(out);
        }
        whole
    }
}

/// The body is whole: store the copy before its last bytes go out (see `BodyCapture`).
fn complete(capture: Option<&mut BodyCapture<'_>>) {
    if let Some(capture) = capture {
        capture.complete();
    }
}
