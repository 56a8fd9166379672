//! Reading and editing the request log for the admin API: list with filters,
//! order, pages and totals; one entry; feedback patch; delete by filter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use super::entry::{ALL_COLUMNS, LIST_COLUMNS};
use super::query::{ListQuery, LogFilter};
use super::{LogDbError, LogEntry};
use crate::observe::metadata::Metadata;

/// Sums over every entry a filter covers (not only the page shown).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    pub requests: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// USD, over the entries whose cost is known.
    pub cost: f64,
}

/// One page of entries (bodies left out) and the totals of the whole filter.
#[derive(Debug, Clone, PartialEq)]
pub struct LogList {
    pub entries: Vec<LogEntry>,
    pub totals: Totals,
}

/// A connection for reading and editing the log; not shared between threads.
#[derive(Debug)]
pub struct LogStore {
    conn: Connection,
    deletions: Arc<AtomicU64>,
}

fn count(n: i64) -> u64 {
    n.max(0).unsigned_abs()
}

impl LogStore {
    pub(super) fn new(conn: Connection, deletions: Arc<AtomicU64>) -> LogStore {
        LogStore { conn, deletions }
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

    /// One entry with its bodies, by log id.
    pub fn get(&self, id: &str) -> Result<Option<LogEntry>, LogDbError> {
        let sql = format!("SELECT {ALL_COLUMNS} FROM logs WHERE id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [id], LogEntry::from_row)
            .optional()?)
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
        params.push(Value::Text(id.to_string()));
        let sql = if sets.is_empty() {
            // Nothing to change: still tell whether the entry exists.
            "UPDATE logs SET id = id WHERE id = ?".to_string()
        } else {
            format!("UPDATE logs SET {} WHERE id = ?", sets.join(", "))
        };
        let changed = self.conn.execute(&sql, params_from_iter(params.iter()))?;
        Ok(changed > 0)
    }

    /// Deletes every entry `filter` covers (all of them for an empty filter);
    /// returns how many went.
    pub fn delete(&self, filter: &LogFilter) -> Result<u64, LogDbError> {
        // Before the delete: the writer, which holds the write lock while it
        // trims, then either sees this bump or runs before this delete.
        self.deletions.fetch_add(1, Ordering::AcqRel);
        let (filter_sql, params) = filter.where_clause();
        let deleted = self.conn.execute(
            &format!("DELETE FROM logs{filter_sql}"),
            params_from_iter(params.iter()),
        )?;
        Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
    }
}
