//! The management API's gateway object (the hosted service's fields) and its mapping to and
//! from sluice's `GatewayConfig`; fields sluice does not implement are refused when turned on.

use crate::config::{Backoff, GatewayConfig, RateTechnique};
use crate::routing::SpendLimits;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A gateway as the API takes it (create, PUT) and stores it: the hosted service's fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiGateway {
    /// The gateway's id (its path segment); from the path on PUT.
    #[serde(default)]
    pub id: String,
    /// A settings change leaves the gateway's cached responses behind.
    #[serde(default)]
    pub cache_invalidate_on_update: bool,
    /// Seconds a response is cached (`cache_ttl_s`); null or 0: only when asked.
    #[serde(default)]
    pub cache_ttl: Option<u64>,
    /// Requests go to the request log.
    #[serde(default = "yes")]
    pub collect_logs: bool,
    /// Rate limit window in seconds.
    #[serde(default)]
    pub rate_limiting_interval: Option<u64>,
    /// Requests per window; null or 0: no limit.
    #[serde(default)]
    pub rate_limiting_limit: Option<u64>,
    /// `fixed` or `sliding`.
    #[serde(default)]
    pub rate_limiting_technique: Option<RateTechnique>,
    /// Requests need one of the gateway's access tokens (`cf-aig-authorization`).
    #[serde(default)]
    pub authentication: bool,
    /// Only customer keys (stored or the client's): always so here, as there is no unified billing.
    #[serde(default)]
    pub byok_only: bool,
    /// Entries kept in the request log (`log_max_entries`).
    #[serde(default)]
    pub log_management: Option<u64>,
    /// `DELETE_OLDEST` (what sluice does) or null.
    #[serde(default)]
    pub log_management_strategy: Option<String>,
    /// `constant`, `linear` or `exponential`.
    #[serde(default)]
    pub retry_backoff: Option<Backoff>,
    /// Milliseconds between attempts.
    #[serde(default)]
    pub retry_delay: Option<u64>,
    /// Attempts per request, 1-5.
    #[serde(default)]
    pub retry_max_attempts: Option<u32>,
    /// Cost budgets, as in the config file.
    #[serde(default)]
    pub spend_limits: Option<SpendLimits>,
    /// The hosted service's features sluice does not have: kept only to check they are off.
    #[serde(default, flatten, skip_serializing)]
    pub unimplemented: Unimplemented,
}

/// Accepted only when off or empty (null, false, "", [], {}, `enabled: false`, or an object
/// of such values), so a config exported from the hosted service loads, and turning one on
/// is an error rather than a silent no-op.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Unimplemented {
    dlp: Option<Value>,
    guardrails: Option<Value>,
    logpush: Option<Value>,
    logpush_public_key: Option<Value>,
    otel: Option<Value>,
    stripe: Option<Value>,
    zdr: Option<Value>,
    log_classification: Option<Value>,
    store_id: Option<Value>,
    workers_ai_billing_mode: Option<Value>,
    // Read-only fields an object read back from the API carries.
    #[allow(dead_code)]
    created_at: Option<Value>,
    #[allow(dead_code)]
    modified_at: Option<Value>,
    #[allow(dead_code)]
    is_default: Option<Value>,
    #[allow(dead_code)]
    source: Option<Value>,
}

fn yes() -> bool {
    true
}

/// Why a gateway object is refused: the field, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The object's field.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl ApiGateway {
    /// Checks the fields sluice does not implement are off, then maps the rest.
    pub fn to_config(&self) -> Result<GatewayConfig, FieldError> {
        let off = &self.unimplemented;
        let features = [
            ("dlp", &off.dlp),
            ("guardrails", &off.guardrails),
            ("logpush", &off.logpush),
            ("logpush_public_key", &off.logpush_public_key),
            ("otel", &off.otel),
            ("stripe", &off.stripe),
            ("zdr", &off.zdr),
            ("log_classification", &off.log_classification),
            ("store_id", &off.store_id),
        ];
        for (field, value) in features {
            if value.as_ref().is_some_and(|v| !is_off(v)) {
                return Err(refuse(
                    field,
                    "sluice does not implement this; leave it off",
                ));
            }
        }
        match &off.workers_ai_billing_mode {
            None | Some(Value::Null) => {}
            Some(Value::String(mode)) if mode == "postpaid" => {}
            Some(_) => {
                return Err(refuse(
                    "workers_ai_billing_mode",
                    "only \"postpaid\" (Workers AI bills your account) is possible here",
                ))
            }
        }
        match self.log_management_strategy.as_deref() {
            None | Some("DELETE_OLDEST") => {}
            Some(other) => {
                return Err(refuse(
                    "log_management_strategy",
                    format!("{other:?} is not implemented; sluice deletes the oldest entries (DELETE_OLDEST)"),
                ))
            }
        }
        let mut config = GatewayConfig {
            id: self.id.clone(),
            collect_logs: self.collect_logs,
            cache_ttl_s: self.cache_ttl.unwrap_or(0),
            spend_limits: self.spend_limits.clone(),
            ..GatewayConfig::default()
        };
        if let Some(limit) = self.rate_limiting_limit {
            config.rate_limit.limit = limit;
        }
        if let Some(interval) = self.rate_limiting_interval {
            config.rate_limit.interval_s = interval;
        }
        if let Some(technique) = self.rate_limiting_technique {
            config.rate_limit.technique = technique;
        }
        if let Some(attempts) = self.retry_max_attempts {
            config.retry.max_attempts = attempts;
        }
        if let Some(delay) = self.retry_delay {
            config.retry.delay_ms = delay;
        }
        if let Some(backoff) = self.retry_backoff {
            config.retry.backoff = backoff;
        }
        if let Some(entries) = self.log_management {
            config.log_max_entries = entries;
        }
        Ok(config)
    }

    /// The API's view of a gateway the config file declares.
    pub fn from_config(config: &GatewayConfig) -> ApiGateway {
        let rate = &config.rate_limit;
        let limited = rate.limit > 0;
        ApiGateway {
            id: config.id.clone(),
            cache_invalidate_on_update: false,
            cache_ttl: Some(config.cache_ttl_s),
            collect_logs: config.collect_logs,
            rate_limiting_interval: limited.then_some(rate.interval_s),
            rate_limiting_limit: limited.then_some(rate.limit),
            rate_limiting_technique: Some(rate.technique),
            authentication: !config.auth_tokens.is_empty(),
            byok_only: false,
            log_management: Some(config.log_max_entries),
            log_management_strategy: Some("DELETE_OLDEST".into()),
            retry_backoff: Some(config.retry.backoff),
            retry_delay: Some(config.retry.delay_ms),
            retry_max_attempts: Some(config.retry.max_attempts),
            spend_limits: config.spend_limits.clone(),
            unimplemented: Unimplemented::default(),
        }
    }

    /// The object as the API answers it.
    pub fn to_json(&self, created_at: &str, modified_at: &str, source: &str) -> Value {
        let mut object = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Value::Object(fields) = &mut object {
            fields.insert("created_at".into(), json!(created_at));
            fields.insert("modified_at".into(), json!(modified_at));
            fields.insert("source".into(), json!(source));
            fields.insert("is_default".into(), json!(self.id == "default"));
            // What the hosted service has and sluice does not, shown as off.
            for field in ["logpush", "zdr", "log_classification"] {
                fields.insert(field.into(), json!(false));
            }
            fields.insert("workers_ai_billing_mode".into(), json!("postpaid"));
        }
        object
    }
}

/// Off or empty: null, false, "", 0-length arrays and objects, `{"enabled": false, ...}`,
/// or an object whose every value is off.
fn is_off(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => {
            fields.get("enabled") == Some(&Value::Bool(false)) || fields.values().all(is_off)
        }
        Value::Bool(true) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GatewayConfig, String> {
        let object: ApiGateway = serde_json::from_str(text).map_err(|e| e.to_string())?;
        object.to_config().map_err(|e| e.to_string())
    }

    #[test]
    fn implemented_fields_map_to_the_gateway_config() {
        let config = parse(
            r#"{"id":"team","cache_invalidate_on_update":true,"cache_ttl":60,"collect_logs":false,
                "rate_limiting_interval":10,"rate_limiting_limit":5,"rate_limiting_technique":"fixed",
                "retry_max_attempts":3,"retry_delay":200,"retry_backoff":"exponential",
                "log_management":1000,"log_management_strategy":"DELETE_OLDEST",
                "dlp":{"enabled":false,"action":"BLOCK","profiles":[]},"guardrails":null,
                "logpush":false,"otel":[],"zdr":false,"workers_ai_billing_mode":"postpaid",
                "spend_limits":{"rules":[{"limit":5,"limitType":"cost","window":86400}]}}"#,
        )
        .unwrap();
        assert_eq!(config.id, "team");
        assert_eq!(config.cache_ttl_s, 60);
        assert!(!config.collect_logs);
        assert_eq!(config.rate_limit.limit, 5);
        assert_eq!(config.rate_limit.interval_s, 10);
        assert_eq!(config.rate_limit.technique, RateTechnique::Fixed);
        assert_eq!(config.retry.max_attempts, 3);
        assert_eq!(config.retry.delay_ms, 200);
        assert_eq!(config.retry.backoff, Backoff::Exponential);
        assert_eq!(config.log_max_entries, 1000);
        assert_eq!(config.spend_limits.unwrap().rules[0].limit, 5.0);
    }

    #[test]
    fn a_feature_sluice_lacks_is_refused_when_on_naming_it() {
        for (body, field) in [
            (r#"{"id":"g","zdr":true}"#, "zdr"),
            (r#"{"id":"g","logpush":true}"#, "logpush"),
            (
                r#"{"id":"g","dlp":{"enabled":true,"action":"BLOCK","profiles":["p"]}}"#,
                "dlp",
            ),
            (
                r#"{"id":"g","otel":[{"url":"http://x","headers":{}}]}"#,
                "otel",
            ),
            (r#"{"id":"g","store_id":"s1"}"#, "store_id"),
            (
                r#"{"id":"g","workers_ai_billing_mode":"unified"}"#,
                "workers_ai_billing_mode",
            ),
            (
                r#"{"id":"g","log_management_strategy":"STOP_INSERTING"}"#,
                "log_management_strategy",
            ),
        ] {
            let err = parse(body).unwrap_err();
            assert!(err.starts_with(&format!("{field}: ")), "{body}: {err}");
        }
        assert!(parse(r#"{"id":"g","colour":"blue"}"#)
            .unwrap_err()
            .contains("colour"));
    }
}
