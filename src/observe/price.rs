//! USD per token by provider and model: the bundled `prices.toml` merged with the
//! config's `[price.PROVIDER]` tables, and the cost of a request's usage.

use std::collections::BTreeMap;

use super::usage::Usage;

const BUNDLED_PRICES: &str = include_str!("prices.toml");

/// A bad price table (bundled or from the config), with where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// The bundled table does not parse (a build-time mistake, caught by tests).
    #[error("bundled price table: {0}")]
    Bundled(String),
    /// An entry is not `{ in = X, out = Y }` with finite, non-negative numbers.
    #[error("price.{provider}.\"{model}\": {reason}")]
    BadEntry {
        /// The provider table's name.
        provider: String,
        /// The model's key.
        model: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// What one model costs, in USD per token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    /// USD per input token.
    pub per_token_in: f64,
    /// USD per output token.
    pub per_token_out: f64,
}

impl ModelPrice {
    /// The cost of `usage` at this price, in USD.
    pub fn cost(&self, usage: Usage) -> f64 {
        // u64 -> f64 is exact below 2^53 tokens, far beyond any request.
        usage.tokens_in as f64 * self.per_token_in + usage.tokens_out as f64 * self.per_token_out
    }
}

/// Prices by provider slug, then model name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    providers: BTreeMap<String, BTreeMap<String, ModelPrice>>,
}

impl PriceTable {
    /// The bundled table alone.
    pub fn bundled() -> Result<Self, PriceError> {
        let tables: BTreeMap<String, toml::Table> =
            toml::from_str(BUNDLED_PRICES).map_err(|e| PriceError::Bundled(e.to_string()))?;
        let mut table = PriceTable::default();
        table.merge(&tables)?;
        Ok(table)
    }

    /// The bundled table with the config's `[price.PROVIDER]` tables
    /// (`Settings.prices`) over it: new models added, listed ones replaced.
    pub fn with_overrides(overrides: &BTreeMap<String, toml::Table>) -> Result<Self, PriceError> {
        let mut table = Self::bundled()?;
        table.merge(overrides)?;
        Ok(table)
    }

    /// Adds or replaces entries from tables shaped `{ PROVIDER = { MODEL = { in, out } } }`.
    /// On error nothing is changed.
    pub fn merge(&mut self, tables: &BTreeMap<String, toml::Table>) -> Result<(), PriceError> {
        let mut parsed = Vec::new();
        for (provider, models) in tables {
            for (model, entry) in models {
                parsed.push((provider, model, parse_entry(provider, model, entry)?));
            }
        }
        for (provider, model, price) in parsed {
            self.providers
                .entry(provider.clone())
                .or_default()
                .insert(model.clone(), price);
        }
        Ok(())
    }

    /// The price of `model` at `provider`: the exact name, else the longest listed
    /// name that `model` starts with followed by `-` (`gpt-4o-mini-2024-07-18`
    /// finds `gpt-4o-mini`, not `gpt-4o`).
    pub fn lookup(&self, provider: &str, model: &str) -> Option<ModelPrice> {
        let models = self.providers.get(provider)?;
        let mut candidate = model;
        loop {
            if let Some(price) = models.get(candidate) {
                return Some(*price);
            }
            candidate = candidate.rsplit_once('-')?.0;
        }
    }

    /// The cost in USD of `usage` for `model` at `provider`; `None` when the model
    /// has no price (an unknown cost is never reported as 0).
    pub fn cost(&self, provider: &str, model: &str, usage: Usage) -> Option<f64> {
        self.lookup(provider, model).map(|price| price.cost(usage))
    }

    /// How many models have a price, over all providers.
    pub fn len(&self) -> usize {
        self.providers.values().map(BTreeMap::len).sum()
    }

    /// Whether no model has a price.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn parse_entry(provider: &str, model: &str, entry: &toml::Value) -> Result<ModelPrice, PriceError> {
    let bad = |reason: String| PriceError::BadEntry {
        provider: provider.to_string(),
        model: model.to_string(),
        reason,
    };
    let table = entry
        .as_table()
        .ok_or_else(|| bad("must be a table { in = X, out = Y }".into()))?;
    if let Some(key) = table.keys().find(|k| *k != "in" && *k != "out") {
        return Err(bad(format!("unknown key {key:?} (expected in, out)")));
    }
    let number = |key: &str| -> Result<f64, PriceError> {
        let value = table
            .get(key)
            .ok_or_else(|| bad(format!("missing {key:?}")))?;
        let n = match value {
            toml::Value::Float(f) => *f,
            toml::Value::Integer(i) => *i as f64,
            _ => return Err(bad(format!("{key:?} must be a number"))),
        };
        if n.is_finite() && n >= 0.0 {
            Ok(n)
        } else {
            Err(bad(format!("{key:?} must be a finite number >= 0")))
        }
    };
    Ok(ModelPrice {
        per_token_in: number("in")?,
        per_token_out: number("out")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(text: &str) -> BTreeMap<String, toml::Table> {
        toml::from_str(text).unwrap()
    }

    fn usage(tokens_in: u64, tokens_out: u64) -> Usage {
        Usage {
            tokens_in,
            tokens_out,
        }
    }

    #[test]
    fn bundled_table_covers_the_named_providers() {
        let table = PriceTable::bundled().unwrap();
        assert!(table.len() >= 24, "{}", table.len());
        for provider in [
            "openai",
            "anthropic",
            "groq",
            "mistral",
            "google-ai-studio",
            "deepseek",
        ] {
            assert!(
                table.providers.get(provider).is_some_and(|m| !m.is_empty()),
                "{provider}"
            );
        }
        assert_eq!(
            table.lookup("openai", "gpt-4o-mini"),
            Some(ModelPrice {
                per_token_in: 1.5e-7,
                per_token_out: 6e-7
            })
        );
    }

    #[test]
    fn dated_names_find_the_longest_listed_prefix() {
        let table = PriceTable::bundled().unwrap();
        let mini = table.lookup("openai", "gpt-4o-mini").unwrap();
        let full = table.lookup("openai", "gpt-4o").unwrap();
        assert_ne!(mini, full);
        assert_eq!(table.lookup("openai", "gpt-4o-mini-2024-07-18"), Some(mini));
        assert_eq!(table.lookup("openai", "gpt-4o-2024-08-06"), Some(full));
        let haiku = table.lookup("anthropic", "claude-haiku-4-5").unwrap();
        assert_eq!(
            table.lookup("anthropic", "claude-haiku-4-5-20251001"),
            Some(haiku)
        );
    }

    #[test]
    fn a_prefix_must_end_at_a_dash() {
        let table =
            PriceTable::with_overrides(&tables("[p]\n\"m\" = { in = 1, out = 2 }")).unwrap();
        assert!(table.lookup("p", "m-1").is_some());
        assert_eq!(table.lookup("p", "mx"), None);
        assert_eq!(table.lookup("p", "x-m"), None);
        assert_eq!(table.lookup("p", ""), None);
        assert_eq!(table.lookup("p", "-"), None);
        assert_eq!(table.lookup("nobody", "m"), None);
    }

    #[test]
    fn cost_is_none_for_unknown_models_never_zero() {
        let table = PriceTable::bundled().unwrap();
        assert_eq!(table.cost("openai", "gpt-unknown", usage(100, 100)), None);
        assert_eq!(
            table.cost("unknown-provider", "gpt-4o", usage(100, 100)),
            None
        );
        let cost = table
            .cost("openai", "gpt-4o-mini-2024-07-18", usage(1000, 2000))
            .unwrap();
        assert!(
            (cost - (1000.0 * 1.5e-7 + 2000.0 * 6e-7)).abs() < 1e-15,
            "{cost}"
        );
        assert_eq!(table.cost("openai", "gpt-4o-mini", usage(0, 0)), Some(0.0));
    }

    #[test]
    fn config_overrides_replace_and_extend() {
        let table = PriceTable::with_overrides(&tables(
            "[openai]\n\"gpt-4o-mini\" = { in = 1e-6, out = 2e-6 }\n[my-llm]\n\"local\" = { in = 0, out = 0 }",
        ))
        .unwrap();
        assert_eq!(
            table.lookup("openai", "gpt-4o-mini-2024-07-18"),
            Some(ModelPrice {
                per_token_in: 1e-6,
                per_token_out: 2e-6
            })
        );
        assert!(table.lookup("openai", "gpt-4o").is_some());
        assert_eq!(table.cost("my-llm", "local", usage(5, 5)), Some(0.0));
    }

    #[test]
    fn bad_entries_are_typed_errors_and_change_nothing() {
        let cases = [
            ("\"m\" = 1", "must be a table"),
            ("\"m\" = { in = 1 }", "missing \"out\""),
            ("\"m\" = { in = 1, out = \"2\" }", "must be a number"),
            ("\"m\" = { in = -1, out = 2 }", ">= 0"),
            ("\"m\" = { in = nan, out = 2 }", ">= 0"),
            ("\"m\" = { in = inf, out = 2 }", ">= 0"),
            ("\"m\" = { in = 1, out = 2, cached = 3 }", "unknown key"),
        ];
        for (entry, reason) in cases {
            let mut table = PriceTable::bundled().unwrap();
            let before = table.clone();
            let err = table
                .merge(&tables(&format!(
                    "[openai]\n\"ok\" = {{ in = 1, out = 1 }}\n{entry}"
                )))
                .unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("price.openai.\"m\": "), "{text}");
            assert!(text.contains(reason), "{entry}: {text}");
            assert_eq!(table, before, "{entry}");
        }
    }
}
