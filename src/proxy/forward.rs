//! The upstream exchange: write the request (one retry on a stale pooled connection),
//! read the response head, and hand the body to the streamer.

use super::client::{read_append, ClientConn};
use super::io::IoSlices;
use super::plan::UpstreamRequest;
use super::stream::{stream_body, BodyEnd};
use super::Worker;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{
    is_hop_by_hop, parse_response_head, HeadWriter, ResponseFraming, ResponseHead,
    MAX_RESPONSE_HEAD_BYTES,
};
use crate::upstream::{Conn, UpstreamError};
use monoio::io::AsyncWriteRentExt;

/// Whether the client connection may serve another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Open,
    Close,
}

/// What the client needs to know to frame the response.
#[derive(Debug, Clone, Copy)]
pub struct ClientSide {
    /// The client asked to close, or the request's framing forces it.
    pub close: bool,
    /// An HTTP/1.0 client cannot take chunked encoding.
    pub http10: bool,
}

pub async fn forward(
    worker: &Worker,
    client: &mut ClientConn,
    req: UpstreamRequest,
    side: ClientSide,
) -> Keep {
    let (conn, head, rest) = match exchange(worker, &req).await {
        Ok(answer) => answer,
        Err(err) => {
            let close = side.close || worker.drain.is_draining();
            return match client.write_error(&err, close).await {
                Ok(()) if !close => Keep::Open,
                _ => Keep::Close,
            };
        }
    };
    let close = side.close || worker.drain.is_draining() || (side.http10 && !framed(&head));
    let chunk_to_client = !side.http10
        && matches!(
            head.framing,
            ResponseFraming::Chunked | ResponseFraming::Close
        );
    let Ok(head_bytes) = response_head(&head, close, chunk_to_client) else {
        let err = GatewayError::new(
            ErrorCode::UpstreamFailed,
            "invalid response head from upstream",
        );
        let _ = client.write_error(&err, true).await;
        return Keep::Close;
    };
    match stream_body(client, conn, head.framing, head_bytes, rest, side.http10).await {
        BodyEnd::Complete { conn: Some(conn) } if head.keep_alive => {
            worker.upstream.checkin(&req.peer, conn);
        }
        BodyEnd::Complete { .. } => {}
        BodyEnd::Cut | BodyEnd::ClientGone => return Keep::Close,
    }
    if close {
        Keep::Close
    } else {
        Keep::Open
    }
}

/// A response whose end the client can see without the connection closing.
fn framed(head: &ResponseHead) -> bool {
    !matches!(
        head.framing,
        ResponseFraming::Chunked | ResponseFraming::Close
    )
}

/// Sends the request and reads the response head. A pooled connection that fails
/// before any response byte is retried once on a fresh one.
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
        let (written, _) = conn.write_vectored_all(IoSlices::new(parts)).await;
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
            Err(HeadError::Io(_)) if checkout.reused && buf.is_empty() && !fresh => {
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

/// The client's response head: the upstream's status and end-to-end headers, with
/// framing set for this client.
fn response_head(
    head: &ResponseHead,
    close: bool,
    chunk_to_client: bool,
) -> Result<Vec<u8>, crate::http::HttpError> {
    let mut w = HeadWriter::new();
    w.status_line(head.status);
    for h in &head.headers {
        let name = h.name.as_str();
        let framing_header =
            name.eq_ignore_ascii_case("content-length") && head.framing != ResponseFraming::Empty;
        let named_in_connection = head
            .connection_tokens
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t));
        if is_hop_by_hop(name) || framing_header || named_in_connection {
            continue;
        }
        w.header(&h.name, &h.value);
    }
    match head.framing {
        ResponseFraming::Length(n) => {
            w.content_length(n);
        }
        ResponseFraming::Chunked | ResponseFraming::Close if chunk_to_client => {
            w.header("transfer-encoding", b"chunked");
        }
        _ => {}
    }
    if close {
        w.header("connection", b"close");
    }
    w.finish()
}
