//! One request's log entry and its mapping to and from a `logs` row
//! (SQLite integers are i64: u64 counts are clamped, never wrapped).

use rusqlite::types::FromSqlError;
use rusqlite::{Row, Statement};

use super::LogId;

/// Bodies larger than this are not stored (the entry keeps its sizes).
pub const MAX_LOGGED_BODY_BYTES: usize = 10 * 1024 * 1024;

/// One request as the log keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogEntry {
    /// Sent back as `cf-aig-log-id`; its timestamp is `created_at`.
    pub id: LogId,
    /// The client's `cf-aig-event-id`; `None`: the log id stands for it.
    pub event_id: Option<String>,
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

impl Default for LogId {
    fn default() -> Self {
        LogId::NIL
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn stored_body(body: Option<&[u8]>) -> Option<&[u8]> {
    body.filter(|b| b.len() <= MAX_LOGGED_BODY_BYTES)
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

/// `rowid` first (see `id.rs`), then every column in table order.
pub(super) const INSERT_SQL: &str = "INSERT OR IGNORE INTO logs (rowid, id, event_id, \
     created_at, gateway, provider, model, path, status, success, cached, stream, \
     duration_ms, ttft_ms, tokens_in, tokens_out, cost, custom_cost, metadata, request_size, \
     response_size, user_agent, feedback, score, request_body, response_body) VALUES (?1, ?2, \
     ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, \
     ?22, ?23, ?24, ?25, ?26)";

/// A body buffer bigger than this is freed rather than kept for the next entry.
const REUSED_BODY_CAPACITY: usize = 16 * 1024;

impl LogEntry {
    /// Empties the entry for the next request, keeping its strings' memory and its
    /// bodies' buffers (`Some`, empty) unless they grew large.
    pub fn reuse(&mut self) {
        fn emptied(s: &mut String) -> String {
            let mut s = std::mem::take(s);
            s.clear();
            s
        }
        fn emptied_body(body: &mut Option<Vec<u8>>) -> Option<Vec<u8>> {
            let mut buffer = body.take().unwrap_or_default();
            buffer.clear();
            if buffer.capacity() > REUSED_BODY_CAPACITY {
                buffer = Vec::new();
            }
            Some(buffer)
        }
        *self = LogEntry {
            gateway: emptied(&mut self.gateway),
            provider: emptied(&mut self.provider),
            model: emptied(&mut self.model),
            path: emptied(&mut self.path),
            metadata: emptied(&mut self.metadata),
            user_agent: emptied(&mut self.user_agent),
            request_body: emptied_body(&mut self.request_body),
            response_body: emptied_body(&mut self.response_body),
            ..LogEntry::default()
        };
    }

    /// Bytes of the bodies it carries.
    pub fn body_bytes(&self) -> u64 {
        let len = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, |b| b.len() as u64);
        len(&self.request_body) + len(&self.response_body)
    }

    /// Binds this entry to `INSERT_SQL` under table key `key`, borrowing every value.
    pub(super) fn bind(&self, insert: &mut Statement<'_>, key: i64) -> rusqlite::Result<()> {
        let metadata = if self.metadata.is_empty() {
            "{}"
        } else {
            self.metadata.as_str()
        };
        let cost = self.cost.filter(|c| c.is_finite());
        insert.raw_bind_parameter(1, key)?;
        insert.raw_bind_parameter(2, self.id.as_str())?;
        insert.raw_bind_parameter(3, self.event_id.as_deref())?;
        insert.raw_bind_parameter(4, self.created_at)?;
        insert.raw_bind_parameter(5, self.gateway.as_str())?;
        insert.raw_bind_parameter(6, self.provider.as_str())?;
        insert.raw_bind_parameter(7, self.model.as_str())?;
        insert.raw_bind_parameter(8, self.path.as_str())?;
        insert.raw_bind_parameter(9, self.status)?;
        insert.raw_bind_parameter(10, self.success)?;
        insert.raw_bind_parameter(11, self.cached)?;
        insert.raw_bind_parameter(12, self.stream)?;
        insert.raw_bind_parameter(13, int(self.duration_ms))?;
        insert.raw_bind_parameter(14, self.ttft_ms.map(int))?;
        insert.raw_bind_parameter(15, self.tokens_in.map(int))?;
        insert.raw_bind_parameter(16, self.tokens_out.map(int))?;
        insert.raw_bind_parameter(17, cost)?;
        insert.raw_bind_parameter(18, self.custom_cost)?;
        insert.raw_bind_parameter(19, metadata)?;
        insert.raw_bind_parameter(20, int(self.request_size))?;
        insert.raw_bind_parameter(21, int(self.response_size))?;
        insert.raw_bind_parameter(22, self.user_agent.as_str())?;
        insert.raw_bind_parameter(23, self.feedback)?;
        insert.raw_bind_parameter(24, self.score)?;
        insert.raw_bind_parameter(25, stored_body(self.request_body.as_deref()))?;
        insert.raw_bind_parameter(26, stored_body(self.response_body.as_deref()))?;
        Ok(())
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
        let id_text: String = row.get(0)?;
        let id = LogId::parse(&id_text).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                Box::new(FromSqlError::InvalidType),
            )
        })?;
        Ok(LogEntry {
            id,
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
    fn reuse_empties_every_field_and_keeps_buffers() {
        let mut entry = LogEntry {
            id: LogId::new(5),
            event_id: Some("e".into()),
            created_at: 5,
            gateway: "gw".into(),
            model: "m".into(),
            status: 200,
            tokens_in: Some(3),
            request_body: Some(vec![1; 100]),
            response_body: Some(vec![2; REUSED_BODY_CAPACITY + 1]),
            ..LogEntry::default()
        };
        let gateway_capacity = entry.gateway.capacity();
        entry.reuse();
        assert_eq!(entry.gateway.capacity(), gateway_capacity);
        let request_capacity = entry.request_body.as_ref().map(Vec::capacity);
        assert!(request_capacity.is_some_and(|c| c >= 100));
        // Too big a buffer is let go rather than kept.
        assert_eq!(entry.response_body.as_ref().map(Vec::capacity), Some(0));
        (entry.request_body, entry.response_body) = (None, None);
        assert_eq!(entry, LogEntry::default());
    }
}
