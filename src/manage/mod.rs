//! The management plane: the gateways and stored provider keys the management API makes,
//! kept in `{data_dir}/manage.db` and applied live over the config file's settings.

pub mod access_tokens;
pub mod gateway;
pub mod route_store;
mod routes;
pub mod sealed;
pub mod store;

use crate::config::{ApiGatewayConfig, GatewayKeys};
use crate::live::LiveConfig;
use crate::redact::Secret;
use crate::rfc3339::format_rfc3339_ms;
use gateway::ApiGateway;
use sealed::{SealError, Sealer};
use serde_json::json;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use store::{ManageStore, StoreError, StoredGateway, StoredProviderConfig};

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
    /// A secret could not be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// Why the management plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `manage.db` could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The secrets key could not be read or made.
    #[error(transparent)]
    Seal(#[from] SealError),
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
    sealer: Sealer,
    live: Arc<LiveConfig>,
    /// When this process read the config file: the file gateways' times.
    started_at: String,
}

impl Manage {
    /// Opens the store in `data_dir` and puts its gateways in force. One that no longer
    /// validates over the config file (a provider it names was removed) is logged and left
    /// out, rather than stopping the gateway.
    pub fn open(
        data_dir: &Path,
        secrets_key: &Secret,
        live: Arc<LiveConfig>,
    ) -> Result<Manage, OpenError> {
        let manage = Manage {
            store: ManageStore::open(data_dir)?,
            sealer: Sealer::load(secrets_key.expose(), data_dir)?,
            live,
            started_at: now(),
        };
        let mut kept = Vec::new();
        let keys = manage.keys_by_gateway()?;
        let routes = routes::live_routes(&manage.store.routes()?);
        let tokens = match manage.tokens_by_gateway() {
            Ok(tokens) => tokens,
            Err(e) => {
                log::error!("management store: access tokens left out: {e}");
                Default::default()
            }
        };
        for stored in manage.store.gateways()? {
            let id = stored.object.id.clone();
            let candidate = match api_config(&stored, &keys) {
                Ok(mut config) => {
                    config.config.route = routes.get(&id).cloned().unwrap_or_default();
                    config.access_tokens = tokens.get(&id).cloned().unwrap_or_default();
                    config
                }
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
            modified_at: time.clone(),
            cache_epoch: time,
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
        let time = now();
        let cache_epoch = match object.cache_invalidate_on_update {
            true => time.clone(),
            false => existing.cache_epoch,
        };
        self.write(StoredGateway {
            object,
            created_at: existing.created_at,
            modified_at: time,
            cache_epoch,
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
        let configs = self.configs(&rest)?;
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
    pub(crate) fn writable(&self, id: &str) -> Result<StoredGateway, ManageError> {
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
        let configs = self.configs(&all)?;
        self.live
            .check_api_gateways(&configs)
            .map_err(|e| ManageError::Invalid(e.to_string()))?;
        self.store.put_gateway(&gateway)?;
        self.apply(configs)
    }

    /// `http://{first listen address}/v1/{account}/{gateway}/{provider}`.
    pub fn gateway_url(&self, gateway_id: &str, provider: &str) -> Result<String, ManageError> {
        let current = self.live.current();
        let settings = &current.settings;
        if settings.gateway(gateway_id).is_none() {
            return Err(ManageError::NotFound(format!(
                "gateway {gateway_id:?} not found"
            )));
        }
        let Some(provider) = settings.provider_by_slug(provider) else {
            return Err(ManageError::NotFound(format!(
                "provider {provider:?} not found"
            )));
        };
        let listen = settings
            .listen
            .first()
            .map_or_else(String::new, |a| a.to_string());
        let account = match settings.server.account_id.as_str() {
            "*" => "default",
            account => account,
        };
        Ok(format!(
            "http://{listen}/v1/{account}/{gateway_id}/{}",
            provider.slug
        ))
    }

    /// The provider configs of the API gateway `gateway_id`.
    pub fn provider_configs(&self, gateway_id: &str) -> Result<Vec<Value>, ManageError> {
        self.writable(gateway_id)?;
        let configs = self.store.provider_configs()?;
        Ok(configs
            .iter()
            .filter(|c| c.gateway_id == gateway_id)
            .map(provider_config_json)
            .collect())
    }

    /// Stores a provider key on the API gateway `gateway_id`; used by its next request.
    pub fn add_provider_config(
        &self,
        gateway_id: &str,
        new: NewProviderConfig,
    ) -> Result<Value, ManageError> {
        self.writable(gateway_id)?;
        let settings = self.live.file_settings();
        let Some(provider) = settings.provider_by_slug(&new.provider_slug) else {
            return Err(ManageError::Invalid(format!(
                "provider_slug: {:?} is not a provider this gateway knows",
                new.provider_slug
            )));
        };
        let slug = provider.slug.clone();
        let alias_ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        if new.alias.is_empty() || new.alias.len() > 64 || !new.alias.bytes().all(alias_ok) {
            return Err(ManageError::Invalid(
                "alias: 1-64 characters of [A-Za-z0-9_-]".into(),
            ));
        }
        if new.secret.is_empty() {
            return Err(ManageError::Invalid(
                "secret: the provider key to store".into(),
            ));
        }
        if new.secret_id.is_some() {
            return Err(ManageError::Invalid(
                "secret_id: Secrets Store references are not supported; send the key as secret"
                    .into(),
            ));
        }
        if new.rate_limit.is_some_and(|r| r != 0.0)
            || new.rate_limit_period.is_some_and(|r| r != 0.0)
        {
            return Err(ManageError::Invalid(
                "rate_limit: per-key rate limits are not implemented; leave them out".into(),
            ));
        }
        let context = seal_context(gateway_id, &slug, &new.alias);
        let stored = StoredProviderConfig {
            id: uuid::Uuid::now_v7().simple().to_string(),
            gateway_id: gateway_id.to_string(),
            provider_slug: slug,
            alias: new.alias.clone(),
            sealed_secret: self.sealer.seal(&new.secret, &context)?,
            secret_preview: preview(&new.secret),
            default_config: new.default_config,
            modified_at: now(),
        };
        if !self.store.add_provider_config(&stored)? {
            return Err(ManageError::Conflict(format!(
                "gateway {gateway_id:?} already has a {} key aliased {:?}; delete it first",
                stored.provider_slug, stored.alias
            )));
        }
        self.reapply()?;
        Ok(provider_config_json(&stored))
    }

    /// Deletes the provider config `id` of the API gateway `gateway_id`.
    pub fn delete_provider_config(&self, gateway_id: &str, id: &str) -> Result<Value, ManageError> {
        self.writable(gateway_id)?;
        let configs = self.store.provider_configs()?;
        let Some(found) = configs
            .iter()
            .find(|c| c.gateway_id == gateway_id && c.id == id)
        else {
            return Err(ManageError::NotFound(format!(
                "provider config {id:?} not found"
            )));
        };
        self.store.delete_provider_config(gateway_id, id)?;
        self.reapply()?;
        Ok(provider_config_json(found))
    }

    /// The stored gateways with their keys put in force again.
    pub(crate) fn reapply(&self) -> Result<(), ManageError> {
        let configs = self.configs(&self.store.gateways()?)?;
        self.apply(configs)
    }

    /// Every API gateway's stored keys, opened. A key that does not open (the secrets key
    /// changed) is logged and left out: its requests then fall back as if it were absent.
    fn keys_by_gateway(
        &self,
    ) -> Result<std::collections::BTreeMap<String, GatewayKeys>, StoreError> {
        let mut keys = std::collections::BTreeMap::<String, GatewayKeys>::new();
        for config in self.store.provider_configs()? {
            let context = seal_context(&config.gateway_id, &config.provider_slug, &config.alias);
            match self.sealer.open(&config.sealed_secret, &context) {
                Ok(secret) => keys.entry(config.gateway_id.clone()).or_default().insert(
                    &config.provider_slug,
                    &config.alias,
                    Secret::new(secret),
                    config.default_config,
                ),
                Err(e) => log::error!(
                    "provider config {} of gateway {:?}: {e}",
                    config.id,
                    config.gateway_id
                ),
            }
        }
        Ok(keys)
    }

    pub(crate) fn configs(
        &self,
        stored: &[StoredGateway],
    ) -> Result<Vec<ApiGatewayConfig>, ManageError> {
        let keys = self.keys_by_gateway()?;
        let routes = routes::live_routes(&self.store.routes()?);
        let tokens = self.tokens_by_gateway()?;
        stored
            .iter()
            .map(|g| {
                let mut config = api_config(g, &keys)?;
                let id = &g.object.id;
                config.config.route = routes.get(id).cloned().unwrap_or_default();
                config.access_tokens = tokens.get(id).cloned().unwrap_or_default();
                Ok(config)
            })
            .collect()
    }

    fn apply(&self, configs: Vec<ApiGatewayConfig>) -> Result<(), ManageError> {
        self.live
            .set_api_gateways(configs)
            .map(|_| ())
            .map_err(|e| ManageError::Invalid(e.to_string()))
    }
}

/// A provider config as the API takes it (`provider_configs.create`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProviderConfig {
    /// The provider.
    pub provider_slug: String,
    /// Its alias (`cf-aig-byok-alias`).
    pub alias: String,
    /// The key; never shown again.
    #[serde(default)]
    pub secret: String,
    /// Used when a request names no alias.
    #[serde(default)]
    pub default_config: bool,
    /// A Secrets Store reference: not supported.
    #[serde(default)]
    pub secret_id: Option<String>,
    /// Per-key rate limits: not implemented (refused unless 0).
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// With `rate_limit`.
    #[serde(default)]
    pub rate_limit_period: Option<f64>,
}

/// What the sealed key is bound to: a row's sealed value cannot be moved to another.
fn seal_context(gateway_id: &str, slug: &str, alias: &str) -> String {
    format!("{gateway_id}/{slug}/{alias}")
}

/// The key's last four characters for keys of 8 or more; shorter ones show none of it.
fn preview(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    match chars.len() {
        n if n >= 8 => chars[n - 4..].iter().collect(),
        _ => String::new(),
    }
}

/// The API's provider config object: never the key, only its last four characters.
fn provider_config_json(config: &StoredProviderConfig) -> Value {
    json!({
        "id": config.id,
        "gateway_id": config.gateway_id,
        "provider_slug": config.provider_slug,
        "alias": config.alias,
        "default_config": config.default_config,
        "secret_id": "",
        "secret_preview": config.secret_preview,
        "modified_at": config.modified_at,
        "rate_limit": null,
        "rate_limit_period": null,
    })
}

/// The settings' form of a stored gateway. Its cache scope carries the time its cache was
/// last invalidated, so an update with `cache_invalidate_on_update` leaves older entries
/// unreachable (to age out of the cache).
fn api_config(
    stored: &StoredGateway,
    keys: &std::collections::BTreeMap<String, GatewayKeys>,
) -> Result<ApiGatewayConfig, ManageError> {
    let config = stored
        .object
        .to_config()
        .map_err(|e| ManageError::Invalid(e.to_string()))?;
    let cache_scope = format!("{}@{}", config.id, stored.cache_epoch);
    Ok(ApiGatewayConfig {
        keys: keys.get(&config.id).cloned().unwrap_or_default(),
        access_tokens: Vec::new(),
        authentication: stored.object.authentication,
        config,
        cache_scope,
    })
}

pub(crate) fn now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    format_rfc3339_ms(ms)
}
