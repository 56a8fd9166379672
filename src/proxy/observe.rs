//! One request's observation: its log id and event id, the response tap that watches the
//! forwarded body (size, first byte, usage, a bounded copy), and the finished record.

use super::Worker;
use crate::config::Gateway;
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::observe::logdb::{now_ms, LogId, MAX_LOGGED_BODY_BYTES};
use crate::observe::metrics::{CacheStatus, RequestRecord};
use crate::observe::{
    from_json_body, parse_custom_cost, parse_metadata, CustomCost, StreamUsage, Usage,
};
use bytes::Bytes;
use std::time::{Duration, Instant};

pub const LOG_ID: &str = "cf-aig-log-id";
pub const EVENT_ID: &str = "cf-aig-event-id";
const COLLECT_LOG: &str = "cf-aig-collect-log";
const COLLECT_LOG_PAYLOAD: &str = "cf-aig-collect-log-payload";
const METADATA: &str = "cf-aig-metadata";
const CUSTOM_COST: &str = "cf-aig-custom-cost";

/// Watches response body bytes as they are forwarded, never holding them back.
#[derive(Debug, Default)]
pub struct ResponseTap {
    /// Body bytes seen (de-chunked).
    pub size: u64,
    first_byte: Option<Instant>,
    /// Set for SSE responses: usage is read from the events as they pass.
    stream: Option<StreamUsage>,
    /// A copy of the body, kept while it stays under the log's body limit.
    copy: Option<Vec<u8>>,
}

impl ResponseTap {
    /// `copy`: keep the body (for the log or a JSON body's usage); `stream`: an SSE body.
    pub fn new(copy: bool, stream: bool) -> ResponseTap {
        ResponseTap {
            stream: stream.then(StreamUsage::new),
            copy: copy.then(Vec::new),
            ..ResponseTap::default()
        }
    }

    /// Makes room for a body of `len` bytes (its content-length) in one allocation.
    pub fn expect_len(&mut self, len: u64) {
        if let (Some(copy), Ok(len)) = (&mut self.copy, usize::try_from(len)) {
            if len <= MAX_LOGGED_BODY_BYTES {
                copy.reserve_exact(len);
            }
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        self.size = self.size.saturating_add(data.len() as u64);
        if let Some(usage) = &mut self.stream {
            usage.feed(data);
        }
        let too_big = self
            .copy
            .as_ref()
            .is_some_and(|c| c.len().saturating_add(data.len()) > MAX_LOGGED_BODY_BYTES);
        if too_big {
            // The log would not store it, and a body this large is not worth scanning.
            self.copy = None;
        } else if let Some(copy) = &mut self.copy {
            copy.extend_from_slice(data);
        }
    }

    /// An SSE body.
    pub fn is_stream(&self) -> bool {
        self.stream.is_some()
    }

    fn usage(&self) -> Option<Usage> {
        match (&self.stream, &self.copy) {
            (Some(stream), _) => stream.usage(),
            (None, Some(body)) => from_json_body(body),
            (None, None) => None,
        }
    }
}

/// What became of the request once an answer was chosen.
#[derive(Debug)]
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

impl Default for Outcome {
    fn default() -> Self {
        Outcome {
            status: 0,
            provider: String::new(),
            model: String::new(),
            stream: false,
            cache: CacheStatus::None,
            tap: ResponseTap::default(),
            overhead: None,
        }
    }
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
    created_at: i64,
    id: LogId,
    client_event: Option<String>,
    gateway: String,
    max_entries: u64,
    path: String,
    user_agent: String,
    /// A log entry is written for this request.
    pub logging: bool,
    /// Bodies go into the entry.
    pub payloads: bool,
    metadata: String,
    custom_cost: Option<CustomCost>,
    request_body: Option<Bytes>,
    request_size: u64,
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
        let has_ours = head.headers.iter().any(|h| {
            h.name
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("cf-aig-"))
        });
        let ours = |name: &str| if has_ours { head.header(name) } else { None };
        let off =
            |name: &str| ours(name).is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"false"));
        let logging = worker.log.is_some() && gateway.config.collect_logs && !off(COLLECT_LOG);
        let bad = |name: &str, why: String| {
            GatewayError::new(
                ErrorCode::BadRequest,
                format!("invalid {name} header: {why}"),
            )
        };
        // Checked on every request (a bad header is refused either way); kept only when logged.
        let metadata = match ours(METADATA) {
            Some(value) => {
                let parsed = parse_metadata(value).map_err(|e| bad(METADATA, e.to_string()))?;
                if logging {
                    parsed.to_json()
                } else {
                    String::new()
                }
            }
            // Empty: stored as `{}`.
            None => String::new(),
        };
        let custom_cost = ours(CUSTOM_COST)
            .map(parse_custom_cost)
            .transpose()
            .map_err(|e| bad(CUSTOM_COST, e.to_string()))?;
        let created_at = now_ms();
        let client_event = ours(EVENT_ID)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 256)
            .map(str::to_string);
        // Path and user agent only go into the log entry.
        let text = |name: &str| {
            logging
                .then(|| head.header(name))
                .flatten()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        let path = if logging {
            head.path().to_string()
        } else {
            String::new()
        };
        Ok(RequestLog {
            start: Instant::now(),
            created_at,
            id: LogId::new(created_at),
            client_event,
            gateway: gateway.id.clone(),
            max_entries: gateway.config.log_max_entries,
            path,
            user_agent: text("user-agent"),
            logging,
            payloads: logging && !off(COLLECT_LOG_PAYLOAD),
            metadata,
            custom_cost,
            request_body: None,
            request_size: 0,
            outcome: Outcome::default(),
        })
    }

    /// The client's body as received (a reference count, not a copy).
    pub fn set_request_body(&mut self, body: &Bytes) {
        self.request_size = body.len() as u64;
        if self.payloads {
            self.request_body = Some(body.clone());
        }
    }

    /// Time since the request's head arrived.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The ids every response to this request carries.
    pub fn ids(&self) -> RequestIds {
        RequestIds {
            id: Some(self.id),
            client_event: self.client_event.clone(),
            logged: self.logging,
        }
    }

    /// A tap for an answer with this `content-type`: copies the body only when the log
    /// keeps it or needs a JSON body's usage.
    pub fn tap_for(&self, content_type: Option<&[u8]>) -> ResponseTap {
        let stream = content_type.is_some_and(|ct| {
            ct.len() >= 17 && ct[..17].eq_ignore_ascii_case(b"text/event-stream")
        });
        ResponseTap::new(self.logging && (self.payloads || !stream), stream)
    }

    /// Records the finished request: metrics always, the log entry when it is on.
    pub fn finish(mut self, worker: &Worker) {
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
        let Some(sender) = worker.log.as_ref().filter(|_| self.logging) else {
            return;
        };
        // The entry's strings and buffers are this worker's, handed back by the writer.
        let mut entry = sender.blank();
        entry.id = self.id;
        entry.event_id = self.client_event;
        entry.created_at = self.created_at;
        entry.gateway.push_str(&self.gateway);
        entry.provider.push_str(&outcome.provider);
        entry.model.push_str(&outcome.model);
        entry.path.push_str(&self.path);
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
        entry.metadata.push_str(&self.metadata);
        entry.request_size = self.request_size;
        entry.response_size = outcome.tap.size;
        entry.user_agent.push_str(&self.user_agent);
        let payloads = self.payloads;
        entry.request_body = stored(entry.request_body, self.request_body.as_deref(), payloads);
        entry.response_body = stored(entry.response_body, outcome.tap.copy.as_deref(), payloads);
        sender.try_log(entry, self.max_entries);
    }
}

/// `buffer` holding `body`, or `None` when the log keeps no body.
fn stored(buffer: Option<Vec<u8>>, body: Option<&[u8]>, payloads: bool) -> Option<Vec<u8>> {
    let body = body.filter(|b| payloads && b.len() <= MAX_LOGGED_BODY_BYTES)?;
    let mut buffer = buffer.unwrap_or_default();
    buffer.extend_from_slice(body);
    Some(buffer)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
    fn tap_counts_and_copies_json_usage() {
        let mut tap = ResponseTap::new(true, false);
        let body =
            br#"{"id":"x","usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#;
        tap.push(&body[..20]);
        tap.push(&body[20..]);
        assert_eq!(tap.size, body.len() as u64);
        let usage = tap.usage().map(|u| (u.tokens_in, u.tokens_out));
        assert_eq!(usage, Some((7, 3)));
        assert!(tap.first_byte.is_some());
    }

    #[test]
    fn tap_reads_stream_usage_without_copy() {
        let mut tap = ResponseTap::new(false, true);
        tap.push(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,");
        tap.push(b"\"completion_tokens\":5,\"total_tokens\":7}}\n\ndata: [DONE]\n\n");
        assert!(tap.copy.is_none());
        let usage = tap.usage().map(|u| (u.tokens_in, u.tokens_out));
        assert_eq!(usage, Some((2, 5)));
    }

    #[test]
    fn tap_gives_up_copy_over_the_limit() {
        let mut tap = ResponseTap::new(true, false);
        tap.push(&vec![b'a'; MAX_LOGGED_BODY_BYTES]);
        assert!(tap.copy.is_some());
        tap.push(b"b");
        assert!(tap.copy.is_none());
        assert_eq!(tap.size, MAX_LOGGED_BODY_BYTES as u64 + 1);
    }

    #[test]
    fn bodies_over_the_limit_or_switched_off_are_not_stored() {
        let reused = || Some(Vec::with_capacity(8));
        assert_eq!(stored(reused(), Some(b"abc"), true), Some(b"abc".to_vec()));
        assert_eq!(stored(None, Some(b"abc"), true), Some(b"abc".to_vec()));
        assert_eq!(stored(reused(), Some(b"abc"), false), None);
        assert_eq!(stored(reused(), None, true), None);
        let limit = vec![0; MAX_LOGGED_BODY_BYTES];
        assert!(stored(None, Some(&limit), true).is_some());
        let over = vec![0; MAX_LOGGED_BODY_BYTES + 1];
        assert_eq!(stored(None, Some(&over), true), None);
    }

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
