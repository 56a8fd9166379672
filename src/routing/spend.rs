//! A gateway's `spend_limits` in the hosted service's shape: up to 20 cost budgets over a
//! window, each scoped by model, provider and metadata (filtered or one budget per value).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rules a gateway may hold.
pub const MAX_SPEND_RULES: usize = 20;

/// `spend_limits = { enabled, rules = [...] }`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpendLimits {
    /// Whether the rules are enforced; true unless written.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The budgets; every rule that applies to a request is checked.
    #[serde(default)]
    pub rules: Vec<SpendRule>,
}

/// One budget: at most `limit` dollars per `window` seconds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpendRule {
    /// Names the rule in errors and metrics; `rule-N` (1-based) when not written.
    #[serde(default)]
    pub id: String,
    /// Whether this rule is enforced; true unless written.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// US dollars per window; greater than 0.
    pub limit: f64,
    /// Always `cost` (the only kind the hosted service has).
    #[serde(rename = "limitType", alias = "limit_type")]
    pub limit_type: SpendLimitType,
    /// The window in seconds.
    pub window: u64,
    /// `fixed` (windows aligned to Unix time, the default) or `sliding`.
    #[serde(default = "fixed")]
    pub technique: SpendTechnique,
    /// Which models the rule counts, or one budget per model.
    #[serde(default)]
    pub model: Option<Dimension>,
    /// Which providers the rule counts, or one budget per provider.
    #[serde(default)]
    pub provider: Option<Dimension>,
    /// By `cf-aig-metadata` key: which values count, or one budget per value.
    #[serde(default)]
    pub metadata: BTreeMap<String, Dimension>,
}

/// What a spend rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpendLimitType {
    /// US dollars.
    Cost,
}

/// How a spend window moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpendTechnique {
    /// Windows aligned to Unix time, reset at each boundary.
    Fixed,
    /// A window ending now.
    Sliding,
}

/// A scope of a rule along one dimension (model, provider or a metadata key).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    /// Filter by `values`, or partition by every value seen.
    pub mode: DimensionMode,
    /// The values a filter counts (not given for a partition).
    #[serde(default)]
    pub values: Vec<String>,
}

/// How a dimension scopes a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DimensionMode {
    /// Only requests whose value is among `values` count.
    Filter,
    /// Each distinct value gets its own budget.
    Partition,
}

impl SpendLimits {
    /// The rules enforced: the enabled ones, none when the limits are off.
    pub fn enforced(&self) -> impl Iterator<Item = &SpendRule> {
        self.rules.iter().filter(move |r| self.enabled && r.enabled)
    }
}

impl SpendRule {
    /// The budget this rule keeps for a request to `provider`'s `model` (its own name)
    /// with `metadata` (a key's value as text): "" when every such request shares one,
    /// else the partitioned values; `None` when a filter leaves the request out. A
    /// partitioned key the request lacks is a value of its own (all such share one).
    pub fn partition(
        &self,
        provider: &str,
        model: &str,
        metadata: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        let qualified = format!("{provider}/{model}");
        let models = [model, qualified.as_str()];
        let mut scope =
            |dimension: &Dimension, name: &str, value: Option<&str>, also: &[&str]| match dimension
                .mode
            {
                DimensionMode::Filter => value.is_some_and(|v| {
                    dimension
                        .values
                        .iter()
                        .any(|allowed| allowed == v || also.contains(&allowed.as_str()))
                }),
                DimensionMode::Partition => {
                    parts.push(name.to_string());
                    parts.push(value.unwrap_or_default().to_string());
                    true
                }
            };
        if let Some(dimension) = &self.model {
            if !scope(dimension, "model", Some(model), &models) {
                return None;
            }
        }
        if let Some(dimension) = &self.provider {
            if !scope(dimension, "provider", Some(provider), &[]) {
                return None;
            }
        }
        for (key, dimension) in &self.metadata {
            let value = metadata(key);
            if !scope(dimension, &format!("metadata.{key}"), value.as_deref(), &[]) {
                return None;
            }
        }
        match parts.is_empty() {
            true => Some(String::new()),
            false => Some(serde_json::to_string(&parts).unwrap_or_default()),
        }
    }
}

fn yes() -> bool {
    true
}

fn fixed() -> SpendTechnique {
    SpendTechnique::Fixed
}
