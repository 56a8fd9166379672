//! The management plane: the gateways the management API makes, kept in
//! `{data_dir}/manage.db` and applied live over the config file's settings.

pub mod gateway;
pub mod store;

use crate::config::ApiGatewayConfig;
use crate::live::LiveConfig;
use crate::rfc3339::format_rfc3339_ms;
use gateway::ApiGateway;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use store::{ManageStore, StoreError, StoredGateway};

/// Why a management call is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// No such object.
    #[error("{0}")]
    NotFound(String),
    /// The object is the config file's, or the id is taken.
    #[error("{0}")]
    Conflict(String),
    /// The object does not validate; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A gateway as the API shows it: the file's and the API's alike.
pub struct GatewayView {
    /// The object.
    pub object: ApiGateway,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub modified_at: String,
    /// `config` (declared in the file, read-only here) or `api`.
    pub source: &'static str,
}

impl GatewayView {
    /// The JSON the API answers.
    pub fn to_json(&self) -> Value {
        self.object
            .to_json(&self.created_at, &self.modified_at, self.source)
    }
}

/// The store and the live config it changes. Used from the admin thread.
#[derive(Debug)]
pub struct Manage {
    store: ManageStore,
    live: Arc<LiveConfig>,
    /// When this process read the config file: the file gateways' times.
    started_at: String,
}

impl Manage {
    /// Opens the store in `data_dir` and puts its gateways in force. One that no longer
    /// validates over the config file (a provider it names was removed) is logged and left
    /// out, rather than stopping the gateway.
    pub fn open(data_dir: &Path, live: Arc<LiveConfig>) -> Result<Manage, StoreError> {
        let manage = Manage {
            store: ManageStore::open(data_dir)?,
            live,
            started_at: now(),
        };
        let mut kept = Vec::new();
        for stored in manage.store.gateways()? {
            let id = stored.object.id.clone();
            let candidate = match api_config(&stored) {
                Ok(config) => config,
                Err(e) => {
                    log::error!("management store: gateway {id:?} left out: {e}");
                    continue;
                }
            };
            let with: Vec<_> = kept.iter().cloned().chain([candidate.clone()]).collect();
            match manage.live.check_api_gateways(&with) {
                Ok(()) => kept.push(candidate),
                Err(e) => log::error!("management store: gateway {id:?} left out: {e}"),
            }
        }
        // Each was checked with those before it, so the whole set validates.
        match manage.live.set_api_gateways(kept) {
            Ok(shadowed) => {
                for id in shadowed {
                    log::warn!("gateway {id:?} is declared in the config file and by the management API: the file's is in force");
                }
            }
            Err(e) => log::error!("management store: the API's gateways left out: {e}"),
        }
        Ok(manage)
    }

    /// Every gateway, the file's first, then the API's, each by id.
    pub fn gateways(&self) -> Result<Vec<GatewayView>, ManageError> {
        let file = self.live.file_settings();
        let mut views: Vec<GatewayView> = file
            .gateways
            .values()
            .map(|g| GatewayView {
                object: ApiGateway::from_config(&g.config),
                created_at: self.started_at.clone(),
                modified_at: self.started_at.clone(),
                source: "config",
            })
            .collect();
        views.sort_by(|a, b| a.object.id.cmp(&b.object.id));
        for stored in self.store.gateways()? {
            if file.gateway(&stored.object.id).is_none() {
                views.push(GatewayView {
                    object: stored.object,
                    created_at: stored.created_at,
                    modified_at: stored.modified_at,
                    source: "api",
                });
            }
        }
        Ok(views)
    }

    /// The gateway `id`.
    pub fn gateway(&self, id: &str) -> Result<GatewayView, ManageError> {
        self.gateways()?
            .into_iter()
            .find(|g| g.object.id == id)
            .ok_or_else(|| ManageError::NotFound(format!("gateway {id:?} not found")))
    }

    /// Makes a gateway; live for new requests once this returns.
    pub fn create_gateway(&self, object: ApiGateway) -> Result<GatewayView, ManageError> {
        let id = object.id.clone();
        if self.gateways()?.iter().any(|g| g.object.id == id) {
            return Err(ManageError::Conflict(format!(
                "gateway {id:?} already exists"
            )));
        }
        let time = now();
        self.write(StoredGateway {
            object,
            created_at: time.clone(),
            modified_at: time,
        })?;
        self.gateway(&id)
    }

    /// Replaces the settings of the API gateway `id`.
    pub fn update_gateway(
        &self,
        id: &str,
        mut object: ApiGateway,
    ) -> Result<GatewayView, ManageError> {
        let existing = self.writable(id)?;
        object.id = id.to_string();
        self.write(StoredGateway {
            object,
            created_at: existing.created_at,
            modified_at: now(),
        })?;
        self.gateway(id)
    }

    /// Deletes the API gateway `id`; its requests answer 404 (2001) from then on.
    pub fn delete_gateway(&self, id: &str) -> Result<GatewayView, ManageError> {
        let existing = self.writable(id)?;
        let rest: Vec<StoredGateway> = self
            .store
            .gateways()?
            .into_iter()
            .filter(|g| g.object.id != id)
            .collect();
        let configs = configs(&rest)?;
        self.store.delete_gateway(id)?;
        self.apply(configs)?;
        Ok(GatewayView {
            object: existing.object,
            created_at: existing.created_at,
            modified_at: existing.modified_at,
            source: "api",
        })
    }

    /// The stored API gateway `id`: 409 for the file's, 404 for none.
    fn writable(&self, id: &str) -> Result<StoredGateway, ManageError> {
        if self.live.file_settings().gateway(id).is_some() {
            return Err(ManageError::Conflict(format!(
                "gateway {id:?} is declared in the config file; change it there"
            )));
        }
        self.store
            .gateways()?
            .into_iter()
            .find(|g| g.object.id == id)
            .ok_or_else(|| ManageError::NotFound(format!("gateway {id:?} not found")))
    }

    /// Validates `gateway` with the others over the config file, stores it, applies all.
    fn write(&self, gateway: StoredGateway) -> Result<(), ManageError> {
        let mut all: Vec<StoredGateway> = self
            .store
            .gateways()?
            .into_iter()
            .filter(|g| g.object.id != gateway.object.id)
            .collect();
        all.push(gateway.clone());
        let configs = configs(&all)?;
        self.live
            .check_api_gateways(&configs)
            .map_err(|e| ManageError::Invalid(e.to_string()))?;
        self.store.put_gateway(&gateway)?;
        self.apply(configs)
    }

    fn apply(&self, configs: Vec<ApiGatewayConfig>) -> Result<(), ManageError> {
        self.live
            .set_api_gateways(configs)
            .map(|_| ())
            .map_err(|e| ManageError::Invalid(e.to_string()))
    }
}

fn configs(stored: &[StoredGateway]) -> Result<Vec<ApiGatewayConfig>, ManageError> {
    stored.iter().map(api_config).collect()
}

/// The settings' form of a stored gateway. With `cache_invalidate_on_update`, its cache
/// scope carries the time of its last change, so a change leaves older entries unreachable.
fn api_config(stored: &StoredGateway) -> Result<ApiGatewayConfig, ManageError> {
    let config = stored
        .object
        .to_config()
        .map_err(|e| ManageError::Invalid(e.to_string()))?;
    let cache_scope = match stored.object.cache_invalidate_on_update {
        true => format!("{}@{}", config.id, stored.modified_at),
        false => config.id.clone(),
    };
    Ok(ApiGatewayConfig {
        config,
        cache_scope,
    })
}

fn now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    format_rfc3339_ms(ms)
}
