//! An access token's own limits on the data plane: the models it may ask for (403 2015),
//! its request rate (429 2012) and its spend (429 2013, charged when the cost is known).

use super::ControlState;
use crate::config::AccessToken;
use crate::controls::{BucketKey, Owner, Window};
use crate::error::{Budget, ErrorCode, GatewayError};

/// Before the body is read: the token's rate limit (counting this request) and spend limit.
pub fn admit(
    controls: &ControlState,
    gateway: &str,
    token: &AccessToken,
) -> Result<(), GatewayError> {
    let now = controls.clock.wall();
    if let Some(rate) = token.rate {
        let window = Window {
            limit: rate.limit as f64,
            window_s: rate.interval_s,
            sliding: true,
        };
        if let Err(retry) = controls
            .counters()
            .admit(&key(gateway, token), &window, now)
        {
            return Err(GatewayError::new(
                ErrorCode::RateLimited,
                format!("access token {:?} is over its rate limit", token.name),
            )
            .with_retry_after(retry.header_secs()));
        }
    }
    if let Some((key, window)) = spend_bucket(gateway, token) {
        if let Err(over) = controls.counters().check_spend(&key, &window, now) {
            let budget = Budget {
                rule: format!("access_token:{}", token.id),
                spent: over.spent,
                limit: window.limit,
            };
            return Err(
                GatewayError::new(ErrorCode::BudgetExhausted, "Spending limit exceeded")
                    .with_retry_after(over.retry_after.header_secs())
                    .with_budget(budget),
            );
        }
    }
    Ok(())
}

/// Once the model is known: 403 2015 unless the token may ask for it.
pub fn check_model(token: &AccessToken, asked: &str) -> Result<(), GatewayError> {
    match token.allows(asked) {
        true => Ok(()),
        false => Err(GatewayError::new(
            ErrorCode::ModelNotAllowed,
            format!(
                "access token {:?} may not use model {asked:?}; it may use: {}",
                token.name,
                token.models.join(", ")
            ),
        )),
    }
}

/// The token's spend bucket, charged with the request's cost like a route's buckets.
pub fn spend_bucket(gateway: &str, token: &AccessToken) -> Option<(BucketKey, Window)> {
    let spend = token.spend?;
    let window = Window {
        limit: spend.limit,
        window_s: spend.window_s,
        sliding: true,
    };
    Some((key(gateway, token), window))
}

fn key(gateway: &str, token: &AccessToken) -> BucketKey {
    BucketKey {
        gateway: gateway.to_string(),
        owner: Owner::AccessToken(token.id.clone()),
        partition: String::new(),
    }
}
