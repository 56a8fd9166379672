//! The hosted service's route JSON (a route object or its `elements` list) -> `Route`,
//! accepting both of its spellings and refusing unknown fields; `graph` checks the result.

use super::properties::{conditional, model, none, percentage, rate};
use super::{graph, Element, ElementKind, Route, RouteError};
use serde_json::{Map, Value};

/// Route-level fields a hosted export carries that the gateway does not use.
const READ_ONLY: &[&str] = &[
    "id",
    "account_tag",
    "gateway_id",
    "created_at",
    "modified_at",
    "deployment",
    "version",
];
const ROUTE_FIELDS: &[&str] = &["name", "elements"];
const ELEMENT_FIELDS: &[&str] = &["id", "type", "properties", "outputs"];
const TYPES: &[&str] = &[
    "start",
    "conditional",
    "percentage",
    "rate",
    "rate_limit",
    "model",
    "end",
];

/// A whole route object (`{"name", "elements", ...}`); `name` overrides the JSON's own
/// name when given (the config file names its routes). Checked as a graph.
pub fn route_from_json(value: &Value, name: Option<&str>) -> Result<Route, RouteError> {
    let elements = match value {
        Value::Array(_) => value,
        Value::Object(map) => {
            for key in map.keys() {
                if !ROUTE_FIELDS.contains(&key.as_str()) && !READ_ONLY.contains(&key.as_str()) {
                    return Err(RouteError::unknown(None, key, "field", key, ROUTE_FIELDS));
                }
            }
            map.get("elements")
                .ok_or_else(|| RouteError::new(None, "elements", "is missing"))?
        }
        _ => {
            let message = "expected a route object or a list of elements";
            return Err(RouteError::new(None, "elements", message));
        }
    };
    let written = value.get("name").and_then(Value::as_str);
    let name = match (name, written) {
        (Some(name), _) | (None, Some(name)) => name.to_string(),
        (None, None) => return Err(RouteError::new(None, "name", "is missing")),
    };
    let Value::Array(list) = elements else {
        return Err(RouteError::new(
            None,
            "elements",
            "expected a list of elements",
        ));
    };
    let route = Route {
        name,
        version: format!(
            "{:012x}",
            super::stable_hash(elements.to_string().as_bytes()) >> 16
        ),
        elements: elements_from_json(list)?,
    };
    graph::check(&route)?;
    Ok(route)
}

/// A route's `elements`, each parsed (not yet checked as a graph).
pub fn elements_from_json(list: &[Value]) -> Result<Vec<Element>, RouteError> {
    list.iter()
        .enumerate()
        .map(|(i, value)| element(i, value))
        .collect()
}

fn element(index: usize, value: &Value) -> Result<Element, RouteError> {
    let at = format!("elements[{index}]");
    let Value::Object(map) = value else {
        return Err(RouteError::new(None, at, "expected an element object"));
    };
    let id = match map.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.as_str(),
        _ => {
            return Err(RouteError::new(
                None,
                format!("{at}.id"),
                "expected a non-empty string",
            ))
        }
    };
    let el = Some(id);
    if let Some(key) = map.keys().find(|k| !ELEMENT_FIELDS.contains(&k.as_str())) {
        return Err(RouteError::unknown(el, key, "field", key, ELEMENT_FIELDS));
    }
    let kind_name = match map.get("type") {
        Some(Value::String(t)) => t.as_str(),
        _ => {
            return Err(RouteError::new(
                el,
                "type",
                "expected one of start, conditional, percentage, rate, model, end",
            ))
        }
    };
    let empty = Map::new();
    let props = match map.get("properties") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(RouteError::new(el, "properties", "expected an object")),
    };
    let kind = match kind_name {
        "start" => none(id, props).map(|()| ElementKind::Start)?,
        "end" => none(id, props).map(|()| ElementKind::End)?,
        "conditional" => conditional(id, props)?,
        "percentage" => percentage(id, props, map.get("outputs"))?,
        "rate" | "rate_limit" => ElementKind::Rate(rate(id, props)?),
        "model" => ElementKind::Model(model(id, props)?),
        other => {
            return Err(RouteError::unknown(
                el,
                "type",
                "element type",
                other,
                TYPES,
            ))
        }
    };
    Ok(Element {
        id: id.to_string(),
        quoted_id: serde_json::to_string(id).unwrap_or_default(),
        kind,
        outputs: outputs(id, map.get("outputs"))?,
    })
}

fn outputs(id: &str, value: Option<&Value>) -> Result<Vec<(String, String)>, RouteError> {
    let map = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(RouteError::new(Some(id), "outputs", "expected an object")),
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, target) in map {
        let at = format!("outputs.{name}");
        let Value::Object(target) = target else {
            let message = "expected { \"elementId\": \"<id>\" }";
            return Err(RouteError::new(Some(id), at, message));
        };
        if let Some(key) = target.keys().find(|k| *k != "elementId") {
            let here = format!("{at}.{key}");
            return Err(RouteError::unknown(
                Some(id),
                here,
                "field",
                key,
                &["elementId"],
            ));
        }
        match target.get("elementId") {
            Some(Value::String(to)) if !to.is_empty() => out.push((name.clone(), to.clone())),
            _ => {
                let message = "expected a non-empty `elementId` string";
                return Err(RouteError::new(
                    Some(id),
                    format!("{at}.elementId"),
                    message,
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}
