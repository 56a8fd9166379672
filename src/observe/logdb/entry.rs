//! One request's log entry and its mapping to and from a `logs` row
//! (SQLite integers are i64: u64 counts are clamped, never wrapped).

use rusqlite::types::Value;
use rusqlite::Row;

/// Bodies larger than this are not stored (the entry keeps its sizes).
pub const MAX_LOGGED_BODY_BYTES: usize = 10 * 1024 * 1024;

/// One request as the log keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogEntry {
    /// UUIDv7 (`new_log_id`), sent back as `cf-aig-log-id`.
    pub id: String,
    /// The client's `cf-aig-event-id`, else the log id.
    pub event_id: String,
    /// Milliseconds since the Unix epoch, when the request arrived.
    pub created_at: i64,
    pub gateway: String,
    pub provider: String,
    pub model: String,
    /// The request path as received (no query string).
    pub path: String,
    pub status: u16,
    pub success: bool,
    pub cached: bool,
    pub stream: bool,
    pub duration_ms: u64,
    /// Time to first token (first body byte of a stream).
    pub ttft_ms: Option<u64>,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    /// USD; `None` when the model has no price.
    pub cost: Option<f64>,
    /// The cost came from `cf-aig-custom-cost`.
    pub custom_cost: bool,
    /// `cf-aig-metadata` as a JSON object text (`{}` when none).
    pub metadata: String,
    pub request_size: u64,
    pub response_size: u64,
    pub user_agent: String,
    /// Set later through `LogStore::patch`: -1, 0 or 1.
    pub feedback: Option<i8>,
    /// Set later through `LogStore::patch`: 0 to 100.
    pub score: Option<f64>,
    /// `None` when payload logging is off or the body is over the limit.
    pub request_body: Option<Vec<u8>>,
    pub response_body: Option<Vec<u8>>,
}

/// A body as the log should keep it: `None` when logging payloads is off or the
/// body is over [`MAX_LOGGED_BODY_BYTES`].
pub fn keep_payload(body: Vec<u8>, log_payloads: bool) -> Option<Vec<u8>> {
    (log_payloads && body.len() <= MAX_LOGGED_BODY_BYTES).then_some(body)
}

fn int(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

fn opt_int(n: Option<u64>) -> Value {
    n.map_or(Value::Null, int)
}

fn blob(body: &Option<Vec<u8>>) -> Value {
    match body {
        Some(b) if b.len() <= MAX_LOGGED_BODY_BYTES => Value::Blob(b.clone()),
        _ => Value::Null,
    }
}

/// Every column, in table order.
pub(super) const ALL_COLUMNS: &str = "id, event_id, created_at, gateway, provider, model, path, \
     status, success, cached, stream, duration_ms, ttft_ms, tokens_in, tokens_out, cost, \
     custom_cost, metadata, request_size, response_size, user_agent, feedback, score, \
     request_body, response_body";

/// Every column but the bodies, for listing.
pub(super) const LIST_COLUMNS: &str = "id, event_id, created_at, gateway, provider, model, path, \
     status, success, cached, stream, duration_ms, ttft_ms, tokens_in, tokens_out, cost, \
     custom_cost, metadata, request_size, response_size, user_agent, feedback, score, \
     NULL, NULL";

pub(super) const INSERT_SQL: &str = "INSERT OR IGNORE INTO logs (id, event_id, created_at, \
     gateway, provider, model, path, status, success, cached, stream, duration_ms, ttft_ms, \
     tokens_in, tokens_out, cost, custom_cost, metadata, request_size, response_size, \
     user_agent, feedback, score, request_body, response_body) VALUES (?1, ?2, ?3, ?4, ?5, \
     ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, \
     ?24, ?25)";

impl LogEntry {
    /// The values of `INSERT_SQL`, in order.
    pub(super) fn to_row(&self) -> [Value; 25] {
        [
            Value::Text(self.id.clone()),
            Value::Text(self.event_id.clone()),
            Value::Integer(self.created_at),
            Value::Text(self.gateway.clone()),
            Value::Text(self.provider.clone()),
            Value::Text(self.model.clone()),
            Value::Text(self.path.clone()),
            Value::Integer(i64::from(self.status)),
            Value::Integer(i64::from(self.success)),
            Value::Integer(i64::from(self.cached)),
            Value::Integer(i64::from(self.stream)),
            int(self.duration_ms),
            opt_int(self.ttft_ms),
            opt_int(self.tokens_in),
            opt_int(self.tokens_out),
            self.cost
                .filter(|c| c.is_finite())
                .map_or(Value::Null, Value::Real),
            Value::Integer(i64::from(self.custom_cost)),
            Value::Text(self.metadata.clone()),
            int(self.request_size),
            int(self.response_size),
            Value::Text(self.user_agent.clone()),
            self.feedback
                .map_or(Value::Null, |f| Value::Integer(i64::from(f))),
            self.score.map_or(Value::Null, Value::Real),
            blob(&self.request_body),
            blob(&self.response_body),
        ]
    }

    /// An entry from a row selected with `ALL_COLUMNS` or `LIST_COLUMNS`.
    pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<LogEntry> {
        let count =
            |i: usize| -> rusqlite::Result<u64> { Ok(row.get::<_, i64>(i)?.max(0).unsigned_abs()) };
        let opt_count = |i: usize| -> rusqlite::Result<Option<u64>> {
            Ok(row
                .get::<_, Option<i64>>(i)?
                .map(|n| n.max(0).unsigned_abs()))
        };
        Ok(LogEntry {
            id: row.get(0)?,
            event_id: row.get(1)?,
            created_at: row.get(2)?,
            gateway: row.get(3)?,
            provider: row.get(4)?,
            model: row.get(5)?,
            path: row.get(6)?,
            status: u16::try_from(row.get::<_, i64>(7)?).unwrap_or(0),
            success: row.get(8)?,
            cached: row.get(9)?,
            stream: row.get(10)?,
            duration_ms: count(11)?,
            ttft_ms: opt_count(12)?,
            tokens_in: opt_count(13)?,
            tokens_out: opt_count(14)?,
            cost: row.get(15)?,
            custom_cost: row.get(16)?,
            metadata: row.get(17)?,
            request_size: count(18)?,
            response_size: count(19)?,
            user_agent: row.get(20)?,
            feedback: row
                .get::<_, Option<i64>>(21)?
                .and_then(|f| i8::try_from(f).ok()),
            score: row.get(22)?,
            request_body: row.get(23)?,
            response_body: row.get(24)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_over_the_limit_or_switched_off_are_not_kept() {
        assert_eq!(keep_payload(b"abc".to_vec(), true), Some(b"abc".to_vec()));
        assert_eq!(keep_payload(b"abc".to_vec(), false), None);
        assert!(keep_payload(vec![0; MAX_LOGGED_BODY_BYTES], true).is_some());
        assert_eq!(keep_payload(vec![0; MAX_LOGGED_BODY_BYTES + 1], true), None);
    }

    #[test]
    fn counts_past_i64_are_clamped_not_wrapped() {
        let entry = LogEntry {
            duration_ms: u64::MAX,
            tokens_in: Some(u64::MAX),
            ..LogEntry::default()
        };
        let row = entry.to_row();
        assert_eq!(row[11], Value::Integer(i64::MAX));
        assert_eq!(row[13], Value::Integer(i64::MAX));
        assert_eq!(row[14], Value::Null);
    }
}
