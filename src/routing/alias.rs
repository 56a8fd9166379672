//! A model alias (`custom/NAME`) as written: a pool of `provider/model` targets and how
//! one is picked; the config checks the providers, the data plane will use it.

use serde::{Deserialize, Serialize};

/// `[[gateway.alias]]`: a name for a pool of models.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AliasConfig {
    /// Used as `"model": "custom/NAME"`.
    pub name: String,
    /// `provider/model` targets, in order.
    pub models: Vec<String>,
    /// How a target is picked; ordered unless written.
    #[serde(default)]
    pub strategy: AliasStrategy,
    /// One weight per model, for the weighted strategy.
    #[serde(default)]
    pub weights: Vec<f64>,
}

/// How an alias picks among its models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AliasStrategy {
    /// The first model, then the next on a failure.
    #[default]
    Ordered,
    /// A model drawn by `weights`, then the others on a failure.
    Weighted,
    /// The model with the lowest recent time to first token.
    Latency,
}

impl AliasStrategy {
    /// The name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            AliasStrategy::Ordered => "ordered",
            AliasStrategy::Weighted => "weighted",
            AliasStrategy::Latency => "latency",
        }
    }
}

/// An alias as the data plane uses it: its targets resolved to provider slugs.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// Used as `"model": "custom/NAME"`.
    pub name: String,
    /// `(provider slug, model)` in the order written.
    pub targets: Vec<(String, String)>,
    /// How a target is picked.
    pub strategy: AliasStrategy,
    /// One weight per target (weighted only; else empty).
    pub weights: Vec<f64>,
}
