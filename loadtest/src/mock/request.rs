//! Reading one request on a mock connection: the head (route, knobs, keep-alive, echoed headers)
//! and the body (Content-Length or chunked), keeping only what the mock needs.

use std::io;

use monoio::io::AsyncReadRent;

use super::knobs::{KnobError, Knobs};
use crate::error::WireError;
use crate::wire::{self, ChunkStep, ChunkedDecoder, Framing, InBuf};

/// Largest request body the mock accepts.
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// What the request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/responses` (OpenAI Responses).
    Responses,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `GET /v1/models`.
    Models,
    /// `POST /v1/messages` (Anthropic Messages).
    Messages,
    /// `POST /v1beta/models/{model}:generateContent` or `:streamGenerateContent`.
    Gemini {
        /// The model named in the path.
        model: String,
        /// `:streamGenerateContent` (answered as SSE, whatever `alt` says).
        stream: bool,
    },
    /// Anything else, kept for the error message.
    Unknown {
        /// The request method.
        method: String,
        /// The request target.
        path: String,
    },
}

/// The parts of a request head the mock acts on.
#[derive(Debug)]
pub struct Head {
    /// Which endpoint.
    pub route: Route,
    /// Behaviour asked for, or the first invalid knob.
    pub knobs: Result<Knobs, KnobError>,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
    /// How the body is delimited.
    pub framing: Framing,
    /// The request headers as a JSON object, when `x-mock-echo-headers` asked for them.
    pub echoed_headers: Option<String>,
}

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The socket failed or closed mid-request.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The bytes are not valid HTTP/1.1.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Reads the next request head; `Ok(None)` when the client closed cleanly between requests.
pub async fn read_head<S: AsyncReadRent>(
    stream: &mut S,
    buf: &mut InBuf,
    defaults: &Knobs,
) -> Result<Option<Head>, ReadError> {
    loop {
        if !buf.data().is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; wire::MAX_HEADERS];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(buf.data()) {
                Ok(httparse::Status::Complete(len)) => {
                    let head = Head::from_parsed(&request, defaults)?;
                    buf.consume(len);
                    return Ok(Some(head));
                }
                Ok(httparse::Status::Partial) if buf.data().len() > wire::MAX_HEAD_BYTES => {
                    return Err(WireError::HeadTooLarge(wire::MAX_HEAD_BYTES).into());
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Err(WireError::BadHead("unparsable request head").into()),
            }
        }
        if buf.fill(stream).await? == 0 {
            return if buf.data().is_empty() {
                Ok(None)
            } else {
                Err(io::Error::from(io::ErrorKind::UnexpectedEof).into())
            };
        }
    }
}

impl Head {
    fn from_parsed(
        request: &httparse::Request<'_, '_>,
        defaults: &Knobs,
    ) -> Result<Self, WireError> {
        let method = request.method.ok_or(WireError::BadHead("no method"))?;
        let path = request.path.ok_or(WireError::BadHead("no path"))?;
        let route = match (method, path.split('?').next().unwrap_or_default()) {
            ("POST", "/v1/chat/completions") => Route::Chat,
            ("POST", "/v1/responses") => Route::Responses,
            ("POST", "/v1/embeddings") => Route::Embeddings,
            ("GET", "/v1/models") => Route::Models,
            ("POST", "/v1/messages") => Route::Messages,
            ("POST", target) => gemini_route(target).unwrap_or_else(|| Route::Unknown {
                method: method.to_owned(),
                path: path.to_owned(),
            }),
            _ => Route::Unknown {
                method: method.to_owned(),
                path: path.to_owned(),
            },
        };
        let headers = &*request.headers;
        let mut knobs = defaults.clone();
        let knobs = headers
            .iter()
            .try_for_each(|h| knobs.apply_header(h.name, h.value))
            .map(|()| knobs);
        let http10 = request.version == Some(0);
        let keep_alive = if http10 {
            wire::header_has_token(headers, "connection", "keep-alive")
        } else {
            !wire::header_has_token(headers, "connection", "close")
        };
        let echo = knobs.as_ref().is_ok_and(|k| k.echo_headers);
        Ok(Head {
            route,
            knobs,
            keep_alive,
            expect_continue: wire::header_has_token(headers, "expect", "100-continue"),
            framing: wire::framing(headers, Framing::Empty)?,
            echoed_headers: echo.then(|| headers_as_json(headers)),
        })
    }
}

/// `/v1beta/models/{model}:generateContent` or `:streamGenerateContent` (the query,
/// `alt=sse`, is already cut off): the real service always streams SSE with `alt=sse`,
/// which every SDK sends, so the mock streams SSE either way.
fn gemini_route(target: &str) -> Option<Route> {
    let (model, method) = target.strip_prefix("/v1beta/models/")?.rsplit_once(':')?;
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => return None,
    };
    (!model.is_empty() && !model.contains('/')).then(|| Route::Gemini {
        model: model.to_owned(),
        stream,
    })
}

/// The headers as a JSON object of lower-case names; repeated names are joined with ", ".
fn headers_as_json(headers: &[httparse::Header<'_>]) -> String {
    let mut map = serde_json::Map::new();
    for header in headers {
        let value = String::from_utf8_lossy(header.value);
        let name = header.name.to_ascii_lowercase();
        match map.get_mut(&name) {
            Some(serde_json::Value::String(seen)) => {
                seen.push_str(", ");
                seen.push_str(&value);
            }
            _ => {
                map.insert(name, serde_json::Value::String(value.into_owned()));
            }
        }
    }
    serde_json::Value::Object(map).to_string()
}

/// Reads the whole body, hands it to `inspect` and returns what that gives plus the body length.
/// A Content-Length body is inspected in place; a chunked one is gathered first.
pub async fn read_body<S, T>(
    stream: &mut S,
    buf: &mut InBuf,
    framing: Framing,
    inspect: impl FnOnce(&[u8]) -> T,
) -> Result<(T, usize), ReadError>
where
    S: AsyncReadRent,
{
    match framing {
        Framing::Empty | Framing::UntilClose => Ok((inspect(&[]), 0)),
        Framing::Length(len) if len > MAX_BODY_BYTES => {
            Err(WireError::BodyTooLarge(MAX_BODY_BYTES as usize).into())
        }
        Framing::Length(len) => {
            let len = len as usize;
            while buf.data().len() < len {
                if buf.fill(stream).await? == 0 {
                    return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
                }
            }
            let result = inspect(&buf.data()[..len]);
            buf.consume(len);
            Ok((result, len))
        }
        Framing::Chunked => {
            let mut decoder = ChunkedDecoder::default();
            let mut body = Vec::new();
            loop {
                match decoder.step(buf.data())? {
                    ChunkStep::NeedMore => {
                        if buf.fill(stream).await? == 0 {
                            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
                        }
                    }
                    ChunkStep::Skip(n) => buf.consume(n),
                    ChunkStep::Data(n) => {
                        if body.len() + n > MAX_BODY_BYTES as usize {
                            return Err(WireError::BodyTooLarge(MAX_BODY_BYTES as usize).into());
                        }
                        body.extend_from_slice(&buf.data()[..n]);
                        buf.consume(n);
                    }
                    ChunkStep::Done(n) => {
                        buf.consume(n);
                        return Ok((inspect(&body), body.len()));
                    }
                }
            }
        }
    }
}
