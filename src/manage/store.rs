//! `{data_dir}/manage.db`: what the management API made (gateways), one SQLite row per
//! object with its JSON and times, so it survives restarts.

use super::gateway::ApiGateway;
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The file's name in `data_dir`.
pub const MANAGE_DB: &str = "manage.db";

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("management store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The error.
        source: rusqlite::Error,
    },
    /// A stored object no longer parses (written by a newer sluice, or edited by hand).
    #[error("management store {path}: gateway {id:?} does not parse: {source}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The gateway.
        id: String,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// A gateway as stored, with its times (RFC 3339).
#[derive(Debug, Clone)]
pub struct StoredGateway {
    /// The object as last written.
    pub object: ApiGateway,
    /// When it was created.
    pub created_at: String,
    /// When it was last changed.
    pub modified_at: String,
}

/// The open store. Used by the admin thread; the lock only orders its calls.
#[derive(Debug)]
pub struct ManageStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl ManageStore {
    /// Opens (creating) `manage.db` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<ManageStore, StoreError> {
        let path = data_dir.join(MANAGE_DB);
        let fail = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(fail)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS gateways (
                 id TEXT PRIMARY KEY,
                 object TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 modified_at TEXT NOT NULL
             );",
        )
        .map_err(fail)?;
        Ok(ManageStore {
            path,
            conn: Mutex::new(conn),
        })
    }

    fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Every stored gateway, by id.
    pub fn gateways(&self) -> Result<Vec<StoredGateway>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut statement = conn
            .prepare("SELECT id, object, created_at, modified_at FROM gateways ORDER BY id")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut gateways = Vec::new();
        for row in rows {
            let (id, object, created_at, modified_at): (String, String, String, String) =
                row.map_err(|e| self.sqlite(e))?;
            let object = serde_json::from_str(&object).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                id,
                source,
            })?;
            gateways.push(StoredGateway {
                object,
                created_at,
                modified_at,
            });
        }
        Ok(gateways)
    }

    /// Writes `gateway` (a new one, or over the one with its id).
    pub fn put_gateway(&self, gateway: &StoredGateway) -> Result<(), StoreError> {
        let object =
            serde_json::to_string(&gateway.object).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                id: gateway.object.id.clone(),
                source,
            })?;
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        conn.execute(
            "INSERT OR REPLACE INTO gateways (id, object, created_at, modified_at) VALUES (?1, ?2, ?3, ?4)",
            params![gateway.object.id, object, gateway.created_at, gateway.modified_at],
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Deletes the gateway `id`; false when there was none.
    pub fn delete_gateway(&self, id: &str) -> Result<bool, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let deleted = conn
            .execute("DELETE FROM gateways WHERE id = ?1", params![id])
            .map_err(|e| self.sqlite(e))?;
        Ok(deleted > 0)
    }
}
