//! One admin connection: HTTP/1.1 requests read with `crate::http`, bodies by
//! `Content-Length` only (bounded), answered in order, kept alive when asked.

use std::rc::Rc;
use std::time::Duration;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use super::reply::{ErrorKind, Reply};
use super::routes::Admin;
use crate::http::{parse_request_head, BodyFraming, Method};

/// Admin requests are small: a head and at most a patch body.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_BODY_BYTES: u64 = 1024 * 1024;
const READ_CHUNK: usize = 8 * 1024;
/// An idle or stalled admin connection is closed after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads more bytes into `buf`; `false` on end of stream, error or timeout.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let chunk = Vec::with_capacity(READ_CHUNK);
    match monoio::time::timeout(IDLE_TIMEOUT, stream.read(chunk)).await {
        Ok((Ok(n), chunk)) if n > 0 => {
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            true
        }
        _ => false,
    }
}

async fn send(stream: &mut TcpStream, reply: &Reply, close: bool, head_only: bool) -> bool {
    let Ok(mut bytes) = reply.encode(close) else {
        return false;
    };
    if head_only {
        bytes.truncate(bytes.len() - reply.body.len());
    }
    let (result, _) = stream.write_all(bytes).await;
    result.is_ok()
}

pub async fn serve(admin: Rc<Admin>, mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(READ_CHUNK);
    loop {
        let head = loop {
            match parse_request_head(&buf, MAX_HEAD_BYTES) {
                Ok(Some(head)) => break head,
                Ok(None) => {
                    if !read_more(&mut stream, &mut buf).await {
                        return;
                    }
                }
                Err(e) => {
                    let reply = Reply::error(ErrorKind::BadRequest, e.to_string());
                    send(&mut stream, &reply, true, false).await;
                    return;
                }
            }
        };
        let body_len = match head.framing {
            BodyFraming::None => 0,
            BodyFraming::Length(n) if n <= MAX_BODY_BYTES => n as usize,
            BodyFraming::Length(_) => {
                let reply =
                    Reply::error(ErrorKind::PayloadTooLarge, "admin request body over 1 MiB");
                send(&mut stream, &reply, true, false).await;
                return;
            }
            BodyFraming::Chunked => {
                let reply = Reply::error(
                    ErrorKind::BadRequest,
                    "chunked bodies are not accepted here; send Content-Length",
                );
                send(&mut stream, &reply, true, false).await;
                return;
            }
        };
        let end = head.head_len + body_len;
        if head.expect_continue && buf.len() < end {
            // The client waits for this before it sends the body.
            let (result, _) = stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec())
                .await;
            if result.is_err() {
                return;
            }
        }
        while buf.len() < end {
            if !read_more(&mut stream, &mut buf).await {
                return;
            }
        }
        let body: Vec<u8> = buf.drain(..end).skip(head.head_len).collect();
        let reply = admin.handle(&head, &body).await;
        let close = !head.reuse_connection();
        if !send(&mut stream, &reply, close, head.method == Method::Head).await || close {
            return;
        }
    }
}
