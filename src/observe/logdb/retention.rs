//! Retention: each gateway's entry and body byte counts (`log_counts`), and deleting
//! its oldest entries once it has more than `log_max_entries` or `log_max_bytes`.

use rusqlite::Connection;

use super::chunks;
use super::writer::Retention;

/// What a batch added to one gateway, and the gateway's retention.
#[derive(Debug, Clone, Copy)]
pub(super) struct Added {
    pub entries: u64,
    /// Body bytes written to segments for them.
    pub bytes: u64,
    pub retention: Retention,
}

/// Adds `added` to `gateway`'s counts, then deletes its oldest entries until it is
/// within its retention (0 entries keeps none); returns how many went.
pub(super) fn trim(tx: &Connection, gateway: &str, added: &Added) -> rusqlite::Result<u64> {
    let (entries, bytes): (i64, i64) = tx
        .prepare_cached(
            "INSERT INTO log_counts (gateway, entries, body_bytes) VALUES (?1, ?2, ?3) \
             ON CONFLICT (gateway) DO UPDATE SET entries = entries + excluded.entries, \
             body_bytes = body_bytes + excluded.body_bytes RETURNING entries, body_bytes",
        )?
        .query_row(
            rusqlite::params![gateway, int(added.entries), int(added.bytes)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
    let excess_entries = count(entries).saturating_sub(added.retention.max_entries);
    let excess_bytes = count(bytes).saturating_sub(added.retention.max_bytes);
    if excess_entries == 0 && excess_bytes == 0 {
        return Ok(0);
    }
    // Walks the oldest entries until enough are passed, then deletes up to the last.
    let mut last = None;
    let (mut entries_freed, mut bytes_freed) = (0u64, 0u64);
    {
        let mut oldest = tx.prepare_cached(
            // A row's body bytes as `BodyPlace::bytes` counted them when it went in.
            "SELECT rowid, COALESCE(request_len, 0) + COALESCE(request_chunked, 0) \
             + COALESCE(response_len, 0) FROM logs WHERE gateway = ?1 ORDER BY rowid",
        )?;
        let mut rows = oldest.query([gateway])?;
        while entries_freed < excess_entries || bytes_freed < excess_bytes {
            let Some(row) = rows.next()? else { break };
            last = Some(row.get::<_, i64>(0)?);
            entries_freed += 1;
            bytes_freed = bytes_freed.saturating_add(count(row.get(1)?));
        }
    }
    let Some(last) = last else {
        return Ok(0);
    };
    let mut deleted = 0;
    {
        let mut delete = tx.prepare_cached(
            "DELETE FROM logs WHERE gateway = ?1 AND rowid <= ?2 RETURNING request_recipe",
        )?;
        let mut rows = delete.query(rusqlite::params![gateway, last])?;
        while let Some(row) = rows.next()? {
            deleted += 1;
            if let Some(recipe) = row.get_ref(0)?.as_blob_or_null()? {
                chunks::release(tx, recipe)?;
            }
        }
    }
    forget(tx, gateway, deleted, bytes_freed)?;
    Ok(deleted)
}

/// Takes `entries` and `bytes` deleted off `gateway`'s counts.
pub(super) fn forget(
    tx: &Connection,
    gateway: &str,
    entries: u64,
    bytes: u64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE log_counts SET entries = MAX(entries - ?2, 0), \
         body_bytes = MAX(body_bytes - ?3, 0) WHERE gateway = ?1",
    )?
    .execute(rusqlite::params![gateway, int(entries), int(bytes)])?;
    Ok(())
}

fn count(n: i64) -> u64 {
    n.max(0).unsigned_abs()
}

/// A count as SQLite's integer (clamped, never wrapped).
pub(super) fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
