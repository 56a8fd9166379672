//! Answers a planned request: from the cache, or through the rate limit and each step in
//! turn (fallback before any byte reached the client), streaming the winner's body back.

use super::attempt::{run_step, Answer, StepOutcome};
use super::cached::{entry, replay, BodyCapture, CACHE_STATUS, STEP};
use super::client::ClientConn;
use super::plan::PlannedStep;
use super::pump::{BodyEnd, Decoder, Encoder, Output, Pump, UpstreamBody};
use super::request_log::{upstream_model, RequestLog};
use super::spend;
use super::translated::answer_translated;
use super::Worker;
use crate::config::Gateway;
use crate::controls::CachedResponse;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{is_hop_by_hop, HeadWriter, ResponseFraming, ResponseHead};
use crate::observe::metrics::CacheStatus;
use crate::observe::UsageChunkStrip;
use crate::routing::latency;
use crate::sse::EventFilter;

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

impl ClientSide {
    /// The connection ends after this answer: the client asked, or the worker drains.
    pub fn closes(self, worker: &Worker) -> bool {
        self.close || worker.drain.is_draining()
    }
}

/// Order per step: cache lookup (a hit answers at once, touching no upstream and no
/// limit), then the gateway's rate limit (once per request, before its first upstream
/// attempt), then its spend rules (429 2013 when one is over budget), then the
/// attempts. A step that fails or is over budget hands over to the next one.
pub async fn forward(
    worker: &Worker,
    client: &mut ClientConn,
    steps: Vec<PlannedStep>,
    gateway: &Gateway,
    side: ClientSide,
    log: &mut RequestLog,
) -> Keep {
    let controls = &*worker.controls;
    let mut admitted = false;
    let mut failure = None;
    let count = steps.len();
    for (i, step) in steps.iter().enumerate() {
        if let (Some(key), Some(cache)) = (&step.cache_key, &controls.cache) {
            if let Some(hit) = cache.get(key, controls.clock.now()) {
                return answer_hit(worker, client, &hit, step, side, log).await;
            }
        }
        if !admitted {
            if let Err(retry_after) = controls.admit(&gateway.id) {
                let err = GatewayError::new(ErrorCode::RateLimited, retry_after.to_string());
                let secs = retry_after.header_secs().to_string();
                let retry = [("retry-after", secs.as_bytes())];
                return write_error(worker, client, &err, side, &retry, log).await;
            }
            admitted = true;
        }
        if gateway.config.spend_limits.is_some() {
            let model = match &step.request.model {
                Some(model) => model.clone(),
                None => upstream_model(&step.request.body),
            };
            let provider = &step.request.provider;
            if let Err(err) = spend::check(controls, gateway, provider, &model, log.metadata()) {
                if i + 1 == count {
                    note_step(log, step);
                    return write_error(worker, client, &err, side, &[], log).await;
                }
                failure = Some(err);
                continue;
            }
        }
        let started = std::time::Instant::now();
        let outcome = run_step(worker, step, i + 1 == count).await;
        if step.track_latency {
            record_latency(step, &outcome, started.elapsed());
        }
        match outcome {
            StepOutcome::Answer(answer) => {
                return answer_upstream(worker, client, step, answer, side, log).await
            }
            StepOutcome::Failed(err) => failure = Some(err),
        }
    }
    let err =
        failure.unwrap_or_else(|| GatewayError::new(ErrorCode::UpstreamFailed, "no upstream step"));
    write_error(worker, client, &err, side, &[], log).await
}

async fn write_error(
    worker: &Worker,
    client: &mut ClientConn,
    err: &GatewayError,
    side: ClientSide,
    extra: &[(&str, &[u8])],
    log: &mut RequestLog,
) -> Keep {
    log.outcome.status = err.status;
    let close = side.closes(worker);
    match client.write_error_with(err, close, extra).await {
        Ok(()) if !close => Keep::Open,
        _ => Keep::Close,
    }
}

async fn answer_hit(
    worker: &Worker,
    client: &mut ClientConn,
    hit: &CachedResponse,
    step: &PlannedStep,
    side: ClientSide,
    log: &mut RequestLog,
) -> Keep {
    let close = side.closes(worker);
    note_step(log, step);
    let mut ours: Vec<_> = client.ids.headers().collect();
    ours.extend(step.answered_by());
    let Ok(bytes) = replay(
        hit,
        step.index,
        close,
        side.http10,
        step.request.is_head,
        &ours,
    ) else {
        let err = GatewayError::new(ErrorCode::UpstreamFailed, "invalid cached response head");
        return write_error(worker, client, &err, side, &[], log).await;
    };
    log.outcome.status = hit.status;
    log.outcome.cache = CacheStatus::Hit;
    log.outcome.overhead = Some(log.elapsed());
    let content_type = hit
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_slice());
    let mut tap = log.tap_for(content_type);
    tap.push(&hit.body);
    log.outcome.stream = tap.is_stream();
    log.outcome.tap = tap;
    match client.write_all(bytes).await {
        Ok(()) if !close => Keep::Open,
        _ => Keep::Close,
    }
}

/// Writes the answer's head (with the controls' response headers) and streams its body;
/// a complete 2xx body of a cacheable request is stored.
async fn answer_upstream(
    worker: &Worker,
    client: &mut ClientConn,
    step: &PlannedStep,
    answer: Answer,
    side: ClientSide,
    log: &mut RequestLog,
) -> Keep {
    note_step(log, step);
    log.outcome.status = answer.head.status;
    log.outcome.overhead = Some(log.elapsed().saturating_sub(answer.upstream_time));
    if let Some(translation) = &step.translation {
        return answer_translated(worker, client, step, translation, answer, side, log).await;
    }
    let Answer {
        conn, head, rest, ..
    } = answer;
    let mut tap = log.tap_for(head.header("content-type"));
    if let ResponseFraming::Length(len) = head.framing {
        tap.expect_len(len);
    }
    // The gateway asked for usage itself: the usage chunk comes out, so the body's length
    // changes and it goes out chunked (to HTTP/1.0, ended by close).
    let stripping = step.request.strip_usage_chunk
        && tap.is_stream()
        && (200..300).contains(&head.status)
        && !step.request.is_head
        && !matches!(
            head.framing,
            ResponseFraming::Empty | ResponseFraming::Length(0)
        );
    let mut strip = stripping.then(UsageChunkStrip::new);
    let framing = match (stripping, side.http10) {
        (false, _) => head.framing,
        (true, false) => ResponseFraming::Chunked,
        (true, true) => ResponseFraming::Close,
    };
    let close = side.closes(worker) || (side.http10 && !framed(framing));
    let chunk_to_client =
        !side.http10 && matches!(framing, ResponseFraming::Chunked | ResponseFraming::Close);
    let cache = worker.controls.cache.as_ref();
    let cacheable = step.cache_key.is_some() && cache.is_some();
    let step_value = step.index.map(|i| i.to_string());
    let mut extra: Vec<(&str, &[u8])> = Vec::new();
    if cacheable {
        extra.push((CACHE_STATUS, b"MISS"));
        log.outcome.cache = CacheStatus::Miss;
    }
    extra.extend(client.ids.headers());
    extra.extend(step.answered_by());
    if let Some(value) = &step_value {
        extra.push((STEP, value.as_bytes()));
    }
    let Ok(head_bytes) = response_head(&head, framing, close, side.http10, chunk_to_client, &extra)
    else {
        let err = GatewayError::new(
            ErrorCode::UpstreamFailed,
            "invalid response head from upstream",
        );
        let _ = client.write_error(&err, true).await;
        return Keep::Close;
    };
    // The TTL runs from when the answer arrived, not from when its last byte was sent.
    let arrived = worker.controls.clock.now();
    let mut capture = match (cache, step.cache_key, &step.effective.cache) {
        (Some(cache), Some(key), Some(policy)) if (200..300).contains(&head.status) => {
            let (head, ttl) = (&head, policy.ttl);
            let store = move |body: Vec<u8>| {
                cache.insert(key, entry(head, body, arrived), ttl, arrived);
            };
            Some(BodyCapture::new(cache.max_entry_bytes(), Box::new(store)))
        }
        _ => None,
    };
    let encoder = match side.http10 {
        true => Encoder::Raw,
        false => Encoder::Chunked,
    };
    let output = match (strip.as_mut(), head.framing) {
        (Some(strip), _) => Output::Reframed {
            filter: Some(strip as &mut dyn EventFilter),
            encoder,
        },
        // An HTTP/1.0 client gets a chunked body decoded; an HTTP/1.1 client gets a
        // close-delimited one as chunks. Otherwise the framing is the same both sides.
        (None, ResponseFraming::Chunked) if side.http10 => Output::Reframed {
            filter: None,
            encoder,
        },
        (None, ResponseFraming::Close) if !side.http10 => Output::Reframed {
            filter: None,
            encoder,
        },
        (None, _) => Output::Verbatim,
    };
    let pump = Pump {
        decoder: Decoder::new(head.framing),
        output,
        tap: &mut tap,
        capture: capture.as_mut(),
    };
    let upstream = UpstreamBody { conn, first: rest };
    let end = pump.run(worker, client, upstream, head_bytes).await;
    drop(capture);
    log.outcome.stream = tap.is_stream();
    log.outcome.tap = tap;
    match end {
        BodyEnd::Complete { conn: Some(conn) } if head.keep_alive => {
            worker.upstream.checkin(&step.request.peer, conn);
        }
        BodyEnd::Complete { .. } => {}
        BodyEnd::Cut | BodyEnd::Stalled | BodyEnd::TooLarge | BodyEnd::ClientGone => {
            return Keep::Close
        }
        BodyEnd::MalformedFirst => {
            let err = GatewayError::new(
                ErrorCode::UpstreamFailed,
                "malformed response body from upstream (chunked framing)",
            );
            return write_error(worker, client, &err, side, &[], log).await;
        }
    }
    if close {
        Keep::Close
    } else {
        Keep::Open
    }
}

/// A `latency` alias's target: its time to the answer (a stream's first bytes, when a
/// fallback waited for them), or a failure's penalty.
fn record_latency(step: &PlannedStep, outcome: &StepOutcome, elapsed: std::time::Duration) {
    let target = (
        step.request.provider.clone(),
        step.request.model.clone().unwrap_or_default(),
    );
    latency::with_table(|table| match outcome {
        StepOutcome::Answer(answer) if answer.head.status != 429 && answer.head.status < 500 => {
            table.observe(&target, answer.upstream_time)
        }
        _ => table.penalize(&target, elapsed),
    });
}

/// The provider and model (as sent upstream, and as asked) of the step that answers.
fn note_step(log: &mut RequestLog, step: &PlannedStep) {
    log.outcome.provider.clone_from(&step.request.provider);
    log.note_asked_model(step.request.asked_model.as_deref());
    log.outcome.model = match &step.request.model {
        Some(model) => model.clone(),
        // Native requests: a scan of the body, paid only when the entry is written or
        // spend limits need it.
        None if log.needs_model() => upstream_model(&step.request.body),
        None => String::new(),
    };
    log.note_route_path(step.route_path.as_deref());
}

/// A response whose end the client can see without the connection closing.
fn framed(framing: ResponseFraming) -> bool {
    !matches!(framing, ResponseFraming::Chunked | ResponseFraming::Close)
}

/// The client's response head: the upstream's status and end-to-end headers, with
/// `framing` (the body as this client gets it) set for this client.
fn response_head(
    head: &ResponseHead,
    framing: ResponseFraming,
    close: bool,
    http10: bool,
    chunk_to_client: bool,
    extra: &[(&str, &[u8])],
) -> Result<Vec<u8>, crate::http::HttpError> {
    let mut w = HeadWriter::new();
    w.status_line(head.status);
    for h in &head.headers {
        let name = h.name.as_str();
        let framing_header =
            name.eq_ignore_ascii_case("content-length") && framing != ResponseFraming::Empty;
        let named_in_connection = head
            .connection_tokens
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t));
        let ours = extra.iter().any(|(n, _)| name.eq_ignore_ascii_case(n));
        if is_hop_by_hop(name) || framing_header || named_in_connection || ours {
            continue;
        }
        w.header(&h.name, &h.value);
    }
    match framing {
        ResponseFraming::Length(n) => {
            w.content_length(n);
        }
        ResponseFraming::Chunked | ResponseFraming::Close if chunk_to_client => {
            w.header("transfer-encoding", b"chunked");
        }
        _ => {}
    }
    for (name, value) in extra {
        w.header(name, value);
    }
    w.connection(close, http10);
    w.finish()
}
