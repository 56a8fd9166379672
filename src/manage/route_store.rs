//! The routes the management API makes, in `manage.db`: each route's versions (the elements,
//! drafts until deployed) and deployments (which version is live, newest last).

use super::store::{ManageStore, StoreError};
use rusqlite::{params, OptionalExtension};
use std::sync::PoisonError;

/// A route with its versions and deployments, oldest first.
#[derive(Debug, Clone)]
pub struct StoredRoute {
    /// Its id.
    pub id: String,
    /// The gateway it belongs to.
    pub gateway_id: String,
    /// `dynamic/NAME`.
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub modified_at: String,
    /// Every version, oldest first.
    pub versions: Vec<RouteVersion>,
    /// Every deployment, oldest first; the last one is live.
    pub deployments: Vec<RouteDeployment>,
}

/// One version of a route's elements.
#[derive(Debug, Clone)]
pub struct RouteVersion {
    /// Its id.
    pub version_id: String,
    /// The elements as JSON text (the hosted shape).
    pub elements: String,
    /// RFC 3339.
    pub created_at: String,
}

/// One deployment: from then on `version_id` is live.
#[derive(Debug, Clone)]
pub struct RouteDeployment {
    /// Its id.
    pub deployment_id: String,
    /// The version it made live.
    pub version_id: String,
    /// RFC 3339.
    pub created_at: String,
}

impl StoredRoute {
    /// The live deployment (every stored route has one: create deploys its first version).
    pub fn deployment(&self) -> Option<&RouteDeployment> {
        self.deployments.last()
    }

    /// The version live now.
    pub fn live_version(&self) -> Option<&RouteVersion> {
        let live = self.deployment()?;
        self.versions
            .iter()
            .find(|v| v.version_id == live.version_id)
    }
}

impl ManageStore {
    /// Every route of every gateway, by gateway then name.
    pub fn routes(&self) -> Result<Vec<StoredRoute>, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let sql = |e| self.sqlite(e);
        let mut routes: Vec<StoredRoute> = conn
            .prepare("SELECT id, gateway_id, name, created_at, modified_at FROM routes ORDER BY gateway_id, name")
            .map_err(sql)?
            .query_map([], |row| {
                Ok(StoredRoute {
                    id: row.get(0)?,
                    gateway_id: row.get(1)?,
                    name: row.get(2)?,
                    created_at: row.get(3)?,
                    modified_at: row.get(4)?,
                    versions: Vec::new(),
                    deployments: Vec::new(),
                })
            })
            .map_err(sql)?
            .collect::<Result<_, _>>()
            .map_err(sql)?;
        let mut versions = conn
            .prepare("SELECT version_id, elements, created_at FROM route_versions WHERE route_id = ?1 ORDER BY rowid")
            .map_err(sql)?;
        let mut deployments = conn
            .prepare("SELECT deployment_id, version_id, created_at FROM route_deployments WHERE route_id = ?1 ORDER BY rowid")
            .map_err(sql)?;
        for route in &mut routes {
            route.versions = versions
                .query_map(params![route.id], |row| {
                    Ok(RouteVersion {
                        version_id: row.get(0)?,
                        elements: row.get(1)?,
                        created_at: row.get(2)?,
                    })
                })
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?;
            route.deployments = deployments
                .query_map(params![route.id], |row| {
                    Ok(RouteDeployment {
                        deployment_id: row.get(0)?,
                        version_id: row.get(1)?,
                        created_at: row.get(2)?,
                    })
                })
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?;
        }
        Ok(routes)
    }

    /// A new route with its first version, deployed. False when the gateway has the name.
    pub fn add_route(&self, route: &StoredRoute) -> Result<bool, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let sql = |e| self.sqlite(e);
        let tx = conn.transaction().map_err(sql)?;
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO routes (id, gateway_id, name, created_at, modified_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![route.id, route.gateway_id, route.name, route.created_at, route.modified_at],
            )
            .map_err(sql)?;
        if added == 0 {
            return Ok(false);
        }
        for version in &route.versions {
            insert_version(&tx, &route.id, version).map_err(sql)?;
        }
        for deployment in &route.deployments {
            insert_deployment(&tx, &route.id, deployment).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(true)
    }

    /// Adds a draft version to route `route_id`.
    pub fn add_route_version(
        &self,
        route_id: &str,
        version: &RouteVersion,
        at: &str,
    ) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let sql = |e| self.sqlite(e);
        insert_version(&conn, route_id, version).map_err(sql)?;
        touch(&conn, route_id, at).map_err(sql)
    }

    /// Makes `deployment.version_id` the live version of route `route_id`.
    pub fn add_route_deployment(
        &self,
        route_id: &str,
        deployment: &RouteDeployment,
        at: &str,
    ) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let sql = |e| self.sqlite(e);
        insert_deployment(&conn, route_id, deployment).map_err(sql)?;
        touch(&conn, route_id, at).map_err(sql)
    }

    /// Renames route `route_id`; false when its gateway has a route of that name.
    pub fn rename_route(&self, route_id: &str, name: &str, at: &str) -> Result<bool, StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let sql = |e| self.sqlite(e);
        let taken: Option<String> = conn
            .query_row(
                "SELECT id FROM routes WHERE name = ?1 AND id != ?2 AND gateway_id = (SELECT gateway_id FROM routes WHERE id = ?2)",
                params![name, route_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql)?;
        if taken.is_some() {
            return Ok(false);
        }
        conn.execute(
            "UPDATE routes SET name = ?1, modified_at = ?2 WHERE id = ?3",
            params![name, at, route_id],
        )
        .map_err(sql)?;
        Ok(true)
    }

    /// Deletes route `route_id` with its versions and deployments.
    pub fn delete_route(&self, route_id: &str) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let sql = |e| self.sqlite(e);
        for statement in [
            "DELETE FROM route_versions WHERE route_id = ?1",
            "DELETE FROM route_deployments WHERE route_id = ?1",
            "DELETE FROM routes WHERE id = ?1",
        ] {
            conn.execute(statement, params![route_id]).map_err(sql)?;
        }
        Ok(())
    }
}

fn insert_version(
    conn: &rusqlite::Connection,
    route_id: &str,
    v: &RouteVersion,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO route_versions (version_id, route_id, elements, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![v.version_id, route_id, v.elements, v.created_at],
    )
}

fn insert_deployment(
    conn: &rusqlite::Connection,
    route_id: &str,
    d: &RouteDeployment,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO route_deployments (deployment_id, route_id, version_id, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![d.deployment_id, route_id, d.version_id, d.created_at],
    )
}

fn touch(conn: &rusqlite::Connection, route_id: &str, at: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE routes SET modified_at = ?1 WHERE id = ?2",
        params![at, route_id],
    )
    .map(|_| ())
}
