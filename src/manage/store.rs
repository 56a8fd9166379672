//! `{data_dir}/manage.db`: what the management API made (gateways, provider configs with
//! their keys sealed), one SQLite row per object, so it survives restarts.

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

/// A stored provider key (the API's provider config), its secret sealed.
#[derive(Debug, Clone)]
pub struct StoredProviderConfig {
    /// Its id.
    pub id: String,
    /// The gateway it belongs to.
    pub gateway_id: String,
    /// The provider it is for.
    pub provider_slug: String,
    /// Its alias (`cf-aig-byok-alias`).
    pub alias: String,
    /// The key, sealed (see `sealed`).
    pub sealed_secret: Vec<u8>,
    /// The key's last four characters.
    pub secret_preview: String,
    /// Used when a request names no alias.
    pub default_config: bool,
    /// RFC 3339.
    pub modified_at: String,
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
    /// When its cache was last invalidated (created, or updated with
    /// `cache_invalidate_on_update`): part of its cache scope.
    pub cache_epoch: String,
}

/// The open store. Used by the admin thread; the lock only orders its calls.
#[derive(Debug)]
pub struct ManageStore {
    path: PathBuf,
    pub(super) conn: Mutex<Connection>,
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
                 modified_at TEXT NOT NULL,
                 cache_epoch TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS provider_configs (
                 id TEXT PRIMARY KEY,
                 gateway_id TEXT NOT NULL,
                 provider_slug TEXT NOT NULL,
                 alias TEXT NOT NULL,
                 sealed_secret BLOB NOT NULL,
                 secret_preview TEXT NOT NULL,
                 default_config INTEGER NOT NULL,
                 modified_at TEXT NOT NULL,
                 UNIQUE (gateway_id, provider_slug, alias)
             );
             CREATE TABLE IF NOT EXISTS access_tokens (
                 id TEXT PRIMARY KEY,
                 gateway_id TEXT NOT NULL,
                 name TEXT NOT NULL,
                 token_hash BLOB NOT NULL,
                 models TEXT NOT NULL,
                 rate_limit TEXT NOT NULL,
                 spend_limit TEXT NOT NULL,
                 created_at TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS routes (
                 id TEXT PRIMARY KEY,
                 gateway_id TEXT NOT NULL,
                 name TEXT NOT NULL,
                 created_at TEXT NOT NULL,
                 modified_at TEXT NOT NULL,
                 UNIQUE (gateway_id, name)
             );
             CREATE TABLE IF NOT EXISTS route_versions (
                 version_id TEXT PRIMARY KEY,
                 route_id TEXT NOT NULL,
                 elements TEXT NOT NULL,
                 created_at TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS route_deployments (
                 deployment_id TEXT PRIMARY KEY,
                 route_id TEXT NOT NULL,
                 version_id TEXT NOT NULL,
                 created_at TEXT NOT NULL
             );",
        )
        .map_err(fail)?;
        Ok(ManageStore {
            path,
            conn: Mutex::new(conn),
        })
    }

    pub(super) fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Every stored gateway, by id.
    pub fn gateways(&self) -> Result<Vec<StoredGateway>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut statement = conn
            .prepare(
                "SELECT id, object, created_at, modified_at, cache_epoch FROM gateways ORDER BY id",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut gateways = Vec::new();
        for row in rows {
            let (id, object, created_at, modified_at, cache_epoch): (
                String,
                String,
                String,
                String,
                String,
            ) = row.map_err(|e| self.sqlite(e))?;
            let object = serde_json::from_str(&object).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                id,
                source,
            })?;
            gateways.push(StoredGateway {
                object,
                created_at,
                modified_at,
                cache_epoch,
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
            "INSERT OR REPLACE INTO gateways (id, object, created_at, modified_at, cache_epoch)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                gateway.object.id,
                object,
                gateway.created_at,
                gateway.modified_at,
                gateway.cache_epoch
            ],
        )
        .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Deletes the gateway `id` and its provider configs; false when there was none.
    pub fn delete_gateway(&self, id: &str) -> Result<bool, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let deleted = conn
            .execute("DELETE FROM gateways WHERE id = ?1", params![id])
            .map_err(|e| self.sqlite(e))?;
        conn.execute_batch("BEGIN").map_err(|e| self.sqlite(e))?;
        for statement in [
            "DELETE FROM provider_configs WHERE gateway_id = ?1",
            "DELETE FROM access_tokens WHERE gateway_id = ?1",
            "DELETE FROM route_versions WHERE route_id IN (SELECT id FROM routes WHERE gateway_id = ?1)",
            "DELETE FROM route_deployments WHERE route_id IN (SELECT id FROM routes WHERE gateway_id = ?1)",
            "DELETE FROM routes WHERE gateway_id = ?1",
        ] {
            conn.execute(statement, params![id])
                .map_err(|e| self.sqlite(e))?;
        }
        conn.execute_batch("COMMIT").map_err(|e| self.sqlite(e))?;
        Ok(deleted > 0)
    }

    /// Every stored provider config, by gateway, provider and alias.
    pub fn provider_configs(&self) -> Result<Vec<StoredProviderConfig>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let mut statement = conn
            .prepare(
                "SELECT id, gateway_id, provider_slug, alias, sealed_secret, secret_preview,
                        default_config, modified_at
                 FROM provider_configs ORDER BY gateway_id, provider_slug, alias",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(StoredProviderConfig {
                    id: row.get(0)?,
                    gateway_id: row.get(1)?,
                    provider_slug: row.get(2)?,
                    alias: row.get(3)?,
                    sealed_secret: row.get(4)?,
                    secret_preview: row.get(5)?,
                    default_config: row.get(6)?,
                    modified_at: row.get(7)?,
                })
            })
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sqlite(e))
    }

    /// Writes a new provider config; a default one makes the provider's others not default.
    /// False when the gateway already has that provider and alias.
    pub fn add_provider_config(&self, config: &StoredProviderConfig) -> Result<bool, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        if config.default_config {
            tx.execute(
                "UPDATE provider_configs SET default_config = 0
                 WHERE gateway_id = ?1 AND provider_slug = ?2",
                params![config.gateway_id, config.provider_slug],
            )
            .map_err(|e| self.sqlite(e))?;
        }
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO provider_configs (id, gateway_id, provider_slug, alias,
                     sealed_secret, secret_preview, default_config, modified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    config.id,
                    config.gateway_id,
                    config.provider_slug,
                    config.alias,
                    config.sealed_secret,
                    config.secret_preview,
                    config.default_config,
                    config.modified_at
                ],
            )
            .map_err(|e| self.sqlite(e))?;
        if added == 1 {
            tx.commit().map_err(|e| self.sqlite(e))?;
        }
        Ok(added == 1)
    }

    /// Deletes the provider config `id` of `gateway_id`; false when there was none.
    pub fn delete_provider_config(&self, gateway_id: &str, id: &str) -> Result<bool, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let deleted = conn
            .execute(
                "DELETE FROM provider_configs WHERE gateway_id = ?1 AND id = ?2",
                params![gateway_id, id],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(deleted > 0)
    }
}
