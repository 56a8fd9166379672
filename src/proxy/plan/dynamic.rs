//! `"model": "dynamic/NAME"`: the gateway's route walked from `start` once per request,
//! conditionals, splits and rate buckets decided, to the model elements it will try.

use super::toolbox::unknown_name;
use super::RouteTaken;
use crate::config::Gateway;
use crate::controls::{BucketKey, Owner, RetryAfter, Window};
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::json::find_path;
use crate::observe::{Metadata, MetadataValue};
use crate::proxy::control_state::ControlState;
use crate::routing::{
    evaluate, ElementKind, Field, FieldRoot, FieldValues, LimitType, ModelCall, RateLimit, Route,
    StableHasher, Technique,
};
use serde_json::Value;
use std::ops::Range;

/// The model elements a request of `route_name` tries, in order, each with the route path
/// of a request it answers: the first reached from `start`, then each one's `fallback`
/// output (decided the same way) until an `end`. The cost buckets passed are charged
/// once the request's cost is known.
pub(super) fn model_calls<'g>(
    gateway: &'g Gateway,
    route_name: &str,
    head: &RequestHead,
    body: &[u8],
    body_fields: &[Option<Range<usize>>],
    metadata: Option<&Metadata>,
    controls: &ControlState,
) -> Result<(Vec<PathedCall<'g>>, RouteTaken), GatewayError> {
    let route = gateway
        .routes
        .iter()
        .find(|r| r.name == route_name)
        .ok_or_else(|| {
            let names = gateway.routes.iter().map(|r| r.name.as_str());
            unknown_name("route", "dynamic", route_name, names, "[[gateway.route]]")
        })?;
    let fields = RequestFields {
        head,
        body,
        body_keys: &gateway.route_body_keys,
        body_fields,
        metadata,
    };
    let counters = controls.counters();
    let now = controls.clock.wall();
    let mut charges = Vec::new();
    let mut admit = |element: &str, rate: &RateLimit, partition: String| {
        let key = BucketKey {
            gateway: gateway.id.clone(),
            owner: Owner::RouteElement {
                route: route.name.clone(),
                element: element.to_string(),
            },
            partition,
        };
        let window = Window {
            limit: rate.limit,
            window_s: rate.window_s,
            sliding: rate.technique == Technique::Sliding,
        };
        match rate.limit_type {
            LimitType::Count => counters
                .admit(&key, &window, now)
                .map_err(|wait| Refused { wait, spent: None }),
            LimitType::Cost => {
                counters
                    .check_spend(&key, &window, now)
                    .map_err(|over| Refused {
                        wait: over.retry_after,
                        spent: Some(over.spent),
                    })?;
                charges.push((key, window));
                Ok(())
            }
        }
    };
    let calls = walk(route, &fields, fastrand::f64(), &mut admit)?;
    let taken = RouteTaken {
        name: route.name.clone(),
        version: route.version.clone(),
        charges,
    };
    Ok((calls, taken))
}

/// A model element to try, with the route path (JSON ids) of a request it answers.
pub(super) type PathedCall<'r> = (&'r ModelCall, String);

/// A `rate` element's bucket is full: how long until it admits, and (cost) what it spent.
struct Refused {
    wait: RetryAfter,
    spent: Option<f64>,
}

/// Admits a request to a `rate` element's bucket: element id, the element, key value.
type Admit<'a> = dyn FnMut(&str, &RateLimit, String) -> Result<(), Refused> + 'a;

/// `draw` (in [0, 1)) decides a split without a sticky key.
fn walk<'r>(
    route: &'r Route,
    fields: &dyn FieldValues,
    draw: f64,
    admit: &mut Admit<'_>,
) -> Result<Vec<PathedCall<'r>>, GatewayError> {
    let broken = |why: String| {
        GatewayError::new(
            ErrorCode::BadRequest,
            format!("route {:?}: {why}", route.name),
        )
    };
    let mut calls = Vec::new();
    // The ids passed so far as a JSON array, without its closing bracket.
    let mut path = String::with_capacity(128);
    let mut at = route.start().ok_or_else(|| broken("no start".into()))?;
    // Validation refused cycles, so a walk visits each element at most once.
    for _ in 0..=route.elements.len() {
        path.push(if path.is_empty() { '[' } else { ',' });
        path.push_str(&at.quoted_id);
        let output = match &at.kind {
            ElementKind::Start => "next",
            ElementKind::Conditional(condition) => match evaluate(condition, fields) {
                true => "true",
                false => "false",
            },
            ElementKind::Percentage(split) => {
                let point = match &split.key {
                    Some(key) => sticky_point(fields.value(key)),
                    None => draw,
                } * 100.0;
                let mut upto = 0.0;
                let chosen = split.shares.iter().find(|(_, share)| {
                    upto += share;
                    point < upto
                });
                chosen.map_or("else", |(name, _)| name.as_str())
            }
            ElementKind::Rate(rate) => {
                let key = rate.key.as_ref().and_then(|k| fields.value(k));
                let key = key.map(|v| v.to_string()).unwrap_or_default();
                match admit(&at.id, rate, key) {
                    Ok(()) => "success",
                    Err(_) if at.output("fallback").is_some() => "fallback",
                    Err(refused) => return Err(over_limit(route, &at.id, rate, refused)),
                }
            }
            ElementKind::Model(call) => {
                // A request this model answers goes on to its `success` output.
                let mut answered = path.clone();
                if let Some(next) = at.output("success").and_then(|id| route.element(id)) {
                    answered.push(',');
                    answered.push_str(&next.quoted_id);
                }
                answered.push(']');
                calls.push((call, answered));
                "fallback"
            }
            ElementKind::End => return Ok(calls),
        };
        let Some(next) = at.output(output).and_then(|id| route.element(id)) else {
            // A model without a fallback, or a split's rest without `else`: the end.
            return match calls.is_empty() {
                true => Err(broken(format!("element {:?} leads to no model", at.id))),
                false => Ok(calls),
            };
        };
        at = next;
    }
    Err(broken("the flow does not end".into()))
}

/// 429 for a full `rate` bucket without a `fallback` output: 2012 (count) or 2013 (cost).
fn over_limit(route: &Route, element: &str, rate: &RateLimit, refused: Refused) -> GatewayError {
    let secs = refused.wait.header_secs();
    let (code, what) = match refused.spent {
        None => (ErrorCode::RateLimited, "rate limit".to_string()),
        Some(spent) => (
            ErrorCode::BudgetExhausted,
            format!("cost limit (${spent:.6} spent of ${})", rate.limit),
        ),
    };
    let message = format!(
        "route {:?}: {what} of element {element:?} exceeded; retry after {secs} s",
        route.name
    );
    GatewayError::new(code, message).with_retry_after(secs)
}

/// Where a sticky split's key lands in [0, 1): the same value, the same branch, across
/// workers, restarts and versions (a stable hash of the value's JSON text). A request
/// without the key lands where the missing value does.
fn sticky_point(value: Option<Value>) -> f64 {
    let mut hasher = StableHasher::default();
    // Hashed as it is written out: no buffer for the text.
    let written = serde_json::to_writer(&mut hasher, &value.unwrap_or(Value::Null));
    debug_assert!(written.is_ok(), "a Value always serialises");
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The request's fields, each source read only when a condition or key names it. Body
/// fields come from the request's one scan (the values of the top-level keys routes
/// read); only the value named is parsed, never the whole body.
struct RequestFields<'a> {
    head: &'a RequestHead,
    body: &'a [u8],
    /// `Gateway::route_body_keys`, and where the scan found each one's value.
    body_keys: &'a [String],
    body_fields: &'a [Option<Range<usize>>],
    /// `cf-aig-metadata`, as the request's log parsed it (a flat object).
    metadata: Option<&'a Metadata>,
}

impl FieldValues for RequestFields<'_> {
    fn value(&self, field: &Field) -> Option<Value> {
        match field.root {
            FieldRoot::Headers => {
                let name = field.path.first()?;
                let value = self.head.header(name)?;
                Some(Value::String(String::from_utf8_lossy(value).into_owned()))
            }
            // Flat: `metadata.KEY` names a value, and nothing lies below it.
            FieldRoot::Metadata => match field.path.as_slice() {
                [key] => self.metadata?.get(key).map(MetadataValue::to_json),
                _ => None,
            },
            FieldRoot::Body => {
                let (top, rest) = field.path.split_first()?;
                let at = self.body_keys.iter().position(|k| k == top)?;
                let span = self.body_fields.get(at)?.clone()?;
                let value = self.body.get(span)?;
                let inner = find_path(value, rest)?;
                serde_json::from_slice(value.get(inner)?).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::route_from_json;

    struct Fields(Value);

    impl FieldValues for Fields {
        fn value(&self, field: &Field) -> Option<Value> {
            let root = match field.root {
                FieldRoot::Metadata => "metadata",
                FieldRoot::Headers => "headers",
                FieldRoot::Body => "body",
            };
            field
                .path
                .iter()
                .try_fold(self.0.get(root)?, |v, k| v.get(k))
                .cloned()
        }
    }

    fn route() -> Route {
        let json = r#"{"name": "r", "elements": [
            {"id": "s", "type": "start", "outputs": {"next": {"elementId": "plan"}}},
            {"id": "plan", "type": "conditional",
             "properties": {"conditions": {"metadata.plan": {"$eq": "free"}}},
             "outputs": {"true": {"elementId": "small"}, "false": {"elementId": "split"}}},
            {"id": "split", "type": "percentage",
             "properties": {"key": "metadata.user"},
             "outputs": {"90%": {"elementId": "big"}, "else": {"elementId": "other"}}},
            {"id": "small", "type": "model", "properties": {"provider": "openai", "model": "mini"},
             "outputs": {"success": {"elementId": "e"}}},
            {"id": "big", "type": "model", "properties": {"provider": "openai", "model": "big"},
             "outputs": {"success": {"elementId": "e"}, "fallback": {"elementId": "small"}}},
            {"id": "other", "type": "model", "properties": {"provider": "groq", "model": "other"},
             "outputs": {"success": {"elementId": "e"}}},
            {"id": "e", "type": "end", "outputs": {}}
        ]}"#;
        route_from_json(&serde_json::from_str(json).unwrap(), None).unwrap()
    }

    fn models(route: &Route, fields: Value, draw: f64) -> Vec<String> {
        let calls = walk(route, &Fields(fields), draw, &mut |_, _, _| Ok(())).unwrap();
        calls.iter().map(|(c, _)| c.model.clone()).collect()
    }

    #[test]
    fn conditionals_and_fallbacks_decide_the_models_in_order() {
        let r = route();
        let free = serde_json::json!({"metadata": {"plan": "free"}});
        assert_eq!(models(&r, free, 0.5), ["mini"]);
        let paid = serde_json::json!({"metadata": {"plan": "paid", "user": "u1"}});
        let got = models(&r, paid, 0.5);
        assert!(got == ["big", "mini"] || got == ["other"], "{got:?}");
    }

    #[test]
    fn a_sticky_split_always_sends_one_user_the_same_way_and_keeps_the_shares() {
        let r = route();
        let mut big = 0;
        for user in 0..10_000 {
            let fields = serde_json::json!({"metadata": {"plan": "paid", "user": user}});
            let first = models(&r, fields.clone(), 0.0);
            assert_eq!(first, models(&r, fields, 0.99), "user {user}");
            big += usize::from(first[0] == "big");
        }
        // 90% of 10,000 within 2 points.
        assert!((8_800..=9_200).contains(&big), "{big}");
    }

    #[test]
    fn a_random_split_follows_the_draw() {
        let mut r = route();
        for e in &mut r.elements {
            if let ElementKind::Percentage(p) = &mut e.kind {
                p.key = None;
            }
        }
        let paid = serde_json::json!({"metadata": {"plan": "paid"}});
        assert_eq!(models(&r, paid.clone(), 0.0), ["big", "mini"]);
        assert_eq!(models(&r, paid.clone(), 0.899), ["big", "mini"]);
        assert_eq!(models(&r, paid, 0.9), ["other"]);
    }
}
