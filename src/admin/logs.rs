//! The logs API under `/api/v1/gateways/{id}/logs`: list with totals, one entry,
//! its stored bodies, the feedback patch and delete by filter, over a `LogStore`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::query::list_query;
use super::reply::{ErrorKind, Reply};
use crate::observe::logdb::{LogDbError, LogEntry, LogStore, MAX_PER_PAGE};
use crate::observe::parse_metadata;
use crate::rfc3339::format_rfc3339_ms;

/// Which stored body `GET .../logs/{id}/{request|response}` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPart {
    Request,
    Response,
}

fn store_error(e: LogDbError) -> Reply {
    log::error!("admin: {e}");
    Reply::error(ErrorKind::Internal, "the request log could not be read")
}

fn not_found(log_id: &str) -> Reply {
    Reply::error(
        ErrorKind::NotFound,
        format!("no log {log_id} in this gateway"),
    )
}

/// An entry as the API shows it (bodies never inline: they have their own routes).
pub fn entry_json(e: &LogEntry) -> Value {
    // Stored metadata is the object text written at request time.
    let metadata = serde_json::from_str::<Value>(&e.metadata).unwrap_or_else(|_| json!({}));
    json!({
        "id": e.id.as_str(),
        "event_id": e.event_id.as_deref().unwrap_or(e.id.as_str()),
        "created_at": format_rfc3339_ms(e.created_at),
        "created_at_ms": e.created_at,
        "gateway": e.gateway,
        "provider": e.provider,
        "model": e.model,
        "upstream_model": e.upstream_model,
        "path": e.path,
        "status": e.status,
        "success": e.success,
        "cached": e.cached,
        "stream": e.stream,
        "duration_ms": e.duration_ms,
        "ttft_ms": e.ttft_ms,
        "tokens_in": e.tokens_in,
        "tokens_out": e.tokens_out,
        "cost": e.cost,
        "custom_cost": e.custom_cost,
        "metadata": metadata,
        "request_size": e.request_size,
        "response_size": e.response_size,
        "user_agent": e.user_agent,
        "route": (!e.route.is_empty()).then_some(&e.route),
        "route_version": (!e.route_version.is_empty()).then_some(&e.route_version),
        "route_path": serde_json::from_str::<Value>(&e.route_path).ok(),
        "access_token": (!e.access_token.is_empty()).then_some(&e.access_token),
        "feedback": e.feedback,
        "score": e.score,
    })
}

/// `GET .../logs`: one page, with the totals of the whole filter.
pub fn list(store: &LogStore, gateway: &str, query: Option<&str>) -> Reply {
    let query = match list_query(gateway, query, true) {
        Ok(q) => q,
        Err(reply) => return reply,
    };
    let listed = match store.list(&query) {
        Ok(l) => l,
        Err(e) => return store_error(e),
    };
    let totals = listed.totals;
    let result: Vec<Value> = listed.entries.iter().map(entry_json).collect();
    Reply::json(
        200,
        &json!({
            "success": true,
            "result": result,
            "result_info": {
                "page": query.page,
                "per_page": query.per_page.min(MAX_PER_PAGE),
                "count": result.len(),
                "total_count": totals.requests,
            },
            "totals": {
                "requests": totals.requests,
                "tokens_in": totals.tokens_in,
                "tokens_out": totals.tokens_out,
                "cost": totals.cost,
            },
        }),
    )
}

/// The entry `log_id` of `gateway` (an entry of another gateway is not found).
fn find(store: &LogStore, gateway: &str, log_id: &str) -> Result<LogEntry, Reply> {
    match store.get(log_id) {
        Ok(Some(entry)) if entry.gateway == gateway => Ok(entry),
        Ok(_) => Err(not_found(log_id)),
        Err(e) => Err(store_error(e)),
    }
}

/// `GET .../logs/{log_id}`.
pub fn get(store: &LogStore, gateway: &str, log_id: &str) -> Reply {
    match find(store, gateway, log_id) {
        Ok(entry) => {
            let mut shown = entry_json(&entry);
            shown["request_body_stored"] = entry.request_body.is_some().into();
            shown["response_body_stored"] = entry.response_body.is_some().into();
            Reply::ok(shown)
        }
        Err(reply) => reply,
    }
}

/// `GET .../logs/{log_id}/request` or `/response`: the body as it was stored,
/// byte for byte (a stream's body is its SSE text).
pub fn body(store: &LogStore, gateway: &str, log_id: &str, part: BodyPart) -> Reply {
    let entry = match find(store, gateway, log_id) {
        Ok(entry) => entry,
        Err(reply) => return reply,
    };
    let (stored, content_type) = match part {
        BodyPart::Request => (entry.request_body, "application/json"),
        BodyPart::Response if entry.stream => (entry.response_body, "text/event-stream"),
        BodyPart::Response => (entry.response_body, "application/json"),
    };
    match stored {
        Some(bytes) => Reply::bytes(content_type, bytes),
        None => Reply::error(
            ErrorKind::NotFound,
            format!("log {log_id} has no stored body (payload logging off, or over 10 MB)"),
        ),
    }
}

/// The body of `PATCH .../logs/{log_id}`; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    feedback: Option<i8>,
    score: Option<f64>,
    metadata: Option<Value>,
}

/// `PATCH .../logs/{log_id}` with `{feedback: -1|0|1, score: 0..100, metadata: {..}}`;
/// answers the entry as it now is.
pub fn patch(store: &LogStore, gateway: &str, log_id: &str, body: &[u8]) -> Reply {
    let patch: Patch = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            return Reply::error(ErrorKind::BadRequest, format!("invalid patch body: {e}"));
        }
    };
    let metadata = match &patch.metadata {
        None => None,
        // The same rules as the cf-aig-metadata header: flat, at most five entries.
        Some(value) => match parse_metadata(value.to_string().as_bytes()) {
            Ok(m) => Some(m),
            Err(e) => {
                return Reply::error_on(ErrorKind::BadRequest, e.to_string(), Some("metadata"))
            }
        },
    };
    if let Err(reply) = find(store, gateway, log_id) {
        return reply;
    }
    match store.patch(log_id, patch.feedback, patch.score, metadata.as_ref()) {
        Ok(true) => get(store, gateway, log_id),
        Ok(false) => not_found(log_id),
        Err(LogDbError::BadPatch(why)) => Reply::error(ErrorKind::BadRequest, why),
        Err(e) => store_error(e),
    }
}

/// `DELETE .../logs` with the list filters (no page): deletes what they cover
/// in this gateway and answers how many.
pub fn delete(store: &LogStore, gateway: &str, query: Option<&str>) -> Reply {
    let query = match list_query(gateway, query, false) {
        Ok(q) => q,
        Err(reply) => return reply,
    };
    match store.delete(&query.filter) {
        Ok(deleted) => Reply::ok(json!({ "deleted": deleted })),
        Err(e) => store_error(e),
    }
}
