//! Each element type's `properties` parsed into its typed form: conditions compiled,
//! percentages read from output names, rate and model numbers bounded.

use super::condition::{compile, field};
use super::{
    ElementKind, Field, LimitType, ModelCall, Percentage, RateLimit, RouteError, Technique,
    MAX_MODEL_RETRIES, MAX_MODEL_TIMEOUT_MS, MAX_WINDOW_S,
};
use serde_json::{Map, Value};

/// Refuses every property not in `known`.
pub(super) fn only(
    id: &str,
    props: &Map<String, Value>,
    known: &'static [&'static str],
) -> Result<(), RouteError> {
    match props.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => {
            let mut e = RouteError::unknown(
                Some(id),
                format!("properties.{key}"),
                "property",
                key,
                known,
            );
            if known.is_empty() {
                e.message.push_str(" (this element takes no properties)");
            }
            Err(e)
        }
    }
}

pub(super) fn none(id: &str, props: &Map<String, Value>) -> Result<(), RouteError> {
    only(id, props, &[])
}

pub(super) fn conditional(id: &str, props: &Map<String, Value>) -> Result<ElementKind, RouteError> {
    only(id, props, &["conditions", "condition"])?;
    let (at, value) = match (props.get("conditions"), props.get("condition")) {
        (Some(_), Some(_)) => {
            let message = "give `conditions` or `condition`, not both";
            return Err(RouteError::new(Some(id), "properties.conditions", message));
        }
        (Some(v), None) => ("properties.conditions", v),
        (None, Some(v)) => ("properties.condition", v),
        (None, None) => {
            return Err(RouteError::new(
                Some(id),
                "properties.conditions",
                "is missing",
            ))
        }
    };
    Ok(ElementKind::Conditional(compile(id, at, value)?))
}

/// Output names `10%` (or `10`) with their share; `else` takes the rest.
pub(super) fn percentage(
    id: &str,
    props: &Map<String, Value>,
    outputs: Option<&Value>,
) -> Result<ElementKind, RouteError> {
    only(id, props, &["key"])?;
    let key = optional_field(id, props, "key")?;
    let mut shares = Vec::new();
    for name in outputs
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(Map::keys)
    {
        if name == "else" {
            continue;
        }
        let at = format!("outputs.{name}");
        let number = name.strip_suffix('%').unwrap_or(name).trim();
        let share: f64 = number.parse().map_err(|_| {
            RouteError::new(
                Some(id),
                &at,
                "a percentage output is named like `10%` (or `else`)",
            )
        })?;
        if !(0.0..=100.0).contains(&share) {
            return Err(RouteError::new(
                Some(id),
                at,
                "a percentage must be from 0 to 100",
            ));
        }
        shares.push((name.clone(), share));
    }
    shares.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(ElementKind::Percentage(Percentage { key, shares }))
}

pub(super) fn rate(id: &str, props: &Map<String, Value>) -> Result<RateLimit, RouteError> {
    only(
        id,
        props,
        &[
            "key",
            "limit",
            "limitType",
            "window",
            "interval",
            "technique",
        ],
    )?;
    let key = optional_field(id, props, "key")?;
    let limit = match props.get("limit").and_then(Value::as_f64) {
        Some(limit) if limit > 0.0 && limit.is_finite() => limit,
        _ => {
            return Err(RouteError::new(
                Some(id),
                "properties.limit",
                "expected a number greater than 0",
            ))
        }
    };
    let limit_type = match props.get("limitType").map(|v| v.as_str()) {
        None | Some(Some("count")) => LimitType::Count,
        Some(Some("cost")) => LimitType::Cost,
        Some(Some(other)) => {
            return Err(RouteError::unknown(
                Some(id),
                "properties.limitType",
                "limit type",
                other,
                &["count", "cost"],
            ))
        }
        Some(None) => {
            return Err(RouteError::new(
                Some(id),
                "properties.limitType",
                "expected \"count\" or \"cost\"",
            ))
        }
    };
    if limit_type == LimitType::Count && limit.fract() != 0.0 {
        return Err(RouteError::new(
            Some(id),
            "properties.limit",
            "a count limit is a whole number",
        ));
    }
    let (at, window) = match (props.get("window"), props.get("interval")) {
        (Some(_), Some(_)) => {
            let message = "give `window` or `interval`, not both";
            return Err(RouteError::new(Some(id), "properties.window", message));
        }
        (Some(w), None) => ("properties.window", w),
        (None, Some(i)) => ("properties.interval", i),
        (None, None) => {
            return Err(RouteError::new(
                Some(id),
                "properties.window",
                "is missing (seconds)",
            ))
        }
    };
    let window_s = whole(window)
        .filter(|w| (1..=MAX_WINDOW_S).contains(w))
        .ok_or_else(|| {
            RouteError::new(
                Some(id),
                at,
                format!("expected whole seconds from 1 to {MAX_WINDOW_S} (a year)"),
            )
        })?;
    let technique = match props.get("technique").map(|v| v.as_str()) {
        None | Some(Some("sliding")) => Technique::Sliding,
        Some(Some("fixed")) => Technique::Fixed,
        Some(Some(other)) => {
            return Err(RouteError::unknown(
                Some(id),
                "properties.technique",
                "technique",
                other,
                &["fixed", "sliding"],
            ))
        }
        Some(None) => {
            return Err(RouteError::new(
                Some(id),
                "properties.technique",
                "expected \"fixed\" or \"sliding\"",
            ))
        }
    };
    Ok(RateLimit {
        key,
        limit,
        limit_type,
        window_s,
        technique,
    })
}

pub(super) fn model(id: &str, props: &Map<String, Value>) -> Result<ModelCall, RouteError> {
    only(id, props, &["provider", "model", "timeout", "retries"])?;
    let text = |name: &str| match props.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(RouteError::new(
            Some(id),
            format!("properties.{name}"),
            "expected a non-empty string",
        )),
    };
    let (provider, model) = (text("provider")?, text("model")?);
    let timeout_ms = match props.get("timeout") {
        None | Some(Value::Null) => 0,
        Some(v) => whole(v)
            .filter(|t| *t <= MAX_MODEL_TIMEOUT_MS)
            .ok_or_else(|| {
                let message = format!(
                    "expected whole milliseconds from 0 (none) to {MAX_MODEL_TIMEOUT_MS} (a day)"
                );
                RouteError::new(Some(id), "properties.timeout", message)
            })?,
    };
    let retries = match props.get("retries") {
        None | Some(Value::Null) => 0,
        Some(v) => whole(v)
            .filter(|r| *r <= u64::from(MAX_MODEL_RETRIES))
            .ok_or_else(|| {
                let message = format!("expected a whole number from 0 to {MAX_MODEL_RETRIES}");
                RouteError::new(Some(id), "properties.retries", message)
            })? as u32,
    };
    Ok(ModelCall {
        provider,
        model,
        timeout_ms,
        retries,
    })
}

fn optional_field(
    id: &str,
    props: &Map<String, Value>,
    name: &str,
) -> Result<Option<Field>, RouteError> {
    let at = format!("properties.{name}");
    match props.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => field(id, &at, s).map(Some),
        Some(_) => Err(RouteError::new(
            Some(id),
            at,
            "expected a field name like metadata.user_id",
        )),
    }
}

/// A JSON number that is a whole, non-negative value (`30000` or `30000.0`).
fn whole(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    (f >= 0.0 && f.fract() == 0.0 && f < 1.8e19).then_some(f as u64)
}
