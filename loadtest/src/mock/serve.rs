//! One mock connection: the keep-alive loop that reads a request, waits as the knobs say and
//! writes the answer in the request's wire format (JSON, SSE one event per write, or an error).

use std::cell::Cell;
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

use super::answer::{self, Answer};
use super::formats::{self, Format, Reply, StreamPlan};
use super::knobs::Knobs;
use super::render::{self, ChatRequest, Content, EmbeddingsRequest};
use super::request::{self, Head, ReadError, Route};
use crate::error::WireError;
use crate::wire::{encode_chunk, InBuf};

/// State one worker shares between its connections.
#[derive(Debug, Default)]
pub struct Worker {
    /// Knob values when a request sets none.
    pub defaults: Knobs,
    next_id: Cell<u64>,
}

impl Worker {
    /// A worker answering with `defaults` unless headers say otherwise.
    pub fn new(defaults: Knobs) -> Self {
        Self {
            defaults,
            next_id: Cell::new(0),
        }
    }

    fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        id
    }
}

/// The request body, as far as the mock reads it.
enum Summary {
    Chat(Result<ChatRequest, serde_json::Error>),
    Embeddings(Result<EmbeddingsRequest, serde_json::Error>),
    /// A Gemini body: the mock only checks that it is JSON.
    Json(Result<serde::de::IgnoredAny, serde_json::Error>),
    Nothing,
}

impl Summary {
    fn of(route: &Route, body: &[u8]) -> Self {
        match route {
            // Anthropic's and Responses' `model` and `stream` have Chat's names and meanings.
            Route::Chat | Route::Messages | Route::Responses => {
                Summary::Chat(serde_json::from_slice(body))
            }
            Route::Gemini { .. } => Summary::Json(serde_json::from_slice(body)),
            Route::Embeddings => Summary::Embeddings(serde_json::from_slice(body)),
            _ => Summary::Nothing,
        }
    }
}

/// Answers (errors included) are in the wire format the request came in.
fn format_of(route: &Route) -> Format {
    match route {
        Route::Messages => Format::Anthropic,
        Route::Responses => Format::Responses,
        Route::Gemini { .. } => Format::Gemini,
        _ => Format::OpenAi,
    }
}

/// A connection with its reusable buffers.
struct Conn<'w, S> {
    stream: S,
    input: InBuf,
    out: Vec<u8>,
    scratch: Vec<u8>,
    worker: &'w Worker,
    /// The wire format of the request being answered.
    format: Format,
}

/// Serves requests on `stream` until the client closes, asks to close, or sends garbage.
pub async fn serve_connection<S: AsyncReadRent + AsyncWriteRent>(stream: S, worker: &Worker) {
    let mut conn = Conn {
        stream,
        input: InBuf::with_capacity(16 * 1024),
        out: Vec::with_capacity(16 * 1024),
        scratch: Vec::with_capacity(16 * 1024),
        worker,
        format: Format::OpenAi,
    };
    loop {
        let head =
            match request::read_head(&mut conn.stream, &mut conn.input, &worker.defaults).await {
                Ok(Some(head)) => head,
                Ok(None) | Err(ReadError::Io(_)) => return,
                Err(ReadError::Wire(error)) => return conn.refuse(&error).await,
            };
        match conn.answer(head).await {
            Ok(true) => {}
            Ok(false) => {
                // A clean close (TLS close_notify, TCP FIN) tells the client nothing was cut.
                let _ = conn.stream.shutdown().await;
                return;
            }
            Err(ReadError::Io(_)) => return,
            Err(ReadError::Wire(error)) => return conn.refuse(&error).await,
        }
    }
}

impl<S: AsyncReadRent + AsyncWriteRent> Conn<'_, S> {
    /// Answers one request; `Ok(true)` when the connection may serve another.
    async fn answer(&mut self, head: Head) -> Result<bool, ReadError> {
        if head.expect_continue {
            self.out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            self.flush().await?;
        }
        let route = &head.route;
        let format = format_of(route);
        self.format = format;
        let tool_calls = head.knobs.as_ref().is_ok_and(|k| k.tool_calls);
        let ((summary, answer), body_len) =
            request::read_body(&mut self.stream, &mut self.input, head.framing, |body| {
                let summary = Summary::of(route, body);
                let answer = match route {
                    Route::Chat | Route::Messages | Route::Responses | Route::Gemini { .. } => {
                        answer::inspect(format, body, tool_calls)
                    }
                    _ => Answer::Tokens,
                };
                (summary, answer)
            })
            .await?;
        let keep_alive = head.keep_alive;
        let knobs = match head.knobs {
            Ok(knobs) => knobs,
            Err(error) => {
                self.error(400, &error.to_string(), body_len, keep_alive)
                    .await?;
                return Ok(keep_alive);
            }
        };
        if !knobs.ttft.is_zero() {
            monoio::time::sleep(knobs.ttft).await;
        }
        if let Some(status) = knobs.status {
            let message = format!("mock error status {status}");
            self.error(status, &message, body_len, keep_alive).await?;
            return Ok(keep_alive);
        }
        let prompt = render::prompt_tokens(body_len);
        match (head.route, summary) {
            (Route::Models, _) => {
                self.scratch.extend_from_slice(render::MODELS);
                self.json(200, body_len, keep_alive).await?;
            }
            (Route::Chat | Route::Messages | Route::Responses, Summary::Chat(Ok(chat))) => {
                let Some(model) = chat.model.as_deref() else {
                    self.error(
                        400,
                        "you must provide a model parameter",
                        body_len,
                        keep_alive,
                    )
                    .await?;
                    return Ok(keep_alive);
                };
                if chat.stream == Some(true) {
                    let usage = chat.stream_options.and_then(|o| o.include_usage) == Some(true);
                    self.stream(&knobs, &answer, model, prompt, usage, keep_alive)
                        .await?;
                } else {
                    self.message(&knobs, &answer, &head.echoed_headers, model, prompt);
                    self.json(200, body_len, keep_alive).await?;
                }
            }
            (Route::Gemini { model, stream }, Summary::Json(Ok(_))) => {
                if stream {
                    self.stream(&knobs, &answer, &model, prompt, true, keep_alive)
                        .await?;
                } else {
                    self.message(&knobs, &answer, &head.echoed_headers, &model, prompt);
                    self.json(200, body_len, keep_alive).await?;
                }
            }
            (Route::Embeddings, Summary::Embeddings(Ok(embed))) => {
                let Some(model) = embed.model.as_deref() else {
                    self.error(
                        400,
                        "you must provide a model parameter",
                        body_len,
                        keep_alive,
                    )
                    .await?;
                    return Ok(keep_alive);
                };
                let count = embed.input_count();
                render::embeddings(&mut self.scratch, model, count, knobs.dims, prompt);
                self.json(200, body_len, keep_alive).await?;
            }
            (
                Route::Chat
                | Route::Messages
                | Route::Responses
                | Route::Gemini { .. }
                | Route::Embeddings,
                _,
            ) => {
                let message = "We could not parse the JSON body of your request.";
                self.error(400, message, body_len, keep_alive).await?;
            }
            (Route::Unknown { method, path }, _) => {
                let message = format!("Unknown request URL: {method} {path}.");
                self.error(404, &message, body_len, keep_alive).await?;
            }
        }
        Ok(keep_alive)
    }

    /// Renders a non-streaming answer into `scratch`: echoed headers win, then the text
    /// or tool call the request asked for, then padding, then tokens.
    fn message(
        &mut self,
        knobs: &Knobs,
        answer: &Answer,
        echo: &Option<String>,
        model: &str,
        prompt: usize,
    ) {
        let (content, call) = match (echo, answer, knobs.body_bytes) {
            (Some(echo), _, _) => (Content::Text(echo), None),
            (None, Answer::Text(text), _) => (Content::Text(text), None),
            (None, Answer::ToolCall(call), _) => (Content::Tokens(0), Some(call)),
            (None, Answer::Tokens, Some(bytes)) => (Content::Padded(bytes), None),
            (None, Answer::Tokens, None) => (Content::Tokens(knobs.chunks), None),
        };
        let reply = Reply {
            id: self.worker.next_id(),
            created: now(),
            model,
            prompt,
        };
        formats::message_body(self.format, &mut self.scratch, &reply, content, call);
    }

    /// Streams the format's opening events, the content pieces and its closing events
    /// (OpenAI: role, tokens, finish, optional usage, `[DONE]`), one event per write.
    async fn stream(
        &mut self,
        knobs: &Knobs,
        answer: &Answer,
        model: &str,
        prompt: usize,
        include_usage: bool,
        keep_alive: bool,
    ) -> io::Result<()> {
        let reply = Reply {
            id: self.worker.next_id(),
            created: now(),
            model,
            prompt,
        };
        let plan = StreamPlan::new(self.format, reply, knobs.chunks, include_usage, answer);
        self.out.extend_from_slice(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n",
        );
        if !keep_alive {
            self.out.extend_from_slice(b"connection: close\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        let mut steps = plan.steps().peekable();
        while let Some(step) = steps.next() {
            if let formats::Step::Token(i) = step {
                if i > 0 && !knobs.chunk_interval.is_zero() {
                    monoio::time::sleep(knobs.chunk_interval).await;
                }
            }
            self.event(&plan, step);
            if steps.peek().is_none() {
                self.out.extend_from_slice(b"0\r\n\r\n");
            }
            self.flush().await?;
        }
        Ok(())
    }

    /// Appends one SSE event to `out` as one chunk; `scratch` is left empty, as the
    /// next response on this connection expects it.
    fn event(&mut self, plan: &StreamPlan<'_>, step: formats::Step) {
        self.scratch.clear();
        plan.write(step, &mut self.scratch);
        encode_chunk(&mut self.out, &self.scratch);
        self.scratch.clear();
    }

    /// Sends `scratch` as a JSON response.
    async fn json(
        &mut self,
        status: u16,
        request_bytes: usize,
        keep_alive: bool,
    ) -> io::Result<()> {
        use std::io::Write;
        let _ = write!(
            self.out,
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-mock-request-bytes: {request_bytes}\r\n",
            render::reason(status),
            self.scratch.len()
        );
        if !keep_alive {
            self.out.extend_from_slice(b"connection: close\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&self.scratch);
        self.scratch.clear();
        self.flush().await
    }

    async fn error(
        &mut self,
        status: u16,
        message: &str,
        request_bytes: usize,
        keep_alive: bool,
    ) -> io::Result<()> {
        self.scratch.clear();
        formats::error_body(self.format, &mut self.scratch, status, message);
        self.json(status, request_bytes, keep_alive).await
    }

    /// Answers a request that could not be read, then the caller closes.
    async fn refuse(&mut self, error: &WireError) {
        let status = match error {
            WireError::HeadTooLarge(_) => 431,
            WireError::BodyTooLarge(_) => 413,
            _ => 400,
        };
        let _ = self.error(status, &error.to_string(), 0, false).await;
    }

    /// Writes and clears `out`.
    async fn flush(&mut self) -> io::Result<()> {
        let out = std::mem::take(&mut self.out);
        let (result, mut out) = self.stream.write_all(out).await;
        out.clear();
        self.out = out;
        result.map(drop)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
