//! `"model": "dynamic/NAME"`: the gateway's route walked from `start` once per request,
//! conditionals, splits and count buckets decided, to the model elements it will try.

use super::toolbox::unknown_name;
use crate::config::Gateway;
use crate::controls::RetryAfter;
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::proxy::control_state::{ControlState, RouteBucket};
use crate::routing::{
    evaluate, ElementKind, Field, FieldRoot, FieldValues, LimitType, ModelCall, RateLimit, Route,
};
use serde_json::Value;
use std::cell::OnceCell;

/// The model elements a request of `route_name` tries, in order: the first reached from
/// `start`, then each one's `fallback` output (decided the same way) until an `end`.
pub(super) fn model_calls<'g>(
    gateway: &'g Gateway,
    route_name: &str,
    head: &RequestHead,
    body: &[u8],
    controls: &ControlState,
) -> Result<Vec<&'g ModelCall>, GatewayError> {
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
        parsed_body: OnceCell::new(),
        metadata: OnceCell::new(),
    };
    let mut admit = |element: &str, rate: &RateLimit, key: String| {
        let bucket = RouteBucket {
            gateway: gateway.id.clone(),
            route: route.name.clone(),
            element: element.to_string(),
            key,
        };
        controls.admit_route(bucket, rate)
    };
    walk(route, &fields, fastrand::f64(), &mut admit)
}

/// Admits a request to a `rate` element's bucket: element id, the element, key value.
type Admit<'a> = dyn FnMut(&str, &RateLimit, String) -> Result<(), RetryAfter> + 'a;

/// `draw` (in [0, 1)) decides a split without a sticky key.
fn walk<'r>(
    route: &'r Route,
    fields: &dyn FieldValues,
    draw: f64,
    admit: &mut Admit<'_>,
) -> Result<Vec<&'r ModelCall>, GatewayError> {
    let broken = |why: String| {
        GatewayError::new(
            ErrorCode::BadRequest,
            format!("route {:?}: {why}", route.name),
        )
    };
    let mut calls = Vec::new();
    let mut at = route.start().ok_or_else(|| broken("no start".into()))?;
    // Validation refused cycles, so a walk visits each element at most once.
    for _ in 0..=route.elements.len() {
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
            ElementKind::Rate(rate) if rate.limit_type == LimitType::Cost => {
                return Err(GatewayError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "route {:?} has a cost rate element ({}), which this gateway does not run yet",
                        route.name, at.id
                    ),
                ))
            }
            ElementKind::Rate(rate) => {
                let key = rate.key.as_ref().and_then(|k| fields.value(k));
                let key = key.map(|v| v.to_string()).unwrap_or_default();
                match admit(&at.id, rate, key) {
                    Ok(()) => "success",
                    Err(_) if at.output("fallback").is_some() => "fallback",
                    Err(wait) => {
                        let message = format!(
                            "route {:?}: rate limit of element {:?} exceeded; retry after {} s",
                            route.name,
                            at.id,
                            wait.header_secs()
                        );
                        return Err(GatewayError::new(ErrorCode::RateLimited, message)
                            .with_retry_after(wait.header_secs()));
                    }
                }
            }
            ElementKind::Model(call) => {
                calls.push(call);
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

/// Where a sticky split's key lands in [0, 1): the same value, the same branch, across
/// workers, restarts and versions (FNV-1a over the value's JSON text, then mixed). A request
/// without the key lands where the missing value does.
fn sticky_point(value: Option<Value>) -> f64 {
    let text = value.map_or_else(|| "null".to_string(), |v| v.to_string());
    let mut h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // FNV's high bits barely move with the last bytes: mix them (murmur3's finaliser).
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The request's fields, each source read only when a condition or key names it.
struct RequestFields<'a> {
    head: &'a RequestHead,
    body: &'a [u8],
    parsed_body: OnceCell<Option<Value>>,
    metadata: OnceCell<Option<Value>>,
}

impl FieldValues for RequestFields<'_> {
    fn value(&self, field: &Field) -> Option<Value> {
        let (root, path) = match field.root {
            FieldRoot::Headers => {
                let name = field.path.first()?;
                let value = self.head.header(name)?;
                return Some(Value::String(String::from_utf8_lossy(value).into_owned()));
            }
            FieldRoot::Metadata => (
                self.metadata.get_or_init(|| {
                    let text = self.head.header("cf-aig-metadata")?;
                    serde_json::from_slice(text).ok()
                }),
                &field.path,
            ),
            FieldRoot::Body => (
                self.parsed_body
                    .get_or_init(|| serde_json::from_slice(self.body).ok()),
                &field.path,
            ),
        };
        path.iter()
            .try_fold(root.as_ref()?, |value, key| value.get(key))
            .cloned()
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
        calls.iter().map(|c| c.model.clone()).collect()
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
