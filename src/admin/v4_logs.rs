//! The logs resource in the hosted API's v4 shape (`gateways/{id}/logs`, the SDK's
//! `ai_gateway.logs`): its query parameters read into the same `ListQuery` the
//! `/api/v1` logs API uses, and entries shown with the SDK's field names.

use super::logs::{self, entry_json, BodyPart};
use super::query::parse_pairs;
use super::reply::Reply;
use super::v4::code;
use crate::http::Method;
use crate::observe::logdb::{
    CompareOp, Direction, ListQuery, LogCondition, LogEntry, LogField, LogStore, OrderBy,
    MAX_PER_PAGE,
};
use crate::rfc3339::parse_time_ms;
use rusqlite::types::Value as SqlValue;
use serde_json::{json, Value};

/// Answers `gateways/{gateway}/logs/{tail}`.
pub fn handle(
    store: &LogStore,
    method: &Method,
    gateway: &str,
    tail: &[&str],
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    match (method, tail) {
        (Method::Get, []) => match read_query(gateway, query, true) {
            Ok(list) => list_logs(store, &list),
            Err(reply) => reply,
        },
        (Method::Delete, []) => match read_query(gateway, query, false) {
            Ok(list) => match store.delete(&list.filter) {
                Ok(deleted) => Reply::json(
                    200,
                    &json!({"success": true, "errors": [], "messages": [], "result": {"deleted": deleted}}),
                ),
                Err(e) => internal(e),
            },
            Err(reply) => reply,
        },
        (Method::Get, [id]) => match store.get(id) {
            Ok(Some(entry)) if entry.gateway == gateway => Reply::v4(200, v4_entry(&entry)),
            Ok(_) => Reply::v4_error(404, code::NOT_FOUND, format!("no log {id} in this gateway")),
            Err(e) => internal(e),
        },
        // The same handlers as /api/v1: the bodies byte for byte, the patch's rules.
        (Method::Patch, [id]) => logs::patch(store, gateway, id, body),
        (Method::Get, [id, "request"]) => logs::body(store, gateway, id, BodyPart::Request),
        (Method::Get, [id, "response"]) => logs::body(store, gateway, id, BodyPart::Response),
        _ => Reply::v4_error(405, code::METHOD, "method not allowed on this route"),
    }
}

fn internal(e: crate::observe::logdb::LogDbError) -> Reply {
    log::error!("management API: {e}");
    Reply::v4_error(500, code::INTERNAL, "the request log could not be read")
}

fn list_logs(store: &LogStore, list: &ListQuery) -> Reply {
    match store.list(list) {
        Ok(listed) => Reply::v4_page(
            listed.entries.iter().map(v4_entry).collect(),
            list.page as usize,
            list.per_page.min(MAX_PER_PAGE) as usize,
            listed.totals.requests as usize,
        ),
        Err(e) => internal(e),
    }
}

/// An entry with the SDK's names (`duration`, `status_code`, `metadata` as JSON text)
/// beside sluice's own.
fn v4_entry(entry: &LogEntry) -> Value {
    let mut shown = entry_json(entry);
    shown["duration"] = json!(entry.duration_ms);
    shown["status_code"] = json!(entry.status);
    shown["metadata"] = json!(entry.metadata);
    shown["step"] = json!(0);
    shown["model_type"] = Value::Null;
    shown["request_type"] = json!(if entry.stream { "stream" } else { "json" });
    shown["request_content_type"] = json!("application/json");
    shown["response_content_type"] = json!(if entry.stream {
        "text/event-stream"
    } else {
        "application/json"
    });
    shown
}

/// A filter value as its field holds it: numbers for the numeric fields, text otherwise.
fn typed_value(field: LogField, value: String) -> SqlValue {
    let numeric = matches!(
        field,
        LogField::Cost
            | LogField::TokensIn
            | LogField::TokensOut
            | LogField::Tokens
            | LogField::Duration
            | LogField::Feedback
    );
    match value.parse::<f64>() {
        Ok(n) if numeric => SqlValue::Real(n),
        _ => SqlValue::Text(value),
    }
}

/// The SDK's list (or, without `paged`, delete) parameters as a `ListQuery`:
/// `filters` (`filters.key`, `filters.operator` and `filters.value`, repeated, paired in order), the
/// `min_*`/`max_*` ranges, `provider`, `model`, `success`, `cached`, `feedback`,
/// `start_date`/`end_date`, `order_by`, `order_by_direction` (or `direction`), `page`,
/// `per_page`; delete's `limit` is refused above 0 (deleting takes every match).
fn read_query(gateway: &str, query: Option<&str>, paged: bool) -> Result<ListQuery, Reply> {
    let bad =
        |param: &str, what: &str| Reply::v4_error(400, code::INVALID, format!("{param}: {what}"));
    let pairs = parse_pairs(query.unwrap_or(""))
        .map_err(|_| Reply::v4_error(400, code::INVALID, "invalid query string"))?;
    let mut list = ListQuery::default();
    list.filter.gateway = Some(gateway.to_string());
    let filter = &mut list.filter;
    let mut conditions: Vec<LogCondition> = Vec::new();
    let (mut filter_keys, mut filter_ops, mut filter_values) = (Vec::new(), Vec::new(), Vec::new());
    let number = |param: &str, value: &str| -> Result<f64, Reply> {
        value.parse::<f64>().map_err(|_| bad(param, "a number"))
    };
    for (key, value) in pairs {
        let param = key.as_str();
        let range = |field: LogField, op: CompareOp| -> Result<LogCondition, Reply> {
            Ok(LogCondition {
                field,
                op,
                values: vec![SqlValue::Real(number(param, &value)?)],
            })
        };
        match param {
            // The SDK sends every key, then every operator, then every value.
            "filters.key" => filter_keys.push(value),
            "filters.operator" => filter_ops.push(value),
            "filters.value" => filter_values.push(value),
            "min_cost" => conditions.push(range(LogField::Cost, CompareOp::AtLeast)?),
            "max_cost" => conditions.push(range(LogField::Cost, CompareOp::AtMost)?),
            "min_duration" => conditions.push(range(LogField::Duration, CompareOp::AtLeast)?),
            "max_duration" => conditions.push(range(LogField::Duration, CompareOp::AtMost)?),
            "min_tokens_in" => conditions.push(range(LogField::TokensIn, CompareOp::AtLeast)?),
            "max_tokens_in" => conditions.push(range(LogField::TokensIn, CompareOp::AtMost)?),
            "min_tokens_out" => conditions.push(range(LogField::TokensOut, CompareOp::AtLeast)?),
            "max_tokens_out" => conditions.push(range(LogField::TokensOut, CompareOp::AtMost)?),
            "min_total_tokens" => conditions.push(range(LogField::Tokens, CompareOp::AtLeast)?),
            "max_total_tokens" => conditions.push(range(LogField::Tokens, CompareOp::AtMost)?),
            "feedback" => conditions.push(LogCondition {
                field: LogField::Feedback,
                op: CompareOp::Eq,
                values: vec![SqlValue::Integer(number(param, &value)? as i64)],
            }),
            "provider" => filter.provider = Some(value),
            "model" => filter.model = Some(value),
            "success" | "cached" => {
                let flag = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad(param, "true or false")),
                };
                match param {
                    "success" => filter.success = Some(flag),
                    _ => filter.cached = Some(flag),
                }
            }
            "start_date" => filter.created_from = Some(parse_time_ms(&value).ok_or_else(|| bad(param, "a time"))?),
            "end_date" => filter.created_to = Some(parse_time_ms(&value).ok_or_else(|| bad(param, "a time"))?),
            "order_by" => {
                list.order_by = OrderBy::from_name(&value).ok_or_else(|| {
                    bad(param, "created_at, provider, model, success, cached, cost, tokens_in, tokens_out, duration or feedback")
                })?
            }
            "order_by_direction" | "direction" => {
                list.direction = match value.as_str() {
                    "asc" => Direction::Asc,
                    "desc" => Direction::Desc,
                    _ => return Err(bad(param, "asc or desc")),
                }
            }
            "page" if paged => list.page = number(param, &value)?.max(1.0) as u32,
            "per_page" if paged => list.per_page = number(param, &value)?.max(1.0) as u32,
            "limit" if !paged && number(param, &value)? <= 0.0 => {}
            // Shown fields the hosted API can leave out; sluice always sends them.
            "meta_info" => {}
            _ => return Err(bad(param, "not a parameter sluice implements")),
        }
    }
    if filter_ops.len() != filter_keys.len() || filter_values.len() != filter_keys.len() {
        return Err(bad(
            "filters",
            "each filter takes one key, one operator and one value (several values in one filter cannot be told apart in this encoding: send one filter per value)",
        ));
    }
    for ((key, op), value) in filter_keys.iter().zip(&filter_ops).zip(filter_values) {
        let field = LogField::from_name(key).ok_or_else(|| {
            bad(
                "filters.key",
                &format!("{key:?} is not a field sluice records"),
            )
        })?;
        let op = CompareOp::from_name(op)
            .ok_or_else(|| bad("filters.operator", "eq, neq, contains, lt or gt"))?;
        conditions.push(LogCondition {
            field,
            op,
            values: vec![typed_value(field, value)],
        });
    }
    list.filter.conditions = conditions;
    Ok(list)
}
