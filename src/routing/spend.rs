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

fn yes() -> bool {
    true
}

fn fixed() -> SpendTechnique {
    SpendTechnique::Fixed
}
