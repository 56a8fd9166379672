//! Spend limits on the data plane: the gateway's rules that apply to a step, checked
//! before its upstream call, and a finished request's cost charged to them (and to its other cost buckets: a route's, an access token's).

use super::ControlState;
use crate::config::Gateway;
use crate::controls::{BucketKey, Owner, Window};
use crate::error::{Budget, ErrorCode, GatewayError};
use crate::observe::Metadata;
use crate::routing::{SpendRule, SpendTechnique};

/// What the hosted service answers when a rule is over budget.
const EXCEEDED: &str = "Spending limit exceeded";

/// The buckets of `gateway`'s enforced spend rules that a request to `provider`'s
/// `model` counts in, each with its rule.
pub fn rule_buckets<'g>(
    gateway: &'g Gateway,
    provider: &str,
    model: &str,
    metadata: Option<&Metadata>,
) -> Vec<(BucketKey, Window, &'g SpendRule)> {
    let Some(limits) = &gateway.config.spend_limits else {
        return Vec::new();
    };
    let value = |key: &str| metadata.and_then(|m| m.get(key)).map(|v| v.text());
    limits
        .enforced()
        .filter_map(|rule| {
            let partition = rule.partition(provider, model, &value)?;
            let key = BucketKey {
                gateway: gateway.id.clone(),
                owner: Owner::SpendRule(rule.id.clone()),
                partition,
            };
            Some((key, window(rule), rule))
        })
        .collect()
}

/// A rule's window as the counters keep it.
pub fn window(rule: &SpendRule) -> Window {
    Window {
        limit: rule.limit,
        window_s: rule.window,
        sliding: rule.technique == SpendTechnique::Sliding,
    }
}

/// Before a step's upstream call: 429 2013 naming the first applying rule over budget,
/// with `Retry-After` until it admits again.
pub fn check(
    controls: &ControlState,
    gateway: &Gateway,
    provider: &str,
    model: &str,
    metadata: Option<&Metadata>,
) -> Result<(), GatewayError> {
    let now = controls.clock.wall();
    for (key, window, rule) in rule_buckets(gateway, provider, model, metadata) {
        if let Err(over) = controls.counters().check_spend(&key, &window, now) {
            let secs = over.retry_after.header_secs();
            let budget = Budget {
                rule: rule.id.clone(),
                spent: over.spent,
                limit: rule.limit,
            };
            return Err(GatewayError::new(ErrorCode::BudgetExhausted, EXCEEDED)
                .with_retry_after(secs)
                .with_budget(budget));
        }
    }
    Ok(())
}

/// A finished request's cost, charged to every rule that applies to who answered it and
/// to the other cost buckets it counts in (the route's it passed, its access token's).
pub fn charge(
    controls: &ControlState,
    gateway: &Gateway,
    answered_by: (&str, &str),
    metadata: Option<&Metadata>,
    bucket_charges: &[(BucketKey, Window)],
    usd: f64,
) {
    let counters = controls.counters();
    let now = controls.clock.wall();
    let (provider, model) = answered_by;
    for (key, window, _) in rule_buckets(gateway, provider, model, metadata) {
        counters.charge(&key, &window, usd, now);
    }
    for (key, window) in bucket_charges {
        counters.charge(key, window, usd, now);
    }
}
