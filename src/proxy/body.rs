//! Reads a client's request body, whole, under `max_body_bytes`: `Content-Length` or
//! chunked (decoded here), so it can be rewritten and resent on a retry.

use super::client::ClientConn;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{BodyFraming, ChunkedDecoder};
use bytes::Bytes;
use std::time::Duration;

/// Why no body could be read; every case ends the connection.
#[derive(Debug)]
pub enum BodyError {
    /// Answer this error, then close (the rest of the body is left unread).
    Refuse(GatewayError),
    /// The client went away or stalled: close without an answer.
    Gone,
}

pub async fn read_body(
    client: &mut ClientConn,
    framing: BodyFraming,
    limit: usize,
    read_timeout: Duration,
) -> Result<Bytes, BodyError> {
    match framing {
        BodyFraming::None => Ok(Bytes::new()),
        BodyFraming::Length(len) => {
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= limit)
                .ok_or_else(|| BodyError::Refuse(too_large(limit)))?;
            while client.input.len() < len {
                fill(client, read_timeout).await?;
            }
            if client.input.len() == len {
                // The usual case: nothing pipelined behind the body, so take the buffer as is.
                return Ok(Bytes::from(std::mem::take(&mut client.input)));
            }
            let body = Bytes::copy_from_slice(&client.input[..len]);
            client.consume(len);
            Ok(body)
        }
        BodyFraming::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut body = Vec::new();
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
                if body.len() > limit {
                    return Err(BodyError::Refuse(too_large(limit)));
                }
                if progress.done {
                    return Ok(Bytes::from(body));
                }
                fill(client, read_timeout).await?;
            }
        }
    }
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
    client: &mut ClientConn,
    framing: BodyFraming,
    limit: usize,
    read_timeout: Duration,
) -> bool {
    read_body(client, framing, limit, read_timeout)
        .await
        .is_ok()
}

async fn fill(client: &mut ClientConn, read_timeout: Duration) -> Result<(), BodyError> {
    match monoio::time::timeout(read_timeout, client.read_more()).await {
        Ok(Ok(n)) if n > 0 => Ok(()),
        _ => Err(BodyError::Gone),
    }
}

pub(super) fn too_large(limit: usize) -> GatewayError {
    GatewayError::new(
        ErrorCode::TooLarge,
        format!("request body larger than {limit} bytes"),
    )
}
