//! One request's log entry and its mapping to and from a `logs` row
//! (SQLite integers are i64: u64 counts are clamped, never wrapped).

use rusqlite::types::FromSqlError;
use rusqlite::{Row, Statement};

use super::bodies::{BodyPlace, PLACE_PARAMS};
use super::id::created_at_of;
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
    /// Gateway id.
    pub gateway: String,
    /// Provider slug.
    pub provider: String,
    /// The model as the client asked for it (`openai/gpt-4o-mini` on `/compat`).
    pub model: String,
    /// The model as sent upstream (`gpt-4o-mini`); stored only where it differs.
    pub upstream_model: String,
    /// The request path as received (no query string).
    pub path: String,
    /// Status written to the client.
    pub status: u16,
    /// The status was 2xx.
    pub success: bool,
    /// Answered from the cache.
    pub cached: bool,
    /// The response was an event stream.
    pub stream: bool,
    /// From the request's arrival to its last response byte.
    pub duration_ms: u64,
    /// Time to first token (first body byte of a stream).
    pub ttft_ms: Option<u64>,
    /// Input tokens, when the response said.
    pub tokens_in: Option<u64>,
    /// Output tokens, when the response said.
    pub tokens_out: Option<u64>,
    /// USD; `None` when the model has no price.
    pub cost: Option<f64>,
    /// The cost came from `cf-aig-custom-cost`.
    pub custom_cost: bool,
    /// `cf-aig-metadata` as a JSON object text (`{}` when none).
    pub metadata: String,
    /// Request body bytes.
    pub request_size: u64,
    /// Response body bytes, as forwarded.
    pub response_size: u64,
    /// The client's `User-Agent` ("" when none).
    pub user_agent: String,
    /// The `dynamic/` route the request took ("" when none).
    pub route: String,
    /// The version of that route that ran ("" when none).
    pub route_version: String,
    /// The ids of the route's elements the request passed through, as a JSON array
    /// ("" when no route).
    pub route_path: String,
    /// The id of the access token the request came with ("" when none).
    pub access_token: String,
    /// Set later through `LogStore::patch`: -1, 0 or 1.
    pub feedback: Option<i8>,
    /// Set later through `LogStore::patch`: 0 to 100.
    pub score: Option<f64>,
    /// `None` when payload logging is off or the body is over the limit.
    pub request_body: Option<Vec<u8>>,
    /// `None` when payload logging is off or the body is over the limit.
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

/// NULL for "" (most requests take no route).
fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The body as stored: `None` past the size limit.
pub(super) fn stored_body(body: Option<&[u8]>) -> Option<&[u8]> {
    body.filter(|b| b.len() <= MAX_LOGGED_BODY_BYTES)
}

/// Bits of the `flags` column (one column instead of four keeps an insert cheaper).
pub(super) const FLAG_SUCCESS: i64 = 1;
pub(super) const FLAG_CACHED: i64 = 2;
pub(super) const FLAG_STREAM: i64 = 4;
pub(super) const FLAG_CUSTOM_COST: i64 = 8;

/// Every column, the table key first (it holds `created_at`, see `id.rs`), then the
/// bodies' location (`bodies.rs`) from column `PLACE_AT` on.
pub(super) const ALL_COLUMNS: &str = "rowid, id, event_id, gateway, provider, model, \
     upstream_model, path, status, flags, duration_ms, ttft_ms, tokens_in, tokens_out, cost, metadata, \
     request_size, response_size, user_agent, route, route_version, route_path, feedback, score, \
     request_body, response_body, access_token, \
     body_segment, body_offset, request_len, request_crc, response_len, response_crc, \
     request_recipe, request_chunked, request_parts";

/// The first location column in `ALL_COLUMNS`.
pub(super) const PLACE_AT: usize = 27;

/// Every column but the bodies, for listing.
pub(super) const LIST_COLUMNS: &str = "rowid, id, event_id, gateway, provider, model, \
     upstream_model, path, status, flags, duration_ms, ttft_ms, tokens_in, tokens_out, cost, metadata, \
     request_size, response_size, user_agent, route, route_version, route_path, feedback, score, \
     NULL, NULL, access_token";

/// The columns an insert binds, in `bind`'s order (feedback and score start NULL; the
/// blob columns stay NULL: only rows of layout 5 and older keep their bodies there).
const INSERT_COLUMNS: &str = "rowid, id, event_id, gateway, provider, model, upstream_model, \
     path, status, flags, duration_ms, ttft_ms, tokens_in, tokens_out, cost, metadata, request_size, \
     response_size, user_agent, route, route_version, route_path, access_token, \
     body_segment, body_offset, request_len, request_crc, response_len, response_crc, \
     request_parts, request_chunked, parts_segment";

/// Parameters one row binds.
pub(super) const PARAMS_PER_ROW: usize = 23 + PLACE_PARAMS;

/// An insert of `rows` rows in one statement; a row whose key is taken is skipped.
pub(super) fn insert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; PARAMS_PER_ROW].join(", "));
    format!(
        "INSERT OR IGNORE INTO logs ({INSERT_COLUMNS}) VALUES {}",
        vec![row; rows].join(", ")
    )
}

/// A body buffer bigger than this is freed rather than kept for the next entry (the
/// conversations of chat clients and agents reach a few hundred KiB).
const REUSED_BODY_CAPACITY: usize = 512 * 1024;

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
            upstream_model: emptied(&mut self.upstream_model),
            path: emptied(&mut self.path),
            metadata: emptied(&mut self.metadata),
            user_agent: emptied(&mut self.user_agent),
            route: emptied(&mut self.route),
            route_version: emptied(&mut self.route_version),
            route_path: emptied(&mut self.route_path),
            access_token: emptied(&mut self.access_token),
            request_body: emptied_body(&mut self.request_body),
            response_body: emptied_body(&mut self.response_body),
            ..LogEntry::default()
        };
    }

    /// Bytes its body buffers hold (their capacity).
    pub fn body_capacity(&self) -> u64 {
        let capacity = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, |b| b.capacity() as u64);
        capacity(&self.request_body) + capacity(&self.response_body)
    }

    /// Frees its body buffers.
    pub fn free_bodies(&mut self) {
        (self.request_body, self.response_body) = (None, None);
    }

    /// Bytes of the bodies it carries.
    pub fn body_bytes(&self) -> u64 {
        let len = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, |b| b.len() as u64);
        len(&self.request_body) + len(&self.response_body)
    }

    /// Binds this entry as the row whose parameters follow `first` in an `insert_sql`
    /// statement, under table key `key`, borrowing every value; its bodies are at `place`.
    pub(super) fn bind(
        &self,
        insert: &mut Statement<'_>,
        first: usize,
        key: i64,
        place: &BodyPlace,
        parts: &[u8],
    ) -> rusqlite::Result<()> {
        let metadata = if self.metadata.is_empty() {
            "{}"
        } else {
            self.metadata.as_str()
        };
        let flag = |on: bool, bit: i64| if on { bit } else { 0 };
        let flags = flag(self.success, FLAG_SUCCESS)
            | flag(self.cached, FLAG_CACHED)
            | flag(self.stream, FLAG_STREAM)
            | flag(self.custom_cost, FLAG_CUSTOM_COST);
        let cost = self.cost.filter(|c| c.is_finite());
        insert.raw_bind_parameter(first + 1, key)?;
        insert.raw_bind_parameter(first + 2, self.id.as_str())?;
        insert.raw_bind_parameter(first + 3, self.event_id.as_deref())?;
        insert.raw_bind_parameter(first + 4, self.gateway.as_str())?;
        insert.raw_bind_parameter(first + 5, self.provider.as_str())?;
        insert.raw_bind_parameter(first + 6, self.model.as_str())?;
        // NULL: the same as the model asked for (the usual case off `/compat`).
        let upstream = (self.upstream_model != self.model).then_some(self.upstream_model.as_str());
        insert.raw_bind_parameter(first + 7, upstream)?;
        insert.raw_bind_parameter(first + 8, self.path.as_str())?;
        insert.raw_bind_parameter(first + 9, self.status)?;
        insert.raw_bind_parameter(first + 10, flags)?;
        insert.raw_bind_parameter(first + 11, int(self.duration_ms))?;
        insert.raw_bind_parameter(first + 12, self.ttft_ms.map(int))?;
        insert.raw_bind_parameter(first + 13, self.tokens_in.map(int))?;
        insert.raw_bind_parameter(first + 14, self.tokens_out.map(int))?;
        insert.raw_bind_parameter(first + 15, cost)?;
        insert.raw_bind_parameter(first + 16, metadata)?;
        insert.raw_bind_parameter(first + 17, int(self.request_size))?;
        insert.raw_bind_parameter(first + 18, int(self.response_size))?;
        insert.raw_bind_parameter(first + 19, self.user_agent.as_str())?;
        insert.raw_bind_parameter(first + 20, non_empty(&self.route))?;
        insert.raw_bind_parameter(first + 21, non_empty(&self.route_version))?;
        insert.raw_bind_parameter(first + 22, non_empty(&self.route_path))?;
        insert.raw_bind_parameter(first + 23, non_empty(&self.access_token))?;
        place.bind(insert, first + 23, parts)
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
        let text = |i: usize| -> rusqlite::Result<String> {
            Ok(row.get::<_, Option<String>>(i)?.unwrap_or_default())
        };
        let id_text: String = row.get(1)?;
        let id = LogId::parse(&id_text).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                Box::new(FromSqlError::InvalidType),
            )
        })?;
        let flags: i64 = row.get(9)?;
        let model: String = row.get(5)?;
        Ok(LogEntry {
            id,
            event_id: row.get(2)?,
            created_at: created_at_of(row.get(0)?),
            gateway: row.get(3)?,
            provider: row.get(4)?,
            upstream_model: row
                .get::<_, Option<String>>(6)?
                .unwrap_or_else(|| model.clone()),
            model,
            path: row.get(7)?,
            status: u16::try_from(row.get::<_, i64>(8)?).unwrap_or(0),
            success: flags & FLAG_SUCCESS != 0,
            cached: flags & FLAG_CACHED != 0,
            stream: flags & FLAG_STREAM != 0,
            duration_ms: count(10)?,
            ttft_ms: opt_count(11)?,
            tokens_in: opt_count(12)?,
            tokens_out: opt_count(13)?,
            cost: row.get(14)?,
            custom_cost: flags & FLAG_CUSTOM_COST != 0,
            metadata: row.get(15)?,
            request_size: count(16)?,
            response_size: count(17)?,
            user_agent: row.get(18)?,
            route: text(19)?,
            route_version: text(20)?,
            route_path: text(21)?,
            feedback: row
                .get::<_, Option<i64>>(22)?
                .and_then(|f| i8::try_from(f).ok()),
            score: row.get(23)?,
            request_body: row.get(24)?,
            response_body: row.get(25)?,
            access_token: text(26)?,
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
            model: "p/m".into(),
            upstream_model: "m".into(),
            status: 200,
            tokens_in: Some(3),
            request_body: Some(vec![1; 100]),
            response_body: Some(vec![2; REUSED_BODY_CAPACITY + 1]),
            ..LogEntry::default()
        };
        let gateway_capacity = entry.gateway.capacity();
        let upstream_capacity = entry.upstream_model.capacity();
        entry.reuse();
        assert_eq!(entry.gateway.capacity(), gateway_capacity);
        assert_eq!(entry.upstream_model.capacity(), upstream_capacity);
        let request_capacity = entry.request_body.as_ref().map(Vec::capacity);
        assert!(request_capacity.is_some_and(|c| c >= 100));
        // Too big a buffer is let go rather than kept.
        assert_eq!(entry.response_body.as_ref().map(Vec::capacity), Some(0));
        (entry.request_body, entry.response_body) = (None, None);
        assert_eq!(entry, LogEntry::default());
    }
}
