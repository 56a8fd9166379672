//! `[[gateway.route]]`, `[[gateway.alias]]` and `spend_limits` checked at load: route files
//! read, routes parsed by `crate::routing`, providers resolved to slugs, names unique.

use super::{did_you_mean, find_by_model_prefix, find_by_slug, ConfigError, GatewayConfig};
use crate::providers::Provider;
use crate::routing::{
    route_from_json, Alias, AliasConfig, AliasStrategy, DimensionMode, ElementKind, Route,
    RouteError, SpendLimits, MAX_SPEND_RULES, MAX_WINDOW_S,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// `[[gateway.route]]` as written: `elements` inline, or a JSON `file`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Used as `"model": "dynamic/NAME"`.
    pub name: String,
    /// The route's elements in the hosted JSON shape, as TOML tables.
    #[serde(default)]
    pub elements: Option<Vec<serde_json::Value>>,
    /// A JSON file holding the hosted route object or its elements, relative to the
    /// config file's directory (made absolute at load).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

/// A gateway's routes and aliases, checked; the spend limits are checked in place.
pub(super) struct Routing {
    pub routes: Vec<Route>,
    pub aliases: Vec<Alias>,
}

type Providers = BTreeMap<String, Provider>;

pub(super) fn resolve(
    at: &str,
    config: &mut GatewayConfig,
    providers: &Providers,
    base: &Path,
) -> Result<Routing, ConfigError> {
    let mut routes = Vec::with_capacity(config.route.len());
    for (i, written) in config.route.iter_mut().enumerate() {
        let here = format!("{at}.route[{i}]");
        check_name(&format!("{here}.name"), "route", &written.name)?;
        if routes.iter().any(|r: &Route| r.name == written.name) {
            let message = format!(
                "route `{}` is declared twice in gateway `{}`",
                written.name, config.id
            );
            return Err(ConfigError::invalid(format!("{here}.name"), message));
        }
        routes.push(route(&here, &config.id, written, providers, base)?);
    }
    let mut aliases = Vec::with_capacity(config.alias.len());
    for (i, written) in config.alias.iter().enumerate() {
        let here = format!("{at}.alias[{i}]");
        check_name(&format!("{here}.name"), "alias", &written.name)?;
        if aliases.iter().any(|a: &Alias| a.name == written.name) {
            let message = format!(
                "alias `{}` is declared twice in gateway `{}`",
                written.name, config.id
            );
            return Err(ConfigError::invalid(format!("{here}.name"), message));
        }
        aliases.push(alias(&here, written, providers)?);
    }
    if let Some(limits) = &mut config.spend_limits {
        spend_limits(&format!("{at}.spend_limits"), limits, providers)?;
    }
    Ok(Routing { routes, aliases })
}

fn check_name(at: &str, what: &str, name: &str) -> Result<(), ConfigError> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    if name.is_empty() || name.len() > 64 || !name.bytes().all(ok) {
        let message = format!("a {what} name must be 1-64 characters of [A-Za-z0-9_.-]");
        return Err(ConfigError::invalid(at, message));
    }
    Ok(())
}

fn route(
    at: &str,
    gateway: &str,
    written: &mut RouteConfig,
    providers: &Providers,
    base: &Path,
) -> Result<Route, ConfigError> {
    let name = written.name.clone();
    let (key, origin, json) = match (&written.elements, &written.file) {
        (Some(_), Some(_)) => {
            let message = format!("route `{name}` has both `elements` and `file`; give one");
            return Err(ConfigError::invalid(at, message));
        }
        (None, None) => {
            let message =
                format!("route `{name}` needs `elements` (inline) or `file` (a JSON file)");
            return Err(ConfigError::invalid(at, message));
        }
        (Some(elements), None) => (
            format!("{at}.elements"),
            String::new(),
            serde_json::Value::Array(elements.clone()),
        ),
        (None, Some(file)) => {
            let path = base.join(file);
            let key = format!("{at}.file");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::invalid(
                    &key,
                    format!("route `{name}`: cannot read {}: {e}", path.display()),
                )
            })?;
            let json = serde_json::from_str(&text).map_err(|e| {
                ConfigError::invalid(
                    &key,
                    format!("route `{name}`: {} is not valid JSON: {e}", path.display()),
                )
            })?;
            let origin = format!(" ({})", path.display());
            written.file = Some(path);
            (key, origin, json)
        }
    };
    let within = |e: RouteError| {
        let hint = match &e.unknown {
            Some((bad, valid)) => match did_you_mean(bad, valid.iter().copied()) {
                hint if hint.is_empty() && !valid.is_empty() => {
                    format!("; valid: {}", valid.join(", "))
                }
                hint => hint,
            },
            None => String::new(),
        };
        ConfigError::invalid(
            &key,
            format!("gateway `{gateway}`, route `{name}`{origin}: {e}{hint}"),
        )
    };
    let mut route = route_from_json(&json, Some(&name)).map_err(within)?;
    for element in &mut route.elements {
        let ElementKind::Model(call) = &mut element.kind else {
            continue;
        };
        let slug = provider_slug(providers, &call.provider).map_err(|hint| {
            let message = format!("`{}` is not a known provider{hint}", call.provider);
            within(RouteError::new(
                Some(&element.id),
                "properties.provider",
                message,
            ))
        })?;
        call.provider = slug;
    }
    Ok(route)
}

/// A provider named as a slug or `/compat` prefix (as `default_provider` is), as its slug;
/// else the did-you-mean hint.
fn provider_slug(providers: &Providers, name: &str) -> Result<String, String> {
    find_by_slug(providers, name)
        .or_else(|| find_by_model_prefix(providers, name))
        .map(|p| p.slug.clone())
        .ok_or_else(|| did_you_mean(name, providers.keys().map(String::as_str)))
}

fn alias(at: &str, written: &AliasConfig, providers: &Providers) -> Result<Alias, ConfigError> {
    if written.models.is_empty() {
        return Err(ConfigError::invalid(
            format!("{at}.models"),
            "an alias needs at least one model",
        ));
    }
    let mut targets = Vec::with_capacity(written.models.len());
    for (i, model) in written.models.iter().enumerate() {
        let key = format!("{at}.models[{i}]");
        let Some((provider, name)) = model
            .split_once('/')
            .filter(|(p, m)| !p.is_empty() && !m.is_empty())
        else {
            let message =
                format!("`{model}` is not `provider/model` (e.g. \"openai/gpt-4o-mini\")");
            return Err(ConfigError::invalid(key, message));
        };
        let slug = provider_slug(providers, provider).map_err(|hint| {
            ConfigError::invalid(&key, format!("`{provider}` is not a known provider{hint}"))
        })?;
        targets.push((slug, name.to_string()));
    }
    let weights = &written.weights;
    match written.strategy {
        AliasStrategy::Weighted if weights.len() != targets.len() => {
            let message = format!(
                "{} weights for {} models; give one weight per model",
                weights.len(),
                targets.len()
            );
            return Err(ConfigError::invalid(format!("{at}.weights"), message));
        }
        AliasStrategy::Weighted => {
            if let Some(i) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
                return Err(ConfigError::invalid(
                    format!("{at}.weights[{i}]"),
                    "a weight is a number >= 0",
                ));
            }
            if weights.iter().sum::<f64>() <= 0.0 {
                return Err(ConfigError::invalid(
                    format!("{at}.weights"),
                    "at least one weight must be above 0",
                ));
            }
        }
        _ if !weights.is_empty() => {
            let message = "weights are only used with strategy = \"weighted\"";
            return Err(ConfigError::invalid(format!("{at}.weights"), message));
        }
        _ => {}
    }
    Ok(Alias {
        name: written.name.clone(),
        targets,
        strategy: written.strategy,
        weights: weights.clone(),
    })
}

fn spend_limits(
    at: &str,
    limits: &mut SpendLimits,
    providers: &Providers,
) -> Result<(), ConfigError> {
    if limits.rules.len() > MAX_SPEND_RULES {
        let message = format!(
            "at most {MAX_SPEND_RULES} rules, found {}",
            limits.rules.len()
        );
        return Err(ConfigError::invalid(format!("{at}.rules"), message));
    }
    let mut ids = HashSet::new();
    for (i, rule) in limits.rules.iter_mut().enumerate() {
        let here = format!("{at}.rules[{i}]");
        if rule.id.is_empty() {
            rule.id = format!("rule-{}", i + 1);
        }
        check_name(&format!("{here}.id"), "rule", &rule.id)?;
        if !ids.insert(rule.id.clone()) {
            let message = format!("rule id `{}` is used twice", rule.id);
            return Err(ConfigError::invalid(format!("{here}.id"), message));
        }
        if !(rule.limit.is_finite() && rule.limit > 0.0) {
            return Err(ConfigError::invalid(
                format!("{here}.limit"),
                "must be a number of dollars above 0",
            ));
        }
        if !(1..=MAX_WINDOW_S).contains(&rule.window) {
            let message = format!("must be from 1 to {MAX_WINDOW_S} seconds (a year)");
            return Err(ConfigError::invalid(format!("{here}.window"), message));
        }
        let dims = rule.model.iter().map(|d| ("model".to_string(), d));
        let dims = dims.chain(rule.provider.iter().map(|d| ("provider".to_string(), d)));
        let dims = dims.chain(
            rule.metadata
                .iter()
                .map(|(k, d)| (format!("metadata.{k}"), d)),
        );
        for (name, dim) in dims {
            let key = format!("{here}.{name}");
            match dim.mode {
                DimensionMode::Filter if dim.values.is_empty() => {
                    return Err(ConfigError::invalid(
                        format!("{key}.values"),
                        "a filter needs at least one value",
                    ));
                }
                DimensionMode::Partition if !dim.values.is_empty() => {
                    let message =
                        "a partition takes no values (each value seen gets its own budget)";
                    return Err(ConfigError::invalid(format!("{key}.values"), message));
                }
                _ => {}
            }
            if name == "metadata." {
                return Err(ConfigError::invalid(
                    key,
                    "a metadata key must not be empty",
                ));
            }
            if name == "provider" {
                for (j, value) in dim.values.iter().enumerate() {
                    if find_by_slug(providers, value).is_none() {
                        let hint = did_you_mean(value, providers.keys().map(String::as_str));
                        let message = format!("`{value}` is not a known provider slug{hint}");
                        return Err(ConfigError::invalid(format!("{key}.values[{j}]"), message));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
