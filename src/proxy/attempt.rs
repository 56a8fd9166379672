//! One step's upstream exchange: attempts with backoff on connection failures, 429 and
//! 5xx, each bounded to its response head by the request and first-byte timeouts.

use super::client::read_append;
use super::io::write_all_parts;
use super::plan::{PlannedStep, UpstreamRequest};
use super::Worker;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{parse_response_head, ResponseHead, MAX_RESPONSE_HEAD_BYTES};
use crate::observe::metrics::TimeoutKind;
use crate::upstream::{Conn, UpstreamError};
use std::time::{Duration, Instant};

/// A response head from upstream, with the connection and any body bytes read with it.
pub struct Answer {
    pub conn: Conn,
    pub head: ResponseHead,
    pub rest: Vec<u8>,
    /// This attempt's time with the upstream: connection, request, wait for the head.
    pub upstream_time: Duration,
}

/// How a step ended. Nothing has been written to the client either way.
// Moved once per step and answered on at once: boxing the answer would cost an
// allocation per request for nothing.
#[allow(clippy::large_enum_variant)]
pub enum StepOutcome {
    /// Send this response to the client.
    Answer(Answer),
    /// The step failed; the next one may answer, else this error is the client's.
    Failed(GatewayError),
}

/// Runs `step`: up to `max_attempts` attempts, waiting the backoff delay between them.
/// `last`: no step follows, so an upstream error response goes to the client as sent;
/// otherwise a response the step's `Fallback` takes fails the step.
pub async fn run_step(worker: &Worker, step: &PlannedStep, last: bool) -> StepOutcome {
    let policy = step.effective.retry;
    let mut attempt = 1;
    loop {
        let more = policy.allows_attempt_after(attempt);
        // With a step to fall back to, a stream has answered only once its body starts
        // (the hosted rule: success is a stream that "successfully starts streaming").
        let timeout = step.effective.request_timeout;
        match timed_exchange(worker, &step.request, timeout, !last).await {
            Ok(answer) if retryable(answer.head.status) && more => {
                // Dropped unread: the connection closes, nothing reached the client.
                log::debug!("upstream answered {}; retrying", answer.head.status);
            }
            Ok(answer) if step.fallback.takes(answer.head.status) && !last => {
                return StepOutcome::Failed(GatewayError::new(
                    ErrorCode::UpstreamFailed,
                    format!("upstream answered {}", answer.head.status),
                ));
            }
            Ok(answer) => return StepOutcome::Answer(answer),
            Err(Failure::Timeout(err)) => return StepOutcome::Failed(err),
            Err(Failure::Error(err)) if more => {
                log::debug!("upstream attempt {attempt} failed ({err}); retrying");
            }
            Err(Failure::Error(err)) => return StepOutcome::Failed(err),
        }
        let delay = policy.delay_before(attempt);
        if !delay.is_zero() {
            monoio::time::sleep(delay).await;
        }
        attempt += 1;
    }
}

/// A 2xx event stream with a body to come.
fn starts_a_stream(head: &ResponseHead) -> bool {
    head.is_event_stream()
        && (200..300).contains(&head.status)
        && !matches!(
            head.framing,
            crate::http::ResponseFraming::Empty | crate::http::ResponseFraming::Length(0)
        )
}

/// Upstream statuses worth another attempt: rate limited or failing.
fn retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

enum Failure {
    /// No response byte within the request timeout: not retried (the next step's turn).
    Timeout(GatewayError),
    Error(GatewayError),
}

/// One attempt under the shorter of the request's own timeout (`request_timeout_ms`, or
/// a header or step config) and `upstream.first_byte_timeout_s`, which always applies.
/// `stream_start`: a 2xx event stream must also send its first body bytes in that time.
async fn timed_exchange(
    worker: &Worker,
    req: &UpstreamRequest,
    timeout: Option<Duration>,
    stream_start: bool,
) -> Result<Answer, Failure> {
    let started = Instant::now();
    let first_byte = Duration::from_secs(worker.settings.upstream.first_byte_timeout_s);
    let (limit, by_request) = match timeout {
        Some(requested) if requested < first_byte => (requested, true),
        _ => (first_byte, false),
    };
    // Dropping the exchange on expiry closes its connection: it is never pooled.
    let answered = async {
        let (mut conn, head, mut rest) = exchange(worker, req).await?;
        if stream_start && rest.is_empty() && starts_a_stream(&head) {
            match read_append(&mut conn, &mut rest).await {
                Ok(n) if n > 0 => {}
                _ => {
                    return Err(GatewayError::new(
                        ErrorCode::UpstreamFailed,
                        "upstream ended the stream before its first byte",
                    ))
                }
            }
        }
        Ok((conn, head, rest))
    };
    let exchanged = match monoio::time::timeout(limit, answered).await {
        Ok(result) => result,
        Err(_) => {
            let message = if by_request {
                format!("upstream sent no response within {} ms", limit.as_millis())
            } else {
                worker.metrics.count_timeout(TimeoutKind::UpstreamFirstByte);
                format!("upstream sent no response within {} s", limit.as_secs())
            };
            return Err(Failure::Timeout(GatewayError::new(
                ErrorCode::UpstreamTimeout,
                message,
            )));
        }
    };
    exchanged
        .map(|(conn, head, rest)| Answer {
            conn,
            head,
            rest,
            upstream_time: started.elapsed(),
        })
        .map_err(Failure::Error)
}

/// Sends the request and reads the response head. A pooled connection that fails
/// before any response byte is retried once on a fresh one, if [`may_resend`].
async fn exchange(
    worker: &Worker,
    req: &UpstreamRequest,
) -> Result<(Conn, ResponseHead, Vec<u8>), GatewayError> {
    let mut fresh = false;
    loop {
        let checkout = if fresh {
            worker.upstream.connect(&req.peer).await
        } else {
            worker.upstream.checkout(&req.peer).await
        }
        .map_err(upstream_error)?;
        let mut conn = checkout.conn;
        let mut parts = Vec::with_capacity(1 + req.body.len());
        parts.push(req.head.clone());
        parts.extend(req.body.iter().cloned());
        let sent_before = conn.bytes_sent();
        let written = write_all_parts(&mut conn, parts).await;
        let mut buf = Vec::with_capacity(16 * 1024);
        let outcome = match written {
            Ok(_) => read_head(&mut conn, &mut buf, req.is_head).await,
            Err(e) => Err(HeadError::Io(e)),
        };
        match outcome {
            Ok(head) => {
                buf.drain(..head.head_len);
                return Ok((conn, head, buf));
            }
            Err(HeadError::Io(e)) if checkout.reused && buf.is_empty() && !fresh => {
                if !may_resend(req, conn.bytes_sent() > sent_before) {
                    return Err(GatewayError::new(
                        ErrorCode::UpstreamFailed,
                        format!(
                            "upstream closed a reused connection after the request was \
                             sent and before a response ({e}); not resent, the upstream may \
                             have acted on it (send an Idempotency-Key header to allow it)"
                        ),
                    ));
                }
                fresh = true;
            }
            Err(HeadError::Io(e)) => {
                return Err(GatewayError::new(
                    ErrorCode::UpstreamFailed,
                    format!("upstream closed before a response: {e}"),
                ))
            }
            Err(HeadError::Invalid(why)) => {
                return Err(GatewayError::new(
                    ErrorCode::UpstreamFailed,
                    format!("invalid response from upstream: {why}"),
                ))
            }
        }
    }
}

/// Whether a request that failed on a reused connection before any response byte is
/// sent again on a new one: when none of it reached the socket (the connection was
/// dead before we wrote), or when sending it twice is harmless or allowed by the client.
/// A POST the upstream may have received and acted on is never sent twice on its own.
fn may_resend(req: &UpstreamRequest, anything_sent: bool) -> bool {
    !anything_sent || req.replayable
}

enum HeadError {
    /// Nothing usable arrived: EOF or a socket error.
    Io(std::io::Error),
    Invalid(String),
}

/// Reads until a final (non-1xx) response head is complete.
async fn read_head(
    conn: &mut Conn,
    buf: &mut Vec<u8>,
    is_head: bool,
) -> Result<ResponseHead, HeadError> {
    loop {
        match parse_response_head(buf, is_head) {
            Ok(Some(head)) if head.is_informational() => {
                buf.drain(..head.head_len);
                continue;
            }
            Ok(Some(head)) => return Ok(head),
            Ok(None) if buf.len() >= MAX_RESPONSE_HEAD_BYTES => {
                return Err(HeadError::Invalid("response head too large".into()))
            }
            Ok(None) => {}
            Err(e) => return Err(HeadError::Invalid(e.to_string())),
        }
        match read_append(conn, buf).await {
            Ok(0) => {
                return Err(HeadError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                )))
            }
            Ok(_) => {}
            Err(e) => return Err(HeadError::Io(e)),
        }
    }
}

fn upstream_error(e: UpstreamError) -> GatewayError {
    match e {
        UpstreamError::ConnectTimeout => {
            GatewayError::new(ErrorCode::UpstreamTimeout, "upstream connect timed out")
        }
        other => GatewayError::new(
            ErrorCode::UpstreamFailed,
            format!("upstream connection failed: {other}"),
        ),
    }
}
