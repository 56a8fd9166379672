//! The `cf-aig-custom-cost` request header: the client's own per-token prices,
//! which replace the table's for that one request (the log marks it custom).

use super::usage::Usage;

/// Why a `cf-aig-custom-cost` header was refused (the caller answers 400, code 2003).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomCostError {
    /// Not JSON.
    #[error("cf-aig-custom-cost is not valid JSON")]
    NotJson,
    /// JSON, but not an object.
    #[error("cf-aig-custom-cost must be a JSON object")]
    NotObject,
    /// A key other than the two prices: a misspelt price would otherwise count as 0.
    #[error("cf-aig-custom-cost has unknown key {0:?} (expected per_token_in, per_token_out)")]
    UnknownKey(String),
    /// Neither price given.
    #[error("cf-aig-custom-cost needs per_token_in or per_token_out")]
    NoPrice,
    /// The named price is not a number >= 0.
    #[error("cf-aig-custom-cost {0} must be a number >= 0")]
    BadPrice(&'static str),
}

/// Per-token prices sent by the client, in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomCost {
    /// USD per input token.
    pub per_token_in: f64,
    /// USD per output token.
    pub per_token_out: f64,
}

impl CustomCost {
    /// The cost of `usage` at these prices, in USD.
    pub fn cost(&self, usage: Usage) -> f64 {
        usage.tokens_in as f64 * self.per_token_in + usage.tokens_out as f64 * self.per_token_out
    }
}

fn price(value: Option<&serde_json::Value>, name: &'static str) -> Result<f64, CustomCostError> {
    let Some(value) = value else {
        return Ok(0.0);
    };
    match value.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(CustomCostError::BadPrice(name)),
    }
}

/// Parses `{"per_token_in": X, "per_token_out": Y}`; one of the two may be left
/// out and then costs nothing.
pub fn parse_custom_cost(header: &[u8]) -> Result<CustomCost, CustomCostError> {
    let value: serde_json::Value =
        serde_json::from_slice(header).map_err(|_| CustomCostError::NotJson)?;
    let fields = value.as_object().ok_or(CustomCostError::NotObject)?;
    if let Some(key) = fields
        .keys()
        .find(|k| *k != "per_token_in" && *k != "per_token_out")
    {
        return Err(CustomCostError::UnknownKey(key.clone()));
    }
    let (per_token_in, per_token_out) = (fields.get("per_token_in"), fields.get("per_token_out"));
    if per_token_in.is_none() && per_token_out.is_none() {
        return Err(CustomCostError::NoPrice);
    }
    Ok(CustomCost {
        per_token_in: price(per_token_in, "per_token_in")?,
        per_token_out: price(per_token_out, "per_token_out")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_prices_and_costs_usage() {
        let c = parse_custom_cost(br#"{"per_token_in": 0.000001, "per_token_out": 2e-6}"#).unwrap();
        assert_eq!(
            c,
            CustomCost {
                per_token_in: 1e-6,
                per_token_out: 2e-6
            }
        );
        let cost = c.cost(Usage {
            tokens_in: 10,
            tokens_out: 5,
        });
        assert!((cost - 2e-5).abs() < 1e-18, "{cost}");
    }

    #[test]
    fn one_price_may_be_left_out() {
        let c = parse_custom_cost(br#"{"per_token_out": 3}"#).unwrap();
        assert_eq!(
            c,
            CustomCost {
                per_token_in: 0.0,
                per_token_out: 3.0
            }
        );
        let c = parse_custom_cost(br#"{"per_token_in": 0}"#).unwrap();
        assert_eq!(
            c.cost(Usage {
                tokens_in: 100,
                tokens_out: 100
            }),
            0.0
        );
    }

    #[test]
    fn refusals_are_typed() {
        let err = |h: &[u8]| parse_custom_cost(h).unwrap_err();
        assert_eq!(err(b"{"), CustomCostError::NotJson);
        assert_eq!(err(b""), CustomCostError::NotJson);
        assert_eq!(err(b"[1]"), CustomCostError::NotObject);
        assert_eq!(err(b"{}"), CustomCostError::NoPrice);
        assert_eq!(
            err(br#"{"per_token_input": 1}"#),
            CustomCostError::UnknownKey("per_token_input".into())
        );
        assert_eq!(
            err(br#"{"per_token_in": -1}"#),
            CustomCostError::BadPrice("per_token_in")
        );
        assert_eq!(
            err(br#"{"per_token_out": "1"}"#),
            CustomCostError::BadPrice("per_token_out")
        );
        assert_eq!(
            err(br#"{"per_token_out": null}"#),
            CustomCostError::BadPrice("per_token_out")
        );
        assert_eq!(err(br#"{"per_token_in": 1e400}"#), CustomCostError::NotJson);
    }
}
