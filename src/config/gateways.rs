//! Each `[[gateway]]` (and each gateway the management API made) checked and resolved
//! into the `Gateway` workers use: id, tokens, default provider, retry and limits, routes.

use super::{
    find_by_model_prefix, find_by_slug, ApiGatewayConfig, ConfigError, Gateway, GatewayConfig,
    GatewayKeys, Settings, REQUEST_TIMEOUT_MAX_MS,
};
use crate::providers::Provider;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub(super) fn resolve_gateways(
    declared: Vec<GatewayConfig>,
    providers: &BTreeMap<String, Provider>,
    base: &Path,
) -> Result<HashMap<String, Gateway>, ConfigError> {
    let mut gateways = HashMap::new();
    for (i, config) in declared.into_iter().enumerate() {
        let at = format!("gateway[{i}]");
        let gateway = resolve_gateway(&at, config, providers, base)?;
        if gateways.contains_key(&gateway.id) {
            return Err(ConfigError::invalid(
                format!("{at}.id"),
                format!("gateway id `{}` is declared twice", gateway.id),
            ));
        }
        gateways.insert(gateway.id.clone(), gateway);
    }
    if !gateways.contains_key("default") {
        let default = resolve_gateway("gateway", GatewayConfig::default(), providers, base)?;
        gateways.insert(default.id.clone(), default);
    }
    Ok(gateways)
}

fn resolve_gateway(
    at: &str,
    mut config: GatewayConfig,
    providers: &BTreeMap<String, Provider>,
    base: &Path,
) -> Result<Gateway, ConfigError> {
    let id_ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if config.id.is_empty() || config.id.len() > 64 || !config.id.bytes().all(id_ok) {
        return Err(ConfigError::invalid(
            format!("{at}.id"),
            "a gateway id must be 1-64 characters of [A-Za-z0-9_-]",
        ));
    }
    if let Some(i) = config.auth_tokens.iter().position(|t| t.is_empty()) {
        return Err(ConfigError::invalid(
            format!("{at}.auth_tokens[{i}]"),
            "a gateway token must not be empty",
        ));
    }
    let default_provider = match config.default_provider.as_str() {
        "" => None,
        name => {
            let provider = find_by_slug(providers, name)
                .or_else(|| find_by_model_prefix(providers, name))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        format!("{at}.default_provider"),
                        format!("`{name}` is not a known provider"),
                    )
                })?;
            Some(provider.slug.clone())
        }
    };
    let retry = &config.retry;
    if !(1..=5).contains(&retry.max_attempts) {
        return Err(ConfigError::invalid(
            format!("{at}.retry.max_attempts"),
            "must be from 1 to 5",
        ));
    }
    if retry.delay_ms > 60_000 {
        return Err(ConfigError::invalid(
            format!("{at}.retry.delay_ms"),
            "must be from 0 to 60000",
        ));
    }
    if config.request_timeout_ms > REQUEST_TIMEOUT_MAX_MS {
        return Err(ConfigError::invalid(
            format!("{at}.request_timeout_ms"),
            "must be from 0 (none) to 86400000 (a day)",
        ));
    }
    let rate = &config.rate_limit;
    if rate.limit > 0 && rate.interval_s == 0 {
        return Err(ConfigError::invalid(
            format!("{at}.rate_limit.interval_s"),
            "must be greater than 0 when rate_limit.limit is set",
        ));
    }
    let routing = super::routes::resolve(at, &mut config, providers, base)?;
    let mut route_body_keys: Vec<String> =
        routing.routes.iter().flat_map(|r| r.body_keys()).collect();
    route_body_keys.sort();
    route_body_keys.dedup();
    Ok(Gateway {
        id: config.id.clone(),
        auth_tokens: config.auth_tokens.clone(),
        default_provider,
        route_body_keys,
        routes: routing.routes,
        aliases: routing.aliases,
        cache_scope: config.id.clone(),
        stored_keys: GatewayKeys::default(),
        access_tokens: Vec::new(),
        authenticated: !config.auth_tokens.is_empty(),
        config,
        from_api: false,
    })
}

impl Settings {
    /// These settings with the management API's gateways added. An id the config file
    /// (or the default) already has is skipped, and named in the answer's second part: the
    /// file wins. Errors name the gateway (`gateway "team".retry.max_attempts`).
    pub fn with_api_gateways(
        &self,
        gateways: &[ApiGatewayConfig],
    ) -> Result<(Settings, Vec<String>), ConfigError> {
        let mut settings = self.clone();
        let mut shadowed = Vec::new();
        for api in gateways {
            let id = &api.config.id;
            if settings.gateways.get(id).is_some_and(|g| !g.from_api) {
                shadowed.push(id.clone());
                continue;
            }
            let at = format!("gateway {id:?}");
            let (providers, base) = (&settings.providers, Path::new("."));
            let mut gateway = resolve_gateway(&at, api.config.clone(), providers, base)?;
            gateway.from_api = true;
            gateway.cache_scope = api.cache_scope.clone();
            gateway.stored_keys = api.keys.clone();
            gateway.access_tokens = api.access_tokens.clone();
            gateway.authenticated = api.authentication;
            settings.gateways.insert(gateway.id.clone(), gateway);
        }
        Ok((settings, shadowed))
    }
}
