//! A model alias (`custom/NAME`) as written: a pool of `provider/model` targets and how
//! one is picked; the config checks the providers, the data plane uses it.

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

impl Alias {
    /// The targets' indexes in the order a request tries them: as written; for
    /// `weighted`, one drawn by weight first, then the others as written; for
    /// `latency`, fastest first by this worker's recent times (`latency.rs`).
    pub fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.targets.len()).collect();
        match self.strategy {
            AliasStrategy::Ordered => {}
            AliasStrategy::Weighted => {
                let first = pick_weighted(&self.weights, fastrand::f64());
                order.retain(|&i| i != first);
                order.insert(0, first);
            }
            AliasStrategy::Latency => {
                order = super::latency::with_table(|t| t.order(&self.targets));
            }
        }
        order
    }
}

/// The index whose share of the weights' sum holds `r` (in [0, 1)).
fn pick_weighted(weights: &[f64], r: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut point = r * total;
    for (i, w) in weights.iter().enumerate() {
        if point < *w {
            return i;
        }
        point -= w;
    }
    // Rounding at the very top: the last target with any weight.
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(strategy: AliasStrategy, weights: Vec<f64>) -> Alias {
        Alias {
            name: "a".into(),
            targets: vec![("openai".into(), "x".into()), ("groq".into(), "y".into())],
            strategy,
            weights,
        }
    }

    #[test]
    fn ordered_keeps_the_written_order() {
        assert_eq!(alias(AliasStrategy::Ordered, vec![]).order(), [0, 1]);
    }

    #[test]
    fn weighted_draws_the_first_by_weight_and_keeps_the_rest() {
        assert_eq!(pick_weighted(&[3.0, 1.0], 0.0), 0);
        assert_eq!(pick_weighted(&[3.0, 1.0], 0.74), 0);
        assert_eq!(pick_weighted(&[3.0, 1.0], 0.76), 1);
        assert_eq!(pick_weighted(&[0.0, 1.0], 0.0), 1);
        assert_eq!(pick_weighted(&[1.0, 0.0], 0.999_999_999), 0);
        let a = alias(AliasStrategy::Weighted, vec![3.0, 1.0]);
        let firsts = (0..10_000).filter(|_| a.order()[0] == 0).count();
        // 7,500 expected; 4 standard deviations is about 170.
        assert!((7_300..=7_700).contains(&firsts), "{firsts}");
        for _ in 0..100 {
            let mut order = a.order();
            order.sort_unstable();
            assert_eq!(order, [0, 1]);
        }
    }
}
