//! Evaluating a compiled `Condition` against a request, through a trait that gives each
//! named field's JSON value; a missing field is null (so only `$ne`, `$nin`, `$exists: false` hold).

use super::{Condition, Field, Test};
use serde_json::Value;
use std::cmp::Ordering;

/// Gives the value of a field a condition names; `None` when the request lacks it.
pub trait FieldValues {
    /// The field's value (a header's is a JSON string).
    fn value(&self, field: &Field) -> Option<Value>;
}

/// Whether `condition` holds for the request `fields` describes.
pub fn evaluate(condition: &Condition, fields: &dyn FieldValues) -> bool {
    match condition {
        Condition::All(all) => all.iter().all(|c| evaluate(c, fields)),
        Condition::Any(any) => any.iter().any(|c| evaluate(c, fields)),
        Condition::Not(inner) => !evaluate(inner, fields),
        Condition::Field(field, test) => {
            let value = fields.value(field);
            holds(test, value.as_ref())
        }
    }
}

fn holds(test: &Test, value: Option<&Value>) -> bool {
    let v = value.unwrap_or(&Value::Null);
    match test {
        Test::Eq(want) => equal(v, want),
        Test::Ne(want) => !equal(v, want),
        Test::Gt(bound) => compare(v, bound) == Some(Ordering::Greater),
        Test::Gte(bound) => matches!(compare(v, bound), Some(Ordering::Greater | Ordering::Equal)),
        Test::Lt(bound) => compare(v, bound) == Some(Ordering::Less),
        Test::Lte(bound) => matches!(compare(v, bound), Some(Ordering::Less | Ordering::Equal)),
        Test::In(list) => list.iter().any(|want| equal(v, want)),
        Test::Nin(list) => !list.iter().any(|want| equal(v, want)),
        Test::Exists(want) => value.is_some() == *want,
        Test::Not(inner) => !holds(inner, value),
        Test::All(all) => all.iter().all(|t| holds(t, value)),
    }
}

/// JSON equality, with numbers compared by value (`1` equals `1.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Numbers with numbers, strings with strings; any other pair does not compare.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::FieldRoot;
    use serde_json::json;

    struct Request(Value);

    impl FieldValues for Request {
        fn value(&self, field: &Field) -> Option<Value> {
            let root = match field.root {
                FieldRoot::Metadata => "metadata",
                FieldRoot::Headers => "headers",
                FieldRoot::Body => "body",
            };
            let mut at = self.0.get(root)?;
            for part in &field.path {
                at = at.get(part)?;
            }
            Some(at.clone())
        }
    }

    fn holds(conditions: Value, request: &Request) -> bool {
        let c =
            super::super::condition::compile("c", "properties.conditions", &conditions).unwrap();
        evaluate(&c, request)
    }

    #[test]
    fn conditions_evaluate_like_mongodb() {
        let r = Request(json!({
            "metadata": { "plan": "paid", "score": 7 },
            "headers": { "x-tier": "gold" },
            "body": { "max_tokens": 1500, "user": "u1", "metadata": { "tier": "b" } }
        }));
        assert!(holds(json!({ "metadata.plan": "paid" }), &r));
        assert!(holds(
            json!({ "metadata.plan": { "$eq": "paid" }, "body.max_tokens": { "$gt": 1000 } }),
            &r
        ));
        assert!(!holds(
            json!({ "metadata.plan": "paid", "body.max_tokens": { "$lte": 1000 } }),
            &r
        ));
        assert!(holds(
            json!({ "body.max_tokens": { "$gte": 1500, "$lt": 2000 } }),
            &r
        ));
        assert!(holds(json!({ "metadata.score": { "$eq": 7.0 } }), &r));
        assert!(holds(
            json!({ "$or": [{ "metadata.plan": "free" }, { "headers.x-tier": { "$in": ["gold", "silver"] } }] }),
            &r
        ));
        assert!(holds(
            json!({ "$and": [{ "body.user": { "$exists": true } }, { "body.metadata.tier": { "$nin": ["a"] } }] }),
            &r
        ));
        assert!(holds(
            json!({ "body.max_tokens": { "$not": { "$lt": 1000 } } }),
            &r
        ));
        assert!(!holds(json!({ "$not": { "metadata.plan": "paid" } }), &r));
        // A missing field is null: comparisons fail except $ne, $nin and $exists: false.
        assert!(!holds(json!({ "body.missing": { "$gt": 0 } }), &r));
        assert!(!holds(json!({ "body.missing": "x" }), &r));
        assert!(!holds(json!({ "body.missing": { "$in": ["x"] } }), &r));
        assert!(holds(json!({ "body.missing": { "$ne": "x" } }), &r));
        assert!(holds(json!({ "body.missing": { "$nin": ["x"] } }), &r));
        assert!(holds(json!({ "body.missing": { "$exists": false } }), &r));
        assert!(holds(
            json!({ "body.missing": { "$not": { "$gt": 1 } } }),
            &r
        ));
        // Numbers and strings do not compare with each other.
        assert!(!holds(json!({ "body.user": { "$gt": 1 } }), &r));
    }
}
