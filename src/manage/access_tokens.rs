//! Access tokens through the management API (`gateways/{id}/access_tokens`): made with
//! a name and optional model list, rate and spend limits; the token is shown once, then
//! only its hash is kept (in `manage.db`).

use super::sealed::SealError;
use super::{now, Manage, ManageError};
use crate::config::{token_hash, AccessToken, TokenRate, TokenSpend};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::PoisonError;

/// The body of `POST .../access_tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccessToken {
    /// A name for people.
    pub name: String,
    /// The models it may ask for; none: any.
    #[serde(default)]
    pub models: Vec<String>,
    /// `{limit, interval}`: requests per seconds.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// `{limit, window}`: dollars per seconds.
    #[serde(default)]
    pub spend_limit: Option<SpendLimit>,
}

/// An access token's rate limit as the API takes it.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per interval.
    pub limit: u64,
    /// Seconds.
    pub interval: u64,
}

/// An access token's spend limit as the API takes it.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpendLimit {
    /// Dollars per window.
    pub limit: f64,
    /// Seconds.
    pub window: u64,
}

/// A stored access token: no value, only its hash.
#[derive(Debug, Clone)]
struct StoredToken {
    id: String,
    gateway_id: String,
    name: String,
    hash: Vec<u8>,
    models: Vec<String>,
    rate_limit: Option<RateLimit>,
    spend_limit: Option<SpendLimit>,
    created_at: String,
}

impl Manage {
    /// Makes an access token on the API gateway `gateway_id`; the answer holds the token,
    /// the only time it is shown.
    pub fn create_access_token(
        &self,
        gateway_id: &str,
        new: NewAccessToken,
    ) -> Result<Value, ManageError> {
        self.writable(gateway_id)?;
        if new.name.is_empty() || new.name.len() > 128 {
            return Err(ManageError::Invalid("name: 1 to 128 characters".into()));
        }
        if new
            .rate_limit
            .is_some_and(|r| r.limit == 0 || r.interval == 0)
        {
            return Err(ManageError::Invalid(
                "rate_limit: limit and interval must be at least 1".into(),
            ));
        }
        if new
            .spend_limit
            .is_some_and(|s| !(s.limit.is_finite() && s.limit > 0.0) || s.window == 0)
        {
            return Err(ManageError::Invalid(
                "spend_limit: limit must be above 0 and window at least 1".into(),
            ));
        }
        let mut secret = [0u8; 24];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| ManageError::Seal(SealError::Random))?;
        let token = format!("sluice-at-{}", hex(&secret));
        let stored = StoredToken {
            id: uuid::Uuid::now_v7().simple().to_string(),
            gateway_id: gateway_id.to_string(),
            name: new.name,
            hash: token_hash(token.as_bytes()).to_vec(),
            models: new.models,
            rate_limit: new.rate_limit,
            spend_limit: new.spend_limit,
            created_at: now(),
        };
        self.insert_token(&stored)?;
        self.reapply()?;
        let mut shown = token_json(&stored);
        shown["token"] = json!(token);
        Ok(shown)
    }

    /// The access tokens of `gateway_id`, without their values.
    pub fn access_tokens(&self, gateway_id: &str) -> Result<Vec<Value>, ManageError> {
        self.writable(gateway_id)?;
        Ok(self
            .stored_tokens()?
            .iter()
            .filter(|t| t.gateway_id == gateway_id)
            .map(token_json)
            .collect())
    }

    /// Revokes token `id` of `gateway_id`: refused from the next request on.
    pub fn revoke_access_token(&self, gateway_id: &str, id: &str) -> Result<Value, ManageError> {
        self.writable(gateway_id)?;
        let tokens = self.stored_tokens()?;
        let Some(found) = tokens
            .iter()
            .find(|t| t.gateway_id == gateway_id && t.id == id)
        else {
            return Err(ManageError::NotFound(format!(
                "access token {id:?} not found"
            )));
        };
        let conn = self
            .store
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        conn.execute("DELETE FROM access_tokens WHERE id = ?1", params![id])
            .map_err(|e| self.store.sqlite(e))?;
        drop(conn);
        self.reapply()?;
        Ok(token_json(found))
    }

    /// Every gateway's access tokens as the data plane checks them.
    pub(crate) fn tokens_by_gateway(
        &self,
    ) -> Result<BTreeMap<String, Vec<AccessToken>>, ManageError> {
        let mut by_gateway: BTreeMap<String, Vec<AccessToken>> = BTreeMap::new();
        for stored in self.stored_tokens()? {
            let Ok(hash) = <[u8; 32]>::try_from(stored.hash.as_slice()) else {
                log::error!("access token {}: damaged hash, left out", stored.id);
                continue;
            };
            by_gateway
                .entry(stored.gateway_id.clone())
                .or_default()
                .push(AccessToken {
                    id: stored.id,
                    name: stored.name,
                    hash,
                    models: stored.models,
                    rate: stored.rate_limit.map(|r| TokenRate {
                        limit: r.limit,
                        interval_s: r.interval,
                    }),
                    spend: stored.spend_limit.map(|s| TokenSpend {
                        limit: s.limit,
                        window_s: s.window,
                    }),
                });
        }
        Ok(by_gateway)
    }

    fn insert_token(&self, token: &StoredToken) -> Result<(), ManageError> {
        let conn = self
            .store
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        conn.execute(
            "INSERT INTO access_tokens (id, gateway_id, name, token_hash, models, rate_limit,
                 spend_limit, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                token.id,
                token.gateway_id,
                token.name,
                token.hash,
                json_text(&token.models),
                json_text(&token.rate_limit),
                json_text(&token.spend_limit),
                token.created_at
            ],
        )
        .map_err(|e| self.store.sqlite(e))?;
        Ok(())
    }

    fn stored_tokens(&self) -> Result<Vec<StoredToken>, ManageError> {
        let conn = self
            .store
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let sql = |e| self.store.sqlite(e);
        let mut statement = conn
            .prepare(
                "SELECT id, gateway_id, name, token_hash, models, rate_limit, spend_limit,
                        created_at FROM access_tokens ORDER BY rowid",
            )
            .map_err(sql)?;
        let rows = statement
            .query_map([], |row| {
                let text = |i: usize| row.get::<_, String>(i);
                Ok((
                    StoredToken {
                        id: row.get(0)?,
                        gateway_id: row.get(1)?,
                        name: row.get(2)?,
                        hash: row.get(3)?,
                        models: Vec::new(),
                        rate_limit: None,
                        spend_limit: None,
                        created_at: row.get(7)?,
                    },
                    text(4)?,
                    text(5)?,
                    text(6)?,
                ))
            })
            .map_err(sql)?;
        let mut tokens = Vec::new();
        for row in rows {
            let (mut token, models, rate, spend) = row.map_err(sql)?;
            // Written by `insert_token` from these types; a row that does not parse is damaged.
            match (
                serde_json::from_str(&models),
                serde_json::from_str(&rate),
                serde_json::from_str(&spend),
            ) {
                (Ok(models), Ok(rate), Ok(spend)) => {
                    token.models = models;
                    token.rate_limit = rate;
                    token.spend_limit = spend;
                    tokens.push(token);
                }
                _ => log::error!("access token {}: damaged row, left out", token.id),
            }
        }
        Ok(tokens)
    }
}

/// A stored field as JSON text (these types always serialise).
fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn token_json(token: &StoredToken) -> Value {
    json!({
        "id": token.id,
        "gateway_id": token.gateway_id,
        "name": token.name,
        "models": token.models,
        "rate_limit": token.rate_limit,
        "spend_limit": token.spend_limit,
        "created_at": token.created_at,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
