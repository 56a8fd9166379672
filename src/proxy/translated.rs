//! Delivers a translated response: a whole body read, translated and answered with its
//! length, or an event stream translated and forwarded as each upstream read arrives.

use super::attempt::Answer;
use super::client::{read_append, ClientConn};
use super::forward::{ClientSide, Keep};
use super::io::{race, Raced};
use super::observe::{RequestLog, ResponseTap};
use super::plan::PlannedStep;
use super::plan_translated::Translation;
use super::send::ClientWriter;
use super::translators::{translate_body, StreamTranslator};
use super::Worker;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{write_chunk_header, ChunkedDecoder, HeadWriter, HttpError, ResponseFraming};
use crate::http::{ResponseHead, LAST_CHUNK};
use crate::observe::metrics::TimeoutKind;
use crate::upstream::Conn;
use monoio::io::{AsyncWriteRentExt, CancelableAsyncReadRent, Canceller};
use std::pin::pin;
use std::time::{Duration, UNIX_EPOCH};

/// A translated non-streamed body is held whole; past this it is refused (502).
const MAX_TRANSLATED_BODY: usize = 32 * 1024 * 1024;
const WATCH_BUF: usize = 4 * 1024;

pub async fn deliver_translated(
    worker: &Worker,
    client: &mut ClientConn,
    step: &PlannedStep,
    translation: Translation,
    answer: Answer,
    side: ClientSide,
    log: &mut RequestLog,
) -> Keep {
    let created = worker
        .controls
        .clock
        .wall()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let Answer {
        conn, head, rest, ..
    } = answer;
    let close = side.close || worker.drain.is_draining();
    let ok = (200..300).contains(&head.status);
    if ok && translation.stream() && !step.request.is_head {
        let mut tap = log.tap_for(Some(b"text/event-stream"));
        let stream = TranslatedStream {
            translator: StreamTranslator::new(translation, created),
            // An HTTP/1.0 client sees the end of the stream by the close.
            chunked: !side.http10,
            close: close || side.http10,
            tap: &mut tap,
        };
        let keep = stream.run(worker, client, step, conn, head, rest).await;
        log.outcome.stream = true;
        log.outcome.tap = tap;
        return keep;
    }
    let (body, conn) = match read_whole(worker, conn, head.framing, rest).await {
        Ok(whole) => whole,
        Err(err) => {
            let _ = client.write_error(&err, true).await;
            return Keep::Close;
        }
    };
    let written = match translate_body(translation, head.status, &body, created) {
        Ok(translated) => {
            // The log keeps the upstream's body, as for a stream (its `usage` is read
            // the same): what the translation left out of the client's body stays there.
            let mut tap = log.tap_for(Some(b"application/json"));
            tap.push(&body);
            log.outcome.tap = tap;
            client.write_json(head.status, &translated, close).await
        }
        Err(why) => {
            let err = GatewayError::new(
                ErrorCode::UpstreamFailed,
                format!("cannot translate the upstream response: {why}"),
            );
            client.write_error(&err, close).await
        }
    };
    if let Some(conn) = conn.filter(|_| head.keep_alive) {
        worker.upstream.checkin(&step.request.peer, conn);
    }
    match written {
        Ok(()) if !close => Keep::Open,
        _ => Keep::Close,
    }
}

/// The upstream body's framing, removed: what the translator reads is the body only.
enum Deframer {
    Length(u64),
    Chunked(ChunkedDecoder),
    Close,
}

impl Deframer {
    fn new(framing: ResponseFraming) -> Self {
        match framing {
            ResponseFraming::Empty => Deframer::Length(0),
            ResponseFraming::Length(n) => Deframer::Length(n),
            ResponseFraming::Chunked => Deframer::Chunked(ChunkedDecoder::new()),
            ResponseFraming::Close => Deframer::Close,
        }
    }

    /// Passes the body bytes of `input` to `on_data`: (bytes consumed, body done).
    fn feed(
        &mut self,
        input: &[u8],
        mut on_data: impl FnMut(&[u8]),
    ) -> Result<(usize, bool), HttpError> {
        match self {
            Deframer::Length(remaining) => {
                let used = usize::try_from(*remaining).map_or(input.len(), |r| r.min(input.len()));
                if used > 0 {
                    on_data(&input[..used]);
                }
                *remaining -= used as u64;
                Ok((used, *remaining == 0))
            }
            Deframer::Chunked(decoder) => {
                decoder.feed(input, on_data).map(|p| (p.consumed, p.done))
            }
            Deframer::Close => {
                on_data(input);
                Ok((input.len(), false))
            }
        }
    }

    fn done_at_start(&self) -> bool {
        matches!(self, Deframer::Length(0))
    }
}

/// Reads the whole upstream body; the connection comes back when it may be pooled. An
/// upstream silent past `stream_idle_timeout_s` is 504 (the client has seen nothing yet).
async fn read_whole(
    worker: &Worker,
    mut conn: Conn,
    framing: ResponseFraming,
    first: Vec<u8>,
) -> Result<(Vec<u8>, Option<Conn>), GatewayError> {
    let failed = |why: String| GatewayError::new(ErrorCode::UpstreamFailed, why);
    let idle = idle_timeout(worker);
    let mut deframer = Deframer::new(framing);
    let mut body = Vec::new();
    let mut buf = first;
    let mut done = deframer.done_at_start();
    let mut clean = buf.is_empty();
    while !done {
        let (used, end) = deframer
            .feed(&buf, |d| body.extend_from_slice(d))
            .map_err(|e| failed(format!("invalid upstream body: {e}")))?;
        if body.len() > MAX_TRANSLATED_BODY {
            return Err(failed("upstream body too large to translate".into()));
        }
        if end {
            clean = used == buf.len();
            break;
        }
        buf.clear();
        let Ok(read) = monoio::time::timeout(idle, read_append(&mut conn, &mut buf)).await else {
            worker.metrics.count_timeout(TimeoutKind::UpstreamIdle);
            return Err(GatewayError::new(
                ErrorCode::UpstreamTimeout,
                format!("upstream body stalled for {} s", idle.as_secs()),
            ));
        };
        match read {
            Ok(0) if matches!(deframer, Deframer::Close) => {
                done = true;
                clean = false;
            }
            Ok(0) | Err(_) => return Err(failed("upstream closed mid-body".into())),
            Ok(_) => {}
        }
    }
    let poolable = clean && !matches!(deframer, Deframer::Close);
    Ok((body, poolable.then_some(conn)))
}

fn idle_timeout(worker: &Worker) -> Duration {
    Duration::from_secs(worker.settings.upstream.stream_idle_timeout_s)
}

/// One translated event stream on its way to the client.
struct TranslatedStream<'t> {
    translator: StreamTranslator,
    chunked: bool,
    close: bool,
    /// Sees the provider's own events (its usage) as they are translated.
    tap: &'t mut ResponseTap,
}

/// How the upstream body ended.
enum End {
    /// Whole; `true`: nothing followed it (the connection may be pooled).
    Clean(bool),
    Cut,
    ClientGone,
}

impl TranslatedStream<'_> {
    async fn run(
        mut self,
        worker: &Worker,
        client: &mut ClientConn,
        step: &PlannedStep,
        mut conn: Conn,
        head: ResponseHead,
        first: Vec<u8>,
    ) -> Keep {
        let mut w = HeadWriter::new();
        w.status_line(head.status)
            .header("content-type", b"text/event-stream")
            .header("cache-control", b"no-cache");
        if self.chunked {
            w.header("transfer-encoding", b"chunked");
        }
        for (name, value) in client.ids.headers() {
            w.header(name, value);
        }
        if self.close {
            w.header("connection", b"close");
        }
        let Ok(head_bytes) = w.finish() else {
            return Keep::Close;
        };
        if client.write_all(head_bytes).await.is_err() {
            return Keep::Close;
        }
        let mut deframer = Deframer::new(head.framing);
        let end = self
            .pump(worker, client, &mut conn, &mut deframer, first)
            .await;
        let pooled = match end {
            End::Clean(nothing_after) => {
                let mut out = Vec::new();
                let complete = self.translator.finish(&mut out);
                if self.write_events(client, out).await.is_err() {
                    return Keep::Close;
                }
                if !complete {
                    return Keep::Close;
                }
                if self.chunked && client.write_all(LAST_CHUNK.to_vec()).await.is_err() {
                    return Keep::Close;
                }
                nothing_after && head.keep_alive && !matches!(deframer, Deframer::Close)
            }
            // The client's stream is left without its end, as the upstream's was.
            End::Cut | End::ClientGone => return Keep::Close,
        };
        if pooled {
            worker.upstream.checkin(&step.request.peer, conn);
        }
        if self.close {
            Keep::Close
        } else {
            Keep::Open
        }
    }

    /// Reads, translates and writes until the upstream body ends, watching the client
    /// for a hang-up meanwhile (pipelined bytes it reads are kept for the next request).
    async fn pump(
        &mut self,
        worker: &Worker,
        client: &mut ClientConn,
        conn: &mut Conn,
        deframer: &mut Deframer,
        first: Vec<u8>,
    ) -> End {
        if deframer.done_at_start() {
            return End::Clean(first.is_empty());
        }
        let ClientConn {
            reader,
            writer,
            input,
            ..
        } = client;
        let canceller = Canceller::new();
        let mut watch =
            pin!(reader.cancelable_read(Vec::with_capacity(WATCH_BUF), canceller.handle()));
        let mut watch_done = false;
        let mut buf = first;
        let idle = idle_timeout(worker);
        let end = loop {
            if !buf.is_empty() {
                let mut out = Vec::new();
                let (translator, tap) = (&mut self.translator, &mut *self.tap);
                let fed = deframer.feed(&buf, |data| {
                    tap.push(data);
                    translator.feed(data, &mut out)
                });
                let Ok((used, done)) = fed else {
                    break End::Cut;
                };
                if write_events(self.chunked, writer, out).await.is_err() {
                    break End::ClientGone;
                }
                if done {
                    break End::Clean(used == buf.len());
                }
                buf.clear();
            }
            let mut read = pin!(monoio::time::timeout(idle, read_append(conn, &mut buf)));
            let timed = if watch_done {
                read.await
            } else {
                match race(read.as_mut(), watch.as_mut()).await {
                    Raced::Left(r) => r,
                    Raced::Right((res, got)) => {
                        watch_done = true;
                        match res {
                            Ok(n) if n > 0 => input.extend_from_slice(&got[..n]),
                            // Hung up: dropping the read and the connection closes the upstream.
                            _ => break End::ClientGone,
                        }
                        // The upstream read was left pending, not dropped: finish it.
                        read.await
                    }
                }
            };
            let Ok(res) = timed else {
                worker.metrics.count_timeout(TimeoutKind::UpstreamIdle);
                break End::Cut;
            };
            match res {
                Ok(0) if matches!(deframer, Deframer::Close) => break End::Clean(false),
                Ok(0) | Err(_) => break End::Cut,
                Ok(_) => {}
            }
        };
        if !watch_done {
            let _ = canceller.cancel();
            let (res, got) = watch.as_mut().await;
            match res {
                Ok(0) => return End::ClientGone,
                Ok(n) => input.extend_from_slice(&got[..n]),
                Err(_) => {}
            }
        }
        end
    }

    async fn write_events(&self, client: &mut ClientConn, out: Vec<u8>) -> std::io::Result<()> {
        write_events(self.chunked, &mut client.writer, out).await
    }
}

/// Writes translated events, as one chunk for a chunked client; nothing if empty.
async fn write_events(
    chunked: bool,
    writer: &mut ClientWriter,
    out: Vec<u8>,
) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let bytes = if chunked {
        let mut framed = Vec::with_capacity(out.len() + 12);
        write_chunk_header(out.len(), &mut framed);
        framed.extend_from_slice(&out);
        framed.extend_from_slice(b"\r\n");
        framed
    } else {
        out
    };
    writer.write_all(bytes).await.0.map(|_| ())
}
