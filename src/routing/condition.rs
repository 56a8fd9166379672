//! A `conditional` element's MongoDB-style conditions compiled once at load into a typed
//! tree: the operators and field roots the gateway knows, every other name an error.

use super::RouteError;
use serde_json::{Map, Value};

/// A compiled condition over a request's metadata, headers and body.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Every condition holds (`$and`, or several keys in one object); empty: true.
    All(Vec<Condition>),
    /// At least one holds (`$or`).
    Any(Vec<Condition>),
    /// The condition does not hold (`$not` written at the top level).
    Not(Box<Condition>),
    /// A test of one field's value.
    Field(Field, Test),
}

/// A request field a condition (or a rate or percentage key) reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Field {
    /// Where the value comes from.
    pub root: FieldRoot,
    /// `metadata.KEY`: `[KEY]`; `headers.NAME`: `[name]` lowercased; `body.a.b`: `[a, b]`.
    pub path: Vec<String>,
}

/// The three places a field can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldRoot {
    /// `cf-aig-metadata`'s JSON object.
    Metadata,
    /// A request header, by case-insensitive name.
    Headers,
    /// The request's JSON body, by dotted path.
    Body,
}

/// A test of one value (MongoDB's field-level operators).
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `$eq` (or a bare value).
    Eq(Value),
    /// `$ne`.
    Ne(Value),
    /// `$gt`.
    Gt(Value),
    /// `$gte`.
    Gte(Value),
    /// `$lt`.
    Lt(Value),
    /// `$lte`.
    Lte(Value),
    /// `$in`: equal to one of these.
    In(Vec<Value>),
    /// `$nin`: equal to none of these.
    Nin(Vec<Value>),
    /// `$exists`: whether the field is present.
    Exists(bool),
    /// `$not`: the inner tests do not all hold.
    Not(Box<Test>),
    /// Several operators in one object: all hold.
    All(Vec<Test>),
}

const ROOTS: &[&str] = &["metadata", "headers", "body"];
const TOP_OPERATORS: &[&str] = &["$and", "$or", "$not"];
const FIELD_OPERATORS: &[&str] = &[
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$not",
];

impl Field {
    /// Parses `metadata.KEY`, `headers.NAME` or `body.PATH`.
    pub fn parse(text: &str) -> Result<Field, String> {
        let (root, rest) = text.split_once('.').unwrap_or((text, ""));
        let root = match root {
            "metadata" => FieldRoot::Metadata,
            "headers" => FieldRoot::Headers,
            "body" => FieldRoot::Body,
            _ => return Err(root.to_string()),
        };
        let path: Vec<String> = match root {
            FieldRoot::Metadata => vec![rest.to_string()],
            FieldRoot::Headers => vec![rest.to_ascii_lowercase()],
            FieldRoot::Body => rest.split('.').map(str::to_string).collect(),
        };
        if path.iter().any(String::is_empty) {
            return Err(text.to_string());
        }
        Ok(Field { root, path })
    }

    /// The field as written in a route (`body.metadata.tier`).
    pub fn dotted(&self) -> String {
        let root = match self.root {
            FieldRoot::Metadata => "metadata",
            FieldRoot::Headers => "headers",
            FieldRoot::Body => "body",
        };
        format!("{root}.{}", self.path.join("."))
    }
}

/// A field name from a route, with an error naming `at` when it is not one.
pub(super) fn field(element: &str, at: &str, text: &str) -> Result<Field, RouteError> {
    Field::parse(text).map_err(|bad| {
        let root = text.split('.').next().unwrap_or("");
        if ROOTS.contains(&root) {
            let message = format!("`{bad}` names no field: write `{root}.NAME`");
            RouteError::new(Some(element), at, message)
        } else {
            let mut e = RouteError::unknown(Some(element), at, "field root", root, ROOTS);
            e.message
                .push_str(" (fields are metadata.KEY, headers.NAME or body.PATH)");
            e
        }
    })
}

/// Compiles the conditions of element `element`, written at `at` (`properties.conditions`).
pub(super) fn compile(element: &str, at: &str, value: &Value) -> Result<Condition, RouteError> {
    compile_at(element, at, value)
}

fn compile_at(element: &str, at: &str, value: &Value) -> Result<Condition, RouteError> {
    let Value::Object(map) = value else {
        return Err(RouteError::new(
            Some(element),
            at,
            "expected an object of conditions",
        ));
    };
    let mut all = Vec::with_capacity(map.len());
    for (key, inner) in map {
        let here = format!("{at}.{key}");
        let condition = if key.starts_with('$') {
            match key.as_str() {
                "$and" => Condition::All(list(element, &here, inner)?),
                "$or" => Condition::Any(list(element, &here, inner)?),
                "$not" => Condition::Not(Box::new(compile_at(element, &here, inner)?)),
                other => {
                    return Err(RouteError::unknown(
                        Some(element),
                        at,
                        "operator",
                        other,
                        TOP_OPERATORS,
                    ))
                }
            }
        } else {
            Condition::Field(field(element, &here, key)?, test(element, &here, inner)?)
        };
        all.push(condition);
    }
    Ok(match all.len() {
        1 => all.remove(0),
        _ => Condition::All(all),
    })
}

fn list(element: &str, at: &str, value: &Value) -> Result<Vec<Condition>, RouteError> {
    match value {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| compile_at(element, &format!("{at}[{i}]"), item))
            .collect(),
        _ => Err(RouteError::new(
            Some(element),
            at,
            "expected a non-empty list of conditions",
        )),
    }
}

/// A field's value: a bare value means `$eq`; an object of `$` operators means them all.
fn test(element: &str, at: &str, value: &Value) -> Result<Test, RouteError> {
    let Value::Object(map) = value else {
        return Ok(Test::Eq(value.clone()));
    };
    let operators = map.keys().filter(|k| k.starts_with('$')).count();
    if operators == 0 {
        return Ok(Test::Eq(value.clone()));
    }
    if operators != map.len() {
        let message = "mixes `$` operators with plain keys; write one or the other";
        return Err(RouteError::new(Some(element), at, message));
    }
    operator_tests(element, at, map)
}

fn operator_tests(element: &str, at: &str, map: &Map<String, Value>) -> Result<Test, RouteError> {
    let mut tests = Vec::with_capacity(map.len());
    for (op, arg) in map {
        let here = format!("{at}.{op}");
        let scalar = |arg: &Value| match arg {
            Value::Number(_) | Value::String(_) => Ok(arg.clone()),
            _ => Err(RouteError::new(
                Some(element),
                &here,
                "expected a number or a string to compare with",
            )),
        };
        let values = |arg: &Value| match arg {
            Value::Array(items) => Ok(items.clone()),
            _ => Err(RouteError::new(
                Some(element),
                &here,
                "expected a list of values",
            )),
        };
        tests.push(match op.as_str() {
            "$eq" => Test::Eq(arg.clone()),
            "$ne" => Test::Ne(arg.clone()),
            "$gt" => Test::Gt(scalar(arg)?),
            "$gte" => Test::Gte(scalar(arg)?),
            "$lt" => Test::Lt(scalar(arg)?),
            "$lte" => Test::Lte(scalar(arg)?),
            "$in" => Test::In(values(arg)?),
            "$nin" => Test::Nin(values(arg)?),
            "$exists" => match arg {
                Value::Bool(b) => Test::Exists(*b),
                _ => {
                    return Err(RouteError::new(
                        Some(element),
                        &here,
                        "expected true or false",
                    ))
                }
            },
            "$not" => match arg {
                Value::Object(inner)
                    if !inner.is_empty() && inner.keys().all(|k| k.starts_with('$')) =>
                {
                    Test::Not(Box::new(operator_tests(element, &here, inner)?))
                }
                _ => {
                    let message = "expected an object of operators, e.g. { \"$gt\": 1000 }";
                    return Err(RouteError::new(Some(element), &here, message));
                }
            },
            other => {
                return Err(RouteError::unknown(
                    Some(element),
                    at,
                    "operator",
                    other,
                    FIELD_OPERATORS,
                ))
            }
        });
    }
    Ok(match tests.len() {
        1 => tests.remove(0),
        _ => Test::All(tests),
    })
}
