//! One client connection: the keep-alive loop that reads request heads (pipelined
//! requests in order) and runs each request through the pipeline.

use super::access;
use super::auth::authenticate;
use super::body::{discard_body, discardable, read_body, too_large, BodyError};
use super::client::ClientConn;
use super::conversation;
use super::forward::{forward, ClientSide, Keep};
use super::io::{race, Raced};
use super::plan::{plan, Plan};
use super::request_log::{record_unobserved, RequestIds, RequestLog};
use super::{Worker, WorkerSlot};
use crate::controls::{Effective, RequestControls};
use crate::error::{ErrorCode, ErrorShape, GatewayError};
use crate::http::{parse_request_head, BodyFraming, HttpError, RequestHead};
use crate::observe::metrics::TimeoutKind;
use crate::route::route;
use crate::route::Endpoint;
use monoio::net::TcpStream;
use std::pin::pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The most body bytes read and dropped after an early answer, to keep a keep-alive
/// connection usable; a larger body closes the connection instead (nginx discards too).
const MAX_DISCARDED_BODY_BYTES: usize = 1 << 20;

/// The interim answer to `Expect: 100-continue`, sent once the head passed every check.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Serves one client connection until it closes: request after request, each through the
/// pipeline with the worker (config snapshot) current when its head arrived.
pub async fn serve_connection(slot: Rc<WorkerSlot>, stream: TcpStream) {
    let first = slot.current();
    let _guard = first.drain.track_connection();
    let _ = stream.set_nodelay(true);
    let mut client = ClientConn::new(stream, &first);
    drop(first);
    loop {
        client.error_shape = ErrorShape::OpenAi;
        let head = match next_head(&slot.current(), &mut client).await {
            NextHead::Head(head) => head,
            NextHead::Closed => return,
            NextHead::Refuse(err) => {
                let _ = client.write_error(&err, true).await;
                return;
            }
        };
        let worker = slot.current();
        if handle(&worker, &mut client, head).await == Keep::Close {
            return;
        }
    }
}

enum NextHead {
    Head(RequestHead),
    /// Client closed, idle timeout, or shutdown while idle.
    Closed,
    /// Malformed, oversized or too slow a head: answer, then close.
    Refuse(GatewayError),
}

/// Up to its first byte a head waits `client_idle_timeout_s` (then the connection just
/// closes); from that byte on, the whole head must arrive within `client_header_timeout_s`
/// (else 408), however the bytes trickle in.
async fn next_head(worker: &Worker, client: &mut ClientConn) -> NextHead {
    let server = &worker.settings.server;
    let idle = Duration::from_secs(server.client_idle_timeout_s);
    let header_timeout = Duration::from_secs(server.client_header_timeout_s);
    let mut deadline: Option<Instant> = None;
    loop {
        match parse_request_head(&client.input, server.max_header_bytes) {
            Ok(Some(head)) => {
                client.consume(head.head_len);
                return NextHead::Head(head);
            }
            Ok(None) => {}
            Err(HttpError::HeadersTooLarge) => {
                return NextHead::Refuse(GatewayError::headers_too_large(server.max_header_bytes))
            }
            Err(e) => {
                return NextHead::Refuse(GatewayError::new(
                    ErrorCode::BadRequest,
                    format!("malformed HTTP request: {e}"),
                ))
            }
        }
        if client.input.is_empty() && worker.drain.is_draining() {
            return NextHead::Closed;
        }
        if deadline.is_none() && !client.input.is_empty() {
            deadline = Some(Instant::now() + header_timeout);
        }
        let wait = deadline.map_or(idle, |d| d.saturating_duration_since(Instant::now()));
        // Wait for bytes, but give up on a timeout or shutdown (an idle keep-alive
        // connection closes at once when the worker drains).
        let read = pin!(monoio::time::timeout(wait, client.read_more()));
        let drained = pin!(worker.drain.wait());
        match race(read, drained).await {
            Raced::Left(Ok(Ok(n))) if n > 0 => {}
            Raced::Left(Err(_)) if deadline.is_some() => {
                worker.metrics.count_timeout(TimeoutKind::ClientHeader);
                return NextHead::Refuse(GatewayError::client_timeout(format!(
                    "request head not complete within {} s",
                    header_timeout.as_secs()
                )));
            }
            _ => return NextHead::Closed,
        }
    }
}

async fn handle(worker: &Worker, client: &mut ClientConn, head: RequestHead) -> Keep {
    let arrived = Instant::now();
    let side = ClientSide {
        close: !head.keep_alive || head.close_after_response,
        http10: head.minor_version == 0,
    };
    let settings = worker.settings.clone();
    let refuse = |err: GatewayError| Refusal::Answer(err, side.close);
    // Refused before its body was read: the body is still on the connection.
    let refuse_unread = |err: GatewayError| Refusal::BodyUnread(err);
    client.ids = RequestIds::default();
    client.http10 = side.http10;
    // Set once the gateway is known and the request's observe headers are read: from
    // then on the request is recorded (metrics, and its log entry when logging is on).
    let mut observed: Option<RequestLog> = None;
    let prepared = async {
        // The Anthropic endpoints' errors, a 404 on one of their paths included, in their shape.
        if head.path().starts_with("/v1/messages") {
            client.error_shape = ErrorShape::Anthropic;
        }
        let any_account = settings.server.account_id == "*";
        let route = route(&head.method, head.path(), any_account).map_err(refuse_unread)?;
        if matches!(
            route.endpoint,
            Endpoint::CompatMessages | Endpoint::CompatCountTokens
        ) {
            client.error_shape = ErrorShape::Anthropic;
        }
        let gateway = settings
            .gateway(route.gateway_id)
            .filter(|_| account_matches(&settings.server.account_id, route.account_id))
            .ok_or_else(|| {
                refuse_unread(GatewayError::new(
                    ErrorCode::GatewayNotFound,
                    format!("gateway {:?} not found", route.gateway_id),
                ))
            })?;
        let auth = authenticate(gateway, &head).map_err(refuse_unread)?;
        let log = RequestLog::begin(worker, gateway, &head).map_err(refuse_unread)?;
        client.ids = log.ids();
        let log = observed.insert(log);
        if let Some(token) = auth.access_token {
            // Noted first, so that a refusal's entry names the token too.
            log.note_access_token(&token.id, access::spend_bucket(&gateway.id, token));
            access::admit(&worker.controls, &gateway.id, token).map_err(refuse_unread)?;
        }
        let effective = request_controls(gateway, &head).map_err(refuse_unread)?;
        let limit = settings.server.max_body_bytes;
        if matches!(head.framing, BodyFraming::Length(len) if len > limit as u64) {
            // The body stays unread, so the connection cannot go on.
            return Err(Refusal::Answer(too_large(limit), true));
        }
        let wants_continue =
            head.expect_continue && head.framing != BodyFraming::None && client.input.is_empty();
        if wants_continue && client.write_all(CONTINUE.to_vec()).await.is_err() {
            return Err(Refusal::Gone);
        }
        let (body, held) = match read_body(worker, client, head.framing).await {
            Ok(read) => read,
            Err(BodyError::Refuse(err)) => return Err(Refusal::Answer(err, true)),
            Err(BodyError::Gone) => return Err(Refusal::Gone),
        };
        log.set_request_body(&body, route.endpoint == Endpoint::Universal);
        let mut turn = match route.endpoint {
            Endpoint::CompatResponses => Some(
                conversation::turn(worker, gateway, &body, log.id())
                    .await
                    .map_err(refuse)?,
            ),
            _ => None,
        };
        let resolved = turn.as_mut().and_then(|t| t.body.take());
        let planning_logged_body = resolved.is_none();
        let body = match resolved {
            Some(resolved) => bytes::Bytes::from(resolved),
            None => body,
        };
        let mut planned = match route.endpoint {
            Endpoint::CompatResponse(id) if conversation::made_here(id) => Plan::Local(
                conversation::retrieve(worker, gateway, id)
                    .await
                    .map_err(refuse)?,
            ),
            endpoint => plan(
                &settings,
                &worker.controls,
                gateway,
                endpoint,
                &head,
                auth,
                body,
                effective,
                log.metadata(),
                turn.as_ref(),
            )
            .map_err(refuse)?,
        };
        if let (false, Plan::Upstream { messages, .. }) = (planning_logged_body, &mut planned) {
            // The scan was of the conversation as resolved, not of the body logged.
            messages.clear();
        }
        if let (Some(token), Plan::Upstream { steps, .. }) = (auth.access_token, &planned) {
            if let Some(step) = steps.first() {
                access::check_model(token, &step.request.model_as_asked()).map_err(refuse)?;
            }
        }
        Ok((planned, gateway, held))
    };
    let prepared = prepared.await;
    match (prepared, observed) {
        // `_held`: the body's share of the budget, until the request is answered.
        (
            Ok((
                Plan::Upstream {
                    steps,
                    route,
                    messages,
                },
                gateway,
                _held,
            )),
            Some(mut log),
        ) => {
            log.note_route(route);
            log.note_messages(messages);
            let keep = forward(worker, client, steps, gateway, side, &mut log).await;
            log.finish(worker, &head);
            keep
        }
        // Planning runs after `RequestLog::begin`, so this arm is never taken.
        (Ok((Plan::Upstream { .. }, ..)), None) => Keep::Close,
        (Ok((Plan::Local(body), ..)), observed) => {
            let close = side.closes(worker);
            let keep = keep_after(client.write_json(200, &body, close).await, close);
            // Its `cf-aig-log-id` was sent: the entry it names is written.
            if let Some(mut log) = observed {
                log.outcome.status = 200;
                log.finish(worker, &head);
            }
            keep
        }
        (Err(Refusal::Answer(err, close)), observed) => {
            let close = close || worker.drain.is_draining();
            let keep = keep_after(client.write_error(&err, close).await, close);
            match observed {
                Some(mut log) => {
                    log.outcome.status = err.status;
                    log.finish(worker, &head);
                }
                None => record_unobserved(worker, &head, err.status, arrived),
            }
            keep
        }
        (Err(Refusal::BodyUnread(err)), observed) => {
            let limit = settings.server.max_body_bytes.min(MAX_DISCARDED_BODY_BYTES);
            // A client waiting for `100 Continue` may never send the body: close.
            let waits = head.expect_continue && client.input.is_empty();
            let close = side.closes(worker) || waits || !discardable(head.framing, limit);
            let mut keep = keep_after(client.write_error(&err, close).await, close);
            match observed {
                Some(mut log) => {
                    log.outcome.status = err.status;
                    log.finish(worker, &head);
                }
                None => record_unobserved(worker, &head, err.status, arrived),
            }
            if keep == Keep::Open && !discard_body(worker, client, head.framing, limit).await {
                keep = Keep::Close;
            }
            keep
        }
        (Err(Refusal::Gone), _) => Keep::Close,
    }
}

/// The request's control headers over its gateway's settings; a bad value is 400 2003
/// naming the header. Requests without `cf-aig-` headers skip the seven lookups.
fn request_controls(
    gateway: &crate::config::Gateway,
    head: &RequestHead,
) -> Result<Effective, GatewayError> {
    let controls = if head.has_header_prefix("cf-aig-") {
        RequestControls::from_headers(|name| head.header(name))
            .map_err(|e| GatewayError::new(ErrorCode::BadRequest, e.to_string()))?
    } else {
        RequestControls::default()
    };
    Ok(Effective::merge(&gateway.config, controls))
}

/// Why a request never reached an upstream.
enum Refusal {
    /// Answer this error; `true`: close the connection after it.
    Answer(GatewayError, bool),
    /// Answer this error, refused before the body was read: the body is then read and
    /// dropped (up to a bound, else the connection closes), so that no byte of it is
    /// ever parsed as the next request.
    BodyUnread(GatewayError),
    /// The client went away or stalled mid-request: just close.
    Gone,
}

fn keep_after(written: std::io::Result<()>, close: bool) -> Keep {
    if written.is_ok() && !close {
        Keep::Open
    } else {
        Keep::Close
    }
}

/// `account_id = "*"` accepts any; the `/v1/...` aliases carry none.
fn account_matches(configured: &str, requested: Option<&str>) -> bool {
    configured == "*" || requested.is_none_or(|a| a == configured)
}
