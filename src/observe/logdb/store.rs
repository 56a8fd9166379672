//! Reading and editing the request log for the admin API: list with filters, order,
//! pages and totals; one entry with its bodies; feedback patch; delete by filter.

use rusqlite::types::Value;
use std::collections::HashMap;
use std::path::PathBuf;

use rusqlite::{params_from_iter, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::bodies::BodyPlace;
use super::chunks;
use super::entry::{ALL_COLUMNS, LIST_COLUMNS, PLACE_AT};
use super::id::row_key_range;
use super::query::{ListQuery, LogFilter};
use super::retention::forget;
use super::segments::remove_dead_segments;
use super::{LogDbError, LogEntry, LogId};
use crate::observe::metadata::Metadata;

/// Sums over every entry a filter covers (not only the page shown).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Entries covered.
    pub requests: u64,
    /// Input tokens summed.
    pub tokens_in: u64,
    /// Output tokens summed.
    pub tokens_out: u64,
    /// USD, over the entries whose cost is known.
    pub cost: f64,
}

/// One page of entries (bodies left out) and the totals of the whole filter.
#[derive(Debug, Clone, PartialEq)]
pub struct LogList {
    /// The page, bodies left out.
    pub entries: Vec<LogEntry>,
    /// Sums over the whole filter.
    pub totals: Totals,
}

/// A connection for reading and editing the log; not shared between threads.
#[derive(Debug)]
pub struct LogStore {
    conn: Connection,
    /// The body segments' folder.
    bodies: PathBuf,
}

fn count(n: i64) -> u64 {
    n.max(0).unsigned_abs()
}

impl LogStore {
    pub(super) fn new(conn: Connection, bodies: PathBuf) -> LogStore {
        LogStore { conn, bodies }
    }

    /// The connection, for the queries other modules of the log make (`analytics.rs`).
    pub(super) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// One page of `query`, newest first unless asked otherwise, with totals.
    /// Listed entries have `request_body`/`response_body` `None`: use [`Self::get`].
    pub fn list(&self, query: &ListQuery) -> Result<LogList, LogDbError> {
        let (filter_sql, params) = query.filter.where_clause();
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM logs{filter_sql}{}",
            query.order_and_page()
        );
        let mut statement = self.conn.prepare(&sql)?;
        let entries = statement
            .query_map(params_from_iter(params.iter()), LogEntry::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LogList {
            entries,
            totals: self.totals(&query.filter)?,
        })
    }

    /// Totals over every entry `filter` covers.
    pub fn totals(&self, filter: &LogFilter) -> Result<Totals, LogDbError> {
        let (filter_sql, params) = filter.where_clause();
        let sql = format!(
            "SELECT COUNT(*), COALESCE(SUM(tokens_in), 0), COALESCE(SUM(tokens_out), 0), \
             COALESCE(SUM(cost), 0.0) FROM logs{filter_sql}"
        );
        let totals = self
            .conn
            .query_row(&sql, params_from_iter(params.iter()), |row| {
                Ok(Totals {
                    requests: count(row.get(0)?),
                    tokens_in: count(row.get(1)?),
                    tokens_out: count(row.get(2)?),
                    cost: row.get(3)?,
                })
            })?;
        Ok(totals)
    }

    /// One entry with its bodies, by log id (`None` for a text that is no log id). A
    /// body whose segment bytes are gone or damaged is `None`, like one never stored.
    pub fn get(&self, id: &str) -> Result<Option<LogEntry>, LogDbError> {
        let Some((id, from, to)) = keys_of(id) else {
            return Ok(None);
        };
        let sql = format!("SELECT {ALL_COLUMNS} FROM logs WHERE {BY_ID}");
        let found = self
            .conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params![from, to, id.as_str()], |row| {
                Ok((
                    LogEntry::from_row(row)?,
                    BodyPlace::from_row(row, PLACE_AT)?,
                    row.get::<_, Option<Vec<u8>>>(PLACE_AT + 6)?,
                    row.get::<_, Option<Vec<u8>>>(PLACE_AT + 8)?,
                ))
            })
            .optional()?;
        let Some((mut entry, place, recipe, parts)) = found else {
            return Ok(None);
        };
        // Else an older row, whose bodies are in its blob columns.
        if let Some(place) = &place {
            (entry.request_body, entry.response_body) = place.read(&self.bodies);
        }
        // The request's messages stored once, spliced back into its skeleton (by where
        // they are, or for a layout-6 row by hash).
        if let Some(skeleton) = &entry.request_body {
            if let (Some(parts), Some(place)) = (parts, &place) {
                entry.request_body =
                    chunks::assemble_parts(&self.bodies, place.segment, skeleton, &parts);
            } else if let Some(recipe) = recipe {
                entry.request_body = chunks::assemble(&self.conn, &self.bodies, skeleton, &recipe)?;
            }
        }
        Ok(Some(entry))
    }

    /// Sets what is given of feedback (-1, 0 or 1), score (0 to 100) and
    /// metadata (replaced whole); `Ok(false)` when there is no such entry.
    pub fn patch(
        &self,
        id: &str,
        feedback: Option<i8>,
        score: Option<f64>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, LogDbError> {
        if feedback.is_some_and(|f| !(-1..=1).contains(&f)) {
            return Err(LogDbError::BadPatch("feedback must be -1, 0 or 1"));
        }
        if score.is_some_and(|s| !(0.0..=100.0).contains(&s)) {
            return Err(LogDbError::BadPatch("score must be between 0 and 100"));
        }
        let mut sets = Vec::new();
        let mut params = Vec::new();
        if let Some(f) = feedback {
            sets.push("feedback = ?");
            params.push(Value::Integer(i64::from(f)));
        }
        if let Some(s) = score {
            sets.push("score = ?");
            params.push(Value::Real(s));
        }
        if let Some(m) = metadata {
            sets.push("metadata = ?");
            params.push(Value::Text(m.to_json()));
        }
        let Some((id, from, to)) = keys_of(id) else {
            return Ok(false);
        };
        params.extend([
            Value::Integer(from),
            Value::Integer(to),
            Value::Text(id.as_str().to_string()),
        ]);
        // With nothing to change, the no-op still tells whether the entry exists.
        let sets = if sets.is_empty() {
            "id = id".to_string()
        } else {
            sets.join(", ")
        };
        let sql = format!("UPDATE logs SET {sets} WHERE {BY_ID}");
        let changed = self.conn.execute(&sql, params_from_iter(params.iter()))?;
        Ok(changed > 0)
    }

    /// Whether `gateway` has entries (from the retention counts, one key lookup).
    pub fn has_entries(&self, gateway: &str) -> Result<bool, LogDbError> {
        let entries: Option<i64> = self
            .conn
            .query_row(
                "SELECT entries FROM log_counts WHERE gateway = ?",
                [gateway],
                |row| row.get(0),
            )
            .optional()?;
        Ok(entries.is_some_and(|n| n > 0))
    }

    /// Deletes every entry `filter` covers (all of them for an empty filter);
    /// returns how many went. Each gateway's count for retention goes down with them.
    pub fn delete(&self, filter: &LogFilter) -> Result<u64, LogDbError> {
        let (filter_sql, params) = filter.where_clause();
        // IMMEDIATE: the writer's inserts and trims wait, so the counts stay exact.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        // Per gateway: entries and body bytes deleted.
        let mut per_gateway: HashMap<String, (u64, u64)> = HashMap::new();
        {
            let mut delete = tx.prepare(&format!(
                "DELETE FROM logs{filter_sql} RETURNING gateway, COALESCE(request_len, 0) \
                 + COALESCE(request_chunked, 0) + COALESCE(response_len, 0), request_recipe"
            ))?;
            let mut rows = delete.query(params_from_iter(params.iter()))?;
            while let Some(row) = rows.next()? {
                let slot = per_gateway.entry(row.get(0)?).or_default();
                slot.0 += 1;
                slot.1 = slot.1.saturating_add(count(row.get(1)?));
                if let Some(recipe) = row.get::<_, Option<Vec<u8>>>(2)? {
                    chunks::release(&tx, &recipe)?;
                }
            }
        }
        for (gateway, (entries, bytes)) in &per_gateway {
            forget(&tx, gateway, *entries, *bytes)?;
        }
        tx.commit()?;
        if !per_gateway.is_empty() {
            // The segment counts went down with the rows (a trigger): their files go. The
            // entries are gone either way; a segment left over goes at the next removal.
            if let Err(e) = remove_dead_segments(&self.conn, &self.bodies) {
                log::warn!("request log: segments not removed: {e}");
            }
        }
        Ok(per_gateway.values().map(|n| n.0).sum())
    }
}

/// Matches one entry by its table key range and id.
const BY_ID: &str = "rowid >= ? AND rowid < ? AND id = ?";

/// The id and the table key range of its millisecond, if `text` is a log id.
fn keys_of(text: &str) -> Option<(LogId, i64, i64)> {
    let id = LogId::parse(text)?;
    let ms = id.millis();
    let (from, to) = row_key_range(ms, ms.saturating_add(1));
    Some((id, from, to))
}
