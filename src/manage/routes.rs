//! Routes through the management API (the SDK's `dynamic_routing`): a new version is a
//! draft until deployed; create deploys its first; deploying an older version rolls back.

use super::route_store::{RouteDeployment, RouteVersion, StoredRoute};
use super::{now, Manage, ManageError};
use crate::config::RouteConfig;
use serde_json::{json, Value};
use std::collections::BTreeMap;

impl Manage {
    /// The routes of the API gateway `gateway_id`, as the API shows them.
    pub fn routes(&self, gateway_id: &str) -> Result<Vec<Value>, ManageError> {
        self.writable(gateway_id)?;
        let routes = self.store.routes()?;
        Ok(routes
            .iter()
            .filter(|r| r.gateway_id == gateway_id)
            .map(|r| self.route_json(r))
            .collect())
    }

    /// The route `id` of `gateway_id`.
    pub fn route(&self, gateway_id: &str, id: &str) -> Result<Value, ManageError> {
        Ok(self.route_json(&self.stored_route(gateway_id, id)?))
    }

    /// Makes route `name` with `elements` as its first version, live at once.
    pub fn create_route(
        &self,
        gateway_id: &str,
        name: &str,
        elements: Vec<Value>,
    ) -> Result<Value, ManageError> {
        self.writable(gateway_id)?;
        let time = now();
        let version = RouteVersion {
            version_id: new_id(),
            elements: Value::Array(elements.clone()).to_string(),
            created_at: time.clone(),
        };
        let route = StoredRoute {
            id: new_id(),
            gateway_id: gateway_id.to_string(),
            name: name.to_string(),
            created_at: time.clone(),
            modified_at: time.clone(),
            deployments: vec![RouteDeployment {
                deployment_id: new_id(),
                version_id: version.version_id.clone(),
                created_at: time,
            }],
            versions: vec![version],
        };
        self.check_routes(gateway_id, name, route_config(name, elements))?;
        if !self.store.add_route(&route)? {
            return Err(ManageError::Conflict(format!(
                "gateway {gateway_id:?} already has a route named {name:?}"
            )));
        }
        self.reapply()?;
        Ok(self.route_json(&route))
    }

    /// Renames route `id`; `dynamic/NEW` answers from then on, the old name no longer.
    pub fn rename_route(
        &self,
        gateway_id: &str,
        id: &str,
        name: &str,
    ) -> Result<Value, ManageError> {
        let route = self.stored_route(gateway_id, id)?;
        let elements = live_elements(&route);
        self.check_routes(gateway_id, &route.name, route_config(name, elements))?;
        if !self.store.rename_route(id, name, &now())? {
            return Err(ManageError::Conflict(format!(
                "gateway {gateway_id:?} already has a route named {name:?}"
            )));
        }
        self.reapply()?;
        self.route(gateway_id, id)
    }

    /// Deletes route `id`.
    pub fn delete_route(&self, gateway_id: &str, id: &str) -> Result<Value, ManageError> {
        let route = self.stored_route(gateway_id, id)?;
        self.store.delete_route(id)?;
        self.reapply()?;
        Ok(self.route_json(&route))
    }

    /// Stores `elements` as a new draft version of route `id` (validated, not live).
    pub fn create_route_version(
        &self,
        gateway_id: &str,
        id: &str,
        elements: Vec<Value>,
    ) -> Result<Value, ManageError> {
        let route = self.stored_route(gateway_id, id)?;
        self.check_routes(
            gateway_id,
            &route.name,
            route_config(&route.name, elements.clone()),
        )?;
        let version = RouteVersion {
            version_id: new_id(),
            elements: Value::Array(elements).to_string(),
            created_at: now(),
        };
        self.store
            .add_route_version(id, &version, &version.created_at)?;
        let route = self.stored_route(gateway_id, id)?;
        let mut answer = self.route_summary(&route);
        answer["version"] = version_json(&route, &version);
        Ok(answer)
    }

    /// The versions of route `id`, oldest first.
    pub fn route_versions(&self, gateway_id: &str, id: &str) -> Result<Vec<Value>, ManageError> {
        let route = self.stored_route(gateway_id, id)?;
        Ok(route
            .versions
            .iter()
            .map(|v| version_json(&route, v))
            .collect())
    }

    /// One version of route `id`, with the route's name and times.
    pub fn route_version(
        &self,
        gateway_id: &str,
        id: &str,
        version_id: &str,
    ) -> Result<Value, ManageError> {
        let route = self.stored_route(gateway_id, id)?;
        let version = find_version(&route, version_id)?;
        let mut answer = version_json(&route, version);
        for (key, value) in as_fields(self.route_summary(&route)) {
            answer[key] = value;
        }
        Ok(answer)
    }

    /// Makes `version_id` the live version of route `id` (an older one: a rollback).
    pub fn deploy_route_version(
        &self,
        gateway_id: &str,
        id: &str,
        version_id: &str,
    ) -> Result<Value, ManageError> {
        let route = self.stored_route(gateway_id, id)?;
        let version = find_version(&route, version_id)?;
        let elements: Vec<Value> = serde_json::from_str(&version.elements).unwrap_or_default();
        self.check_routes(gateway_id, &route.name, route_config(&route.name, elements))?;
        let deployment = RouteDeployment {
            deployment_id: new_id(),
            version_id: version_id.to_string(),
            created_at: now(),
        };
        self.store
            .add_route_deployment(id, &deployment, &deployment.created_at)?;
        self.reapply()?;
        let route = self.stored_route(gateway_id, id)?;
        let mut answer = self.route_summary(&route);
        answer["deployment"] = deployment_json(&deployment);
        Ok(answer)
    }

    /// The deployments of route `id`, oldest first.
    pub fn route_deployments(&self, gateway_id: &str, id: &str) -> Result<Vec<Value>, ManageError> {
        let route = self.stored_route(gateway_id, id)?;
        Ok(route.deployments.iter().map(deployment_json).collect())
    }

    fn stored_route(&self, gateway_id: &str, id: &str) -> Result<StoredRoute, ManageError> {
        self.writable(gateway_id)?;
        self.store
            .routes()?
            .into_iter()
            .find(|r| r.gateway_id == gateway_id && r.id == id)
            .ok_or_else(|| ManageError::NotFound(format!("route {id:?} not found")))
    }

    /// Checks the API gateways validate with `route` live on `gateway_id` in place of its
    /// route `replacing` (or added): errors name the route, element and field, as
    /// `sluice check` does.
    fn check_routes(
        &self,
        gateway_id: &str,
        replacing: &str,
        route: RouteConfig,
    ) -> Result<(), ManageError> {
        let mut configs = self.configs(&self.store.gateways()?)?;
        if let Some(target) = configs.iter_mut().find(|c| c.config.id == gateway_id) {
            target.config.route.retain(|r| r.name != replacing);
            target.config.route.push(route);
        }
        self.live
            .check_api_gateways(&configs)
            .map_err(|e| ManageError::Invalid(e.to_string()))
    }

    /// The route summary every answer carries.
    fn route_summary(&self, route: &StoredRoute) -> Value {
        json!({
            "id": route.id,
            "name": route.name,
            "gateway_id": route.gateway_id,
            "account_tag": self.live.file_settings().server.account_id,
            "created_at": route.created_at,
            "modified_at": route.modified_at,
        })
    }

    /// A route with its live deployment, version and elements.
    fn route_json(&self, route: &StoredRoute) -> Value {
        let mut answer = self.route_summary(route);
        if let Some(deployment) = route.deployment() {
            answer["deployment"] = deployment_json(deployment);
        }
        if let Some(version) = route.live_version() {
            answer["version"] = version_json(route, version);
        }
        answer["elements"] = Value::Array(live_elements(route));
        answer
    }
}

/// The routes each API gateway has live, from the store.
pub(super) fn live_routes(routes: &[StoredRoute]) -> BTreeMap<String, Vec<RouteConfig>> {
    let mut by_gateway: BTreeMap<String, Vec<RouteConfig>> = BTreeMap::new();
    for route in routes {
        by_gateway
            .entry(route.gateway_id.clone())
            .or_default()
            .push(route_config(&route.name, live_elements(route)));
    }
    by_gateway
}

fn route_config(name: &str, elements: Vec<Value>) -> RouteConfig {
    RouteConfig {
        name: name.to_string(),
        elements: Some(elements),
        file: None,
    }
}

fn live_elements(route: &StoredRoute) -> Vec<Value> {
    route
        .live_version()
        .and_then(|v| serde_json::from_str(&v.elements).ok())
        .unwrap_or_default()
}

fn find_version<'a>(
    route: &'a StoredRoute,
    version_id: &str,
) -> Result<&'a RouteVersion, ManageError> {
    route
        .versions
        .iter()
        .find(|v| v.version_id == version_id)
        .ok_or_else(|| ManageError::NotFound(format!("version {version_id:?} not found")))
}

fn version_json(route: &StoredRoute, version: &RouteVersion) -> Value {
    let live = route
        .deployment()
        .is_some_and(|d| d.version_id == version.version_id);
    json!({
        "version_id": version.version_id,
        "created_at": version.created_at,
        "data": version.elements,
        "active": if live { "true" } else { "false" },
        "is_valid": true,
    })
}

fn deployment_json(deployment: &RouteDeployment) -> Value {
    json!({
        "deployment_id": deployment.deployment_id,
        "version_id": deployment.version_id,
        "created_at": deployment.created_at,
    })
}

fn as_fields(value: Value) -> Vec<(String, Value)> {
    match value {
        Value::Object(fields) => fields.into_iter().collect(),
        _ => Vec::new(),
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
