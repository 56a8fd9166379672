//! One request's observation: its log id and event id, what became of it (with the
//! response tap, `response_tap.rs`), and the finished record.

use super::plan::RouteTaken;
use super::response_tap::ResponseTap;
use super::spend;
use super::Worker;
use crate::config::Gateway;
use crate::controls::parse_bool;
use crate::controls::{BucketKey, Window};
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::observe::logdb::{
    now_ms, LogEntry, LogId, Messages, Retention, MAX_LOGGED_BODY_BYTES, MIN_CHUNK_BYTES,
};
use crate::observe::metrics::{CacheStatus, RequestRecord};
use crate::observe::{parse_custom_cost, parse_metadata, AccessLine, CustomCost, Metadata};
use crate::redact;
use bytes::Bytes;
use std::time::{Duration, Instant};

pub const LOG_ID: &str = "cf-aig-log-id";
pub const EVENT_ID: &str = "cf-aig-event-id";
const COLLECT_LOG: &str = "cf-aig-collect-log";
const COLLECT_LOG_PAYLOAD: &str = "cf-aig-collect-log-payload";
const METADATA: &str = "cf-aig-metadata";
const CUSTOM_COST: &str = "cf-aig-custom-cost";

/// What became of the request once an answer was chosen.
#[derive(Debug, Default)]
pub struct Outcome {
    pub status: u16,
    pub provider: String,
    /// As sent upstream.
    pub model: String,
    pub stream: bool,
    pub cache: CacheStatus,
    pub tap: ResponseTap,
    /// The gateway's own share of the wait for the response head: time since the
    /// request arrived, less the answering attempt's time with the upstream (all of it
    /// for a cache hit). `None` for answers the gateway made itself.
    pub overhead: Option<Duration>,
}

/// The ids a request's responses carry: `cf-aig-event-id` always (the client's, else
/// the log id), `cf-aig-log-id` only when an entry is written (an id that finds
/// nothing would mislead). The default, before a gateway is known, carries none.
#[derive(Debug, Clone, Default)]
pub struct RequestIds {
    id: Option<LogId>,
    client_event: Option<String>,
    logged: bool,
}

impl RequestIds {
    /// The response headers, as `extra` head entries.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        let event = match (&self.client_event, &self.id) {
            (Some(event), _) => Some(event.as_bytes()),
            (None, Some(id)) => Some(id.as_str().as_bytes()),
            (None, None) => None,
        };
        let log = self.id.as_ref().filter(|_| self.logged);
        let event = event.map(|value| (EVENT_ID, value));
        event
            .into_iter()
            .chain(log.map(|id| (LOG_ID, id.as_str().as_bytes())))
    }
}

/// One request's observation, from its head to its last byte.
#[derive(Debug)]
pub struct RequestLog {
    start: Instant,
    id: LogId,
    client_event: Option<String>,
    gateway: String,
    retention: Retention,
    /// The log entry, filled in as the request goes (its strings and buffers are a
    /// stored entry's, handed back by the writer); `None` when the request is not logged.
    entry: Option<Box<LogEntry>>,
    /// Bodies go into the entry.
    payloads: bool,
    custom_cost: Option<CustomCost>,
    /// `cf-aig-metadata`, for spend rules.
    metadata: Option<Metadata>,
    /// The gateway enforces spend rules, or the route or access token has cost buckets:
    /// the usage of every answer is read, logged or not.
    needs_cost: bool,
    /// Cost buckets beyond the spend rules (a route's it passed, its access token's),
    /// charged with its cost.
    bucket_charges: Vec<(BucketKey, Window)>,
    request_size: u64,
    /// The client's body was read (a request refused before that has none to log).
    body_read: bool,
    /// The client's body as read, for the entry when it is large: shared with the upstream
    /// request until that is gone, then moved into the entry without a copy (`finish`).
    request_body: Option<Bytes>,
    /// The entry gets the client's body byte for byte (not redacted), and where its
    /// messages are (`note_messages`).
    body_verbatim: bool,
    messages: Messages,
    pub outcome: Outcome,
}

impl RequestLog {
    /// Reads the request's observe headers; a bad `cf-aig-metadata` or
    /// `cf-aig-custom-cost` is 400 2003 naming the header.
    pub fn begin(
        worker: &Worker,
        gateway: &Gateway,
        head: &RequestHead,
    ) -> Result<RequestLog, GatewayError> {
        // Most requests carry no `cf-aig-` header: one pass over the names spares the
        // five lookups below.
        let has_ours = head.has_header_prefix("cf-aig-");
        let ours = |name: &str| if has_ours { head.header(name) } else { None };
        let bad = |name: &str, why: String| {
            GatewayError::new(
                ErrorCode::BadRequest,
                format!("invalid {name} header: {why}"),
            )
        };
        // `true` or `false` only, like every boolean control header (else 400 2003).
        let switch = |name: &'static str| -> Result<bool, GatewayError> {
            ours(name).map_or(Ok(true), |value| {
                parse_bool(value, name)
                    .map_err(|e| GatewayError::new(ErrorCode::BadRequest, e.to_string()))
            })
        };
        let collect_log = switch(COLLECT_LOG)?;
        let collect_payload = switch(COLLECT_LOG_PAYLOAD)?;
        let sender = worker.log.as_ref();
        let logging = sender.is_some() && gateway.config.collect_logs && collect_log;
        // Checked on every request (a bad header is refused either way).
        let metadata = ours(METADATA)
            .map(parse_metadata)
            .transpose()
            .map_err(|e| bad(METADATA, e.to_string()))?;
        let custom_cost = ours(CUSTOM_COST)
            .map(parse_custom_cost)
            .transpose()
            .map_err(|e| bad(CUSTOM_COST, e.to_string()))?;
        let created_at = now_ms();
        let id = LogId::new(created_at);
        let client_event = ours(EVENT_ID)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 256)
            .map(str::to_string);
        let entry = sender.filter(|_| logging).map(|sender| {
            let mut entry = sender.blank();
            entry.id = id;
            entry.created_at = created_at;
            entry.gateway.push_str(&gateway.id);
            entry.path.push_str(head.path());
            if let Some(agent) = head.header("user-agent") {
                entry.user_agent.push_str(&String::from_utf8_lossy(agent));
            }
            // Empty: stored as `{}`.
            if let Some(metadata) = &metadata {
                entry.metadata.push_str(&metadata.to_json());
            }
            entry
        });
        Ok(RequestLog {
            start: Instant::now(),
            id,
            client_event,
            gateway: gateway.id.clone(),
            retention: Retention {
                max_entries: gateway.config.log_max_entries,
                max_bytes: gateway.config.log_max_bytes,
            },
            payloads: logging && collect_payload,
            entry,
            custom_cost,
            needs_cost: gateway
                .config
                .spend_limits
                .as_ref()
                .is_some_and(|l| l.enforced().next().is_some()),
            metadata,
            bucket_charges: Vec::new(),
            request_size: 0,
            body_read: false,
            request_body: None,
            body_verbatim: false,
            messages: Messages::default(),
            outcome: Outcome::default(),
        })
    }

    /// A log entry is written for this request.
    pub fn logging(&self) -> bool {
        self.entry.is_some()
    }

    /// The model sent upstream is needed: for the log entry, or for spend limits.
    pub fn needs_model(&self) -> bool {
        self.entry.is_some() || self.needs_cost
    }

    /// The client's body as received: its size, and for the log entry the body itself
    /// (shared, not copied). A Universal body's steps carry headers: the entry gets a copy
    /// with their credentials redacted (and a Universal body that is not JSON is not
    /// kept, see `redact::universal_body`).
    pub fn set_request_body(&mut self, body: &Bytes, universal: bool) {
        self.request_size = body.len() as u64;
        self.body_read = true;
        if let Some(entry) = &mut self.entry {
            let keep = self.payloads && body.len() <= MAX_LOGGED_BODY_BYTES;
            self.body_verbatim = keep && !universal;
            // A small body sits in the connection's read buffer (16 KiB at least), which
            // holding on to for a long stream would cost more memory than a copy costs time.
            if keep && !universal && body.len() >= SHARED_BODY_BYTES {
                self.request_body = Some(body.clone());
                return;
            }
            entry.request_body = keep
                .then(|| {
                    // Empty when handed back (`LogEntry::reuse`); its capacity is kept.
                    let mut buffer = entry.request_body.take().unwrap_or_default();
                    if !universal {
                        buffer.extend_from_slice(body);
                        return Some(buffer);
                    }
                    redact::universal_body(body, &mut buffer).then_some(buffer)
                })
                .flatten();
        }
    }

    /// The model as the client asked for it, copied straight into the entry (`None`:
    /// the model sent upstream, filled in by `finish`). Called once per answering step.
    pub fn note_asked_model(&mut self, asked: Option<&str>) {
        if let Some(entry) = &mut self.entry {
            entry.model.clear();
            entry.model.push_str(asked.unwrap_or_default());
        }
    }

    /// The `dynamic/` route the request took: logged, and its cost buckets charged.
    pub fn note_route(&mut self, taken: Option<RouteTaken>) {
        let Some(taken) = taken else {
            return;
        };
        if let Some(entry) = &mut self.entry {
            entry.route.push_str(&taken.name);
            entry.route_version.push_str(&taken.version);
        }
        self.needs_cost |= !taken.charges.is_empty();
        self.bucket_charges.extend(taken.charges);
    }

    /// The access token the request came with: logged by id, its spend bucket charged.
    pub fn note_access_token(&mut self, id: &str, spend: Option<(BucketKey, Window)>) {
        if let Some(entry) = &mut self.entry {
            entry.access_token.push_str(id);
        }
        if let Some(bucket) = spend {
            self.needs_cost = true;
            self.bucket_charges.push(bucket);
        }
    }

    /// The route elements a request answered by this step passed through (`None`: no route).
    /// Where the client body's messages are, as planning's scan found them.
    pub fn note_messages(&mut self, spans: Vec<std::ops::Range<usize>>) {
        // Most small requests have none worth storing once.
        if !self.body_verbatim || !spans.iter().any(|s| s.len() >= MIN_CHUNK_BYTES) {
            return;
        }
        // Keyed from the very bytes the entry stores, just scanned (still in the cache).
        let copied = self.entry.as_ref().and_then(|e| e.request_body.as_deref());
        if let Some(body) = self.request_body.as_deref().or(copied) {
            self.messages = Messages::of(body, &spans);
        }
    }

    pub fn note_route_path(&mut self, path: Option<&str>) {
        if let (Some(entry), Some(path)) = (&mut self.entry, path) {
            entry.route_path.clear();
            entry.route_path.push_str(path);
        }
    }

    /// `cf-aig-metadata` as parsed.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// Time since the request's head arrived.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The ids every response to this request carries.
    /// The request's log id (made whether or not it is logged).
    pub fn id(&self) -> &LogId {
        &self.id
    }

    pub fn ids(&self) -> RequestIds {
        RequestIds {
            id: Some(self.id),
            client_event: self.client_event.clone(),
            logged: self.logging(),
        }
    }

    /// A tap for an answer with this `content-type`: copies the body (into the entry's
    /// own buffer) only when the log keeps it or needs a JSON body's usage, or spend
    /// limits need its cost.
    pub fn tap_for(&mut self, content_type: Option<&[u8]>) -> ResponseTap {
        let stream = crate::http::is_event_stream(content_type);
        let copy = (self.payloads || !stream)
            .then_some(self.entry.as_mut())
            .flatten()
            .map(|entry| entry.response_body.take().unwrap_or_default())
            .or_else(|| (self.needs_cost && !stream).then(Vec::new));
        ResponseTap::new(copy, stream)
    }

    /// Records the finished request `head`: metrics always, the access line and the log
    /// entry when they are on.
    pub fn finish(mut self, worker: &Worker, head: &RequestHead) {
        let duration = self.start.elapsed();
        let outcome = std::mem::take(&mut self.outcome);
        let ttft = outcome
            .tap
            .first_byte
            .map(|t| t.saturating_duration_since(self.start));
        let usage = outcome.tap.usage();
        let (cost, custom) = match (self.custom_cost, usage) {
            (Some(custom), Some(usage)) => (Some(custom.cost(usage)), true),
            (Some(_), None) => (None, true),
            (None, Some(usage)) => (
                worker.prices.cost(&outcome.provider, &outcome.model, usage),
                false,
            ),
            (None, None) => (None, false),
        };
        if let Some(usd) = cost.filter(|_| self.needs_cost && outcome.cache != CacheStatus::Hit) {
            if let Some(gateway) = worker.settings.gateway(&self.gateway) {
                let answered_by = (outcome.provider.as_str(), outcome.model.as_str());
                spend::charge(
                    &worker.controls,
                    gateway,
                    answered_by,
                    self.metadata.as_ref(),
                    &self.bucket_charges,
                    usd,
                );
            }
        }
        worker.metrics.record_request(&RequestRecord {
            gateway: &self.gateway,
            provider: &outcome.provider,
            model: &outcome.model,
            status: outcome.status,
            cache: outcome.cache,
            tokens_in: usage.map(|u| u.tokens_in),
            tokens_out: usage.map(|u| u.tokens_out),
            cost,
            duration,
            ttft,
            overhead: outcome.overhead,
        });
        if let Some(access) = &worker.access_log {
            let line = AccessLine {
                method: head.method.as_str(),
                path: head.path(),
                gateway: &self.gateway,
                provider: &outcome.provider,
                model: &outcome.model,
                status: outcome.status,
                duration,
                ttft,
                tokens_in: usage.map(|u| u.tokens_in),
                tokens_out: usage.map(|u| u.tokens_out),
                cache: outcome.cache.label(),
                log_id: self.id.as_str(),
            };
            if !access.write(&line) {
                worker.metrics.count_access_line_dropped();
            }
        }
        let (Some(sender), Some(mut entry)) = (worker.log.as_ref(), self.entry.take()) else {
            return;
        };
        entry.event_id = self.client_event;
        entry.provider.push_str(&outcome.provider);
        entry.upstream_model.push_str(&outcome.model);
        if entry.model.is_empty() {
            entry.model.push_str(&outcome.model);
        }
        entry.status = outcome.status;
        entry.success = (200..300).contains(&outcome.status);
        entry.cached = outcome.cache == CacheStatus::Hit;
        entry.stream = outcome.stream;
        entry.duration_ms = millis(duration);
        entry.ttft_ms = ttft.map(millis);
        entry.tokens_in = usage.map(|u| u.tokens_in);
        entry.tokens_out = usage.map(|u| u.tokens_out);
        entry.cost = cost;
        entry.custom_cost = custom;
        entry.request_size = self.request_size;
        entry.response_size = outcome.tap.size;
        // The tap's copy is in the entry's own buffer; it is `None` past the size limit.
        entry.response_body = outcome.tap.copy.filter(|_| self.payloads);
        if let Some(body) = self.request_body.take() {
            entry.request_body = Some(owned(body, entry.request_body.take()));
        } else if !self.body_read {
            // Otherwise it holds the recycled buffer of an earlier entry's body.
            entry.request_body = None;
        }
        sender.try_log_with(entry, self.retention, self.messages);
    }
}

/// From this size on, the entry takes the request body's own buffer instead of a copy.
const SHARED_BODY_BYTES: usize = 16 * 1024;

/// `body` as a `Vec`: its own memory when nothing else holds it any more (the upstream
/// request is gone by now) and about the body's size (a chunked body's may be twice it),
/// else copied into `spare`, a recycled buffer.
fn owned(body: Bytes, spare: Option<Vec<u8>>) -> Vec<u8> {
    let copied = |bytes: &[u8]| {
        let mut buffer = spare.unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(bytes);
        buffer
    };
    match body.try_into_mut().map(Vec::from) {
        Ok(own) if own.capacity() <= own.len() + own.len() / 4 + 4096 => own,
        Ok(own) => copied(&own),
        Err(shared) => copied(&shared),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The access line of a request refused before its gateway was known (no such route
/// or gateway, a failed gateway token): no metrics, no log entry, but a line.
pub fn record_unobserved(worker: &Worker, head: &RequestHead, status: u16, since: Instant) {
    let Some(access) = &worker.access_log else {
        return;
    };
    let line = AccessLine {
        method: head.method.as_str(),
        path: head.path(),
        gateway: "",
        provider: "",
        model: "",
        status,
        duration: since.elapsed(),
        ttft: None,
        tokens_in: None,
        tokens_out: None,
        cache: "",
        log_id: "",
    };
    if !access.write(&line) {
        worker.metrics.count_access_line_dropped();
    }
}

/// The model named in an upstream body (the slices as planned), if any.
pub fn upstream_model(parts: &[Bytes]) -> String {
    let joined;
    let body: &[u8] = match parts {
        [one] => one,
        _ => {
            joined = parts.concat();
            &joined
        }
    };
    crate::json::scan_request(body)
        .ok()
        .and_then(|scan| scan.model)
        .map(|m| m.value)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_from_split_body() {
        let parts = [
            Bytes::from_static(b"{\"model\":\"gp"),
            Bytes::from_static(b"t-4o\"}"),
        ];
        assert_eq!(upstream_model(&parts), "gpt-4o");
        assert_eq!(upstream_model(&[]), "");
    }
}
