//! Reads a client's request body, whole, under `max_body_bytes`, the body-read timeout and
//! the process-wide body budget: `Content-Length` or chunked (decoded here), kept for retries.

use super::body_budget::Reservation;
use super::client::ClientConn;
use super::Worker;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{BodyFraming, ChunkedDecoder};
use crate::observe::metrics::TimeoutKind;
use bytes::Bytes;
use std::time::Duration;

/// Why no body could be read; every case ends the connection.
#[derive(Debug)]
pub enum BodyError {
    /// Answer this error, then close (the rest of the body is left unread): 413, 400,
    /// 408 when the body stalls past `client_body_timeout_s`, 503 when over the budget.
    Refuse(GatewayError),
    /// The client went away: close without an answer.
    Gone,
}

/// The body, and its share of the body budget: the caller holds it until the request is
/// answered (a retry or a Universal step may need the body until then). The body is a
/// plain `Vec`'s bytes, so that the request log can take the buffer back once the
/// upstream request is gone, without a copy.
pub async fn read_body(
    worker: &Worker,
    client: &mut ClientConn,
    framing: BodyFraming,
) -> Result<(Bytes, Reservation), BodyError> {
    read_body_within(
        worker,
        client,
        framing,
        worker.settings.server.max_body_bytes,
    )
    .await
}

/// Whether a body of this framing might be dropped within `limit` bytes (a chunked
/// body's length shows only as it is read).
pub fn discardable(framing: BodyFraming, limit: usize) -> bool {
    match framing {
        BodyFraming::Length(len) => len <= limit as u64,
        BodyFraming::None | BodyFraming::Chunked => true,
    }
}

/// Reads and drops the body of a request answered without it, so that the connection can
/// go on. `false`: it could not be (over `limit`, malformed, or the client stalled or
/// left) and the connection must close.
pub async fn discard_body(
    worker: &Worker,
    client: &mut ClientConn,
    framing: BodyFraming,
    limit: usize,
) -> bool {
    read_body_within(worker, client, framing, limit)
        .await
        .is_ok()
}

async fn read_body_within(
    worker: &Worker,
    client: &mut ClientConn,
    framing: BodyFraming,
    limit: usize,
) -> Result<(Bytes, Reservation), BodyError> {
    let server = &worker.settings.server;
    let read = Reader {
        worker,
        timeout: Duration::from_secs(server.client_body_timeout_s),
    };
    let reservation = || {
        let gauge = worker.metrics.buffered_body_bytes();
        worker.controls.body_budget.reservation(gauge)
    };
    match framing {
        BodyFraming::None => Ok((Bytes::new(), reservation())),
        BodyFraming::Length(len) => {
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= limit)
                .ok_or_else(|| BodyError::Refuse(too_large(limit)))?;
            // Known up front: reserved whole before a byte is read, and allocated whole
            // (one allocation, not a chain of growing copies).
            let mut reservation = reservation();
            read.reserve(&mut reservation, len)?;
            client.input.reserve(len.saturating_sub(client.input.len()));
            while client.input.len() < len {
                read.fill(client).await?;
            }
            if client.input.len() == len {
                // The usual case: nothing pipelined behind the body, so take the buffer as is.
                return Ok((Bytes::from(std::mem::take(&mut client.input)), reservation));
            }
            let body = client.input[..len].to_vec();
            client.consume(len);
            Ok((Bytes::from(body), reservation))
        }
        BodyFraming::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut body = Vec::new();
            let mut reservation = reservation();
            loop {
                let progress = decoder
                    .feed(&client.input, |data| body.extend_from_slice(data))
                    .map_err(|e| {
                        BodyError::Refuse(GatewayError::new(
                            ErrorCode::BadRequest,
                            format!("malformed chunked request body: {e}"),
                        ))
                    })?;
                client.consume(progress.consumed);
                // What the size lines announced counts at once: a chunk over the limit is
                // refused without waiting for its bytes.
                let announced = (body.len() as u64).saturating_add(decoder.announced_remaining());
                if announced > limit as u64 {
                    return Err(BodyError::Refuse(too_large(limit)));
                }
                // Reserved as it grows.
                read.reserve(&mut reservation, body.len())?;
                if progress.done {
                    return Ok((Bytes::from(body), reservation));
                }
                read.fill(client).await?;
            }
        }
    }
}

struct Reader<'w> {
    worker: &'w Worker,
    timeout: Duration,
}

impl Reader<'_> {
    async fn fill(&self, client: &mut ClientConn) -> Result<(), BodyError> {
        match monoio::time::timeout(self.timeout, client.read_more()).await {
            Ok(Ok(n)) if n > 0 => Ok(()),
            Ok(_) => Err(BodyError::Gone),
            Err(_) => {
                self.worker.metrics.count_timeout(TimeoutKind::ClientBody);
                Err(BodyError::Refuse(GatewayError::client_timeout(format!(
                    "request body not received: no bytes for {} s",
                    self.timeout.as_secs()
                ))))
            }
        }
    }

    fn reserve(&self, reservation: &mut Reservation, total: usize) -> Result<(), BodyError> {
        if reservation.grow_to(total) {
            return Ok(());
        }
        self.worker.metrics.count_body_budget_refusal();
        Err(BodyError::Refuse(
            GatewayError::new(
                ErrorCode::Overloaded,
                "the gateway holds too many request bodies in memory; retry shortly",
            )
            .with_retry_after(1),
        ))
    }
}

pub(super) fn too_large(limit: usize) -> GatewayError {
    GatewayError::new(
        ErrorCode::TooLarge,
        format!("request body larger than {limit} bytes"),
    )
}
