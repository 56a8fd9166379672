//! Answers with a translated response: a whole body read, translated and answered with its
//! length, or an event stream translated and forwarded as each upstream read arrives.

use super::attempt::Answer;
use super::client::ClientConn;
use super::forward::{ClientSide, Keep};
use super::plan::PlannedStep;
use super::pump::{BodyEnd, Decoder, Encoder, Output, Pump, UpstreamBody};
use super::request_log::RequestLog;
use super::response_tap::ResponseTap;
use super::Worker;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{HeadWriter, ResponseHead};
use crate::translate::{translate_body, StreamTranslator, Translation};
use crate::upstream::Conn;
use std::time::UNIX_EPOCH;

/// A translated non-streamed body is held whole; past this it is refused (502).
const MAX_TRANSLATED_BODY: usize = 32 * 1024 * 1024;

pub async fn answer_translated(
    worker: &Worker,
    client: &mut ClientConn,
    step: &PlannedStep,
    translation: &Translation,
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
    let close = side.closes(worker);
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
    // The log keeps the upstream's body, as for a stream (its `usage` is read the
    // same): what the translation leaves out of the client's body stays there.
    let mut tap = log.tap_for(Some(b"application/json"));
    let mut body = Vec::new();
    let pump = Pump {
        decoder: Decoder::new(head.framing),
        output: Output::Collect {
            body: &mut body,
            limit: MAX_TRANSLATED_BODY,
        },
        tap: &mut tap,
        capture: None,
    };
    let upstream = UpstreamBody { conn, first: rest };
    let end = pump.run(worker, client, upstream, Vec::new()).await;
    log.outcome.tap = tap;
    let failed = |why: String| Err(GatewayError::new(ErrorCode::UpstreamFailed, why));
    let read = match end {
        BodyEnd::Complete { conn } => Ok(conn),
        BodyEnd::ClientGone => return Keep::Close,
        BodyEnd::Stalled => Err(GatewayError::new(
            ErrorCode::UpstreamTimeout,
            format!(
                "upstream body stalled for {} s",
                worker.settings.upstream.stream_idle_timeout_s
            ),
        )),
        BodyEnd::TooLarge => failed("upstream body too large to translate".into()),
        BodyEnd::MalformedFirst => failed("invalid upstream body (chunked framing)".into()),
        BodyEnd::Cut => failed("upstream closed mid-body".into()),
    };
    let conn = match read {
        Ok(conn) => conn,
        Err(err) => {
            let _ = client.write_error(&err, true).await;
            return Keep::Close;
        }
    };
    let written = match translate_body(translation, head.status, &body, created) {
        Ok(translated) => {
            let answered_by = step.answered_by();
            client
                .write_json_with(head.status, &translated, close, &answered_by)
                .await
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

/// One translated event stream on its way to the client.
struct TranslatedStream<'t> {
    translator: StreamTranslator,
    chunked: bool,
    close: bool,
    /// Sees the provider's own events (its usage) as they are translated.
    tap: &'t mut ResponseTap,
}

impl TranslatedStream<'_> {
    async fn run(
        mut self,
        worker: &Worker,
        client: &mut ClientConn,
        step: &PlannedStep,
        conn: Conn,
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
        for (name, value) in client.ids.headers().chain(step.answered_by()) {
            w.header(name, value);
        }
        if self.close {
            w.header("connection", b"close");
        }
        let Ok(head_bytes) = w.finish() else {
            return Keep::Close;
        };
        let encoder = match self.chunked {
            true => Encoder::Chunked,
            false => Encoder::Raw,
        };
        let pump = Pump {
            decoder: Decoder::new(head.framing),
            output: Output::Reframed {
                filter: Some(&mut self.translator),
                encoder,
            },
            tap: self.tap,
            capture: None,
        };
        let upstream = UpstreamBody { conn, first };
        match pump.run(worker, client, upstream, head_bytes).await {
            BodyEnd::Complete { conn } => {
                if let Some(conn) = conn.filter(|_| head.keep_alive) {
                    worker.upstream.checkin(&step.request.peer, conn);
                }
            }
            BodyEnd::MalformedFirst => {
                let err = GatewayError::new(
                    ErrorCode::UpstreamFailed,
                    "malformed response body from upstream (chunked framing)",
                );
                let _ = client.write_error(&err, true).await;
                return Keep::Close;
            }
            // The client's stream is left without its end, as the upstream's was.
            BodyEnd::Cut | BodyEnd::Stalled | BodyEnd::TooLarge | BodyEnd::ClientGone => {
                return Keep::Close
            }
        }
        if self.close {
            Keep::Close
        } else {
            Keep::Open
        }
    }
}
