//! A comparison on one log field (the hosted logs API's `filters[]`: key, operator, values,
//! and its `min_*`/`max_*` ranges), turned into SQL over the `logs` table.

use rusqlite::types::Value;

/// A field the hosted API filters on, as sluice stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogField {
    /// The log id.
    Id,
    /// The event id (the log id when none was given).
    EventId,
    /// Arrival time, in ms.
    CreatedAt,
    /// Provider slug.
    Provider,
    /// The model as asked.
    Model,
    /// 2xx (1) or not (0).
    Success,
    /// Answered from the cache (1) or not (0).
    Cached,
    /// Cost in USD.
    Cost,
    /// Input tokens.
    TokensIn,
    /// Output tokens.
    TokensOut,
    /// Input plus output tokens.
    Tokens,
    /// Duration in ms.
    Duration,
    /// Feedback (-1, 0, 1 or none).
    Feedback,
    /// The client's user agent.
    UserAgent,
    /// A metadata key.
    MetadataKey,
    /// A metadata value (as text).
    MetadataValue,
}

impl LogField {
    /// From the hosted API's key name; `None` for a field sluice does not record.
    pub fn from_name(name: &str) -> Option<LogField> {
        Some(match name {
            "id" => LogField::Id,
            "event_id" => LogField::EventId,
            "created_at" => LogField::CreatedAt,
            "provider" => LogField::Provider,
            "model" => LogField::Model,
            "success" => LogField::Success,
            "cached" => LogField::Cached,
            "cost" => LogField::Cost,
            "tokens_in" => LogField::TokensIn,
            "tokens_out" => LogField::TokensOut,
            "tokens" => LogField::Tokens,
            "duration" => LogField::Duration,
            "feedback" => LogField::Feedback,
            "user_agent" => LogField::UserAgent,
            "metadata.key" => LogField::MetadataKey,
            "metadata.value" => LogField::MetadataValue,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            LogField::Id => "id",
            LogField::EventId => "IFNULL(event_id, id)",
            // The row key's millisecond (see `id.rs`).
            LogField::CreatedAt => "(rowid >> 19)",
            LogField::Provider => "provider",
            LogField::Model => "model",
            LogField::Success => "(flags & 1)",
            LogField::Cached => "((flags & 2) != 0)",
            LogField::Cost => "cost",
            LogField::TokensIn => "tokens_in",
            LogField::TokensOut => "tokens_out",
            LogField::Tokens => "(IFNULL(tokens_in, 0) + IFNULL(tokens_out, 0))",
            LogField::Duration => "duration_ms",
            LogField::Feedback => "feedback",
            LogField::UserAgent => "user_agent",
            LogField::MetadataKey => "m.key",
            LogField::MetadataValue => {
                "(CASE m.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(m.value AS TEXT) END)"
            }
        }
    }
}

/// How a field is compared with the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal to one of the values.
    Eq,
    /// Equal to none of them.
    Neq,
    /// Holds one of them as a substring.
    Contains,
    /// Less than the value.
    Lt,
    /// Greater than the value.
    Gt,
    /// At most the value (`max_*`).
    AtMost,
    /// At least the value (`min_*`).
    AtLeast,
}

impl CompareOp {
    /// From the hosted API's operator name (`eq`, `neq`, `contains`, `lt`, `gt`).
    pub fn from_name(name: &str) -> Option<CompareOp> {
        Some(match name {
            "eq" => CompareOp::Eq,
            "neq" => CompareOp::Neq,
            "contains" => CompareOp::Contains,
            "lt" => CompareOp::Lt,
            "gt" => CompareOp::Gt,
            _ => return None,
        })
    }
}

/// One comparison; every condition of a filter must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct LogCondition {
    /// The field.
    pub field: LogField,
    /// The comparison.
    pub op: CompareOp,
    /// At least one value; `lt`, `gt` and the ranges use the first.
    pub values: Vec<Value>,
}

impl LogCondition {
    /// The SQL term and its parameters.
    pub(super) fn sql(&self) -> (String, Vec<Value>) {
        let column = self.field.sql();
        let mut params: Vec<Value> = self.values.iter().map(|v| self.stored(v)).collect();
        let list = vec!["?"; params.len().max(1)].join(", ");
        let term = match self.op {
            CompareOp::Eq => format!("{column} IN ({list})"),
            CompareOp::Neq => format!("({column} IS NULL OR {column} NOT IN ({list}))"),
            CompareOp::Contains => {
                let any = vec![format!("instr({column}, ?) > 0"); params.len().max(1)];
                format!("({})", any.join(" OR "))
            }
            CompareOp::Lt | CompareOp::Gt | CompareOp::AtMost | CompareOp::AtLeast => {
                params.truncate(1);
                let op = match self.op {
                    CompareOp::Lt => "<",
                    CompareOp::Gt => ">",
                    CompareOp::AtMost => "<=",
                    _ => ">=",
                };
                format!("{column} {op} ?")
            }
        };
        if params.is_empty() {
            params.push(Value::Null);
        }
        match self.field {
            LogField::MetadataKey | LogField::MetadataValue => (
                format!(
                    "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(logs.metadata) \
                     THEN logs.metadata ELSE '{{}}' END) AS m WHERE {term})"
                ),
                params,
            ),
            _ => (term, params),
        }
    }

    /// A value as the column holds it: booleans as 0/1, times (RFC 3339 or ms) as ms.
    fn stored(&self, value: &Value) -> Value {
        match (self.field, value) {
            (LogField::Success | LogField::Cached, Value::Text(t)) => {
                Value::Integer(i64::from(t == "true" || t == "1"))
            }
            (LogField::CreatedAt, Value::Text(t)) => {
                crate::rfc3339::parse_time_ms(t).map_or(Value::Null, Value::Integer)
            }
            _ => value.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operator_makes_its_term() {
        let c = |field, op, values: Vec<Value>| LogCondition { field, op, values }.sql();
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(
            c(LogField::Model, CompareOp::Eq, vec![text("a"), text("b")]),
            ("model IN (?, ?)".into(), vec![text("a"), text("b")])
        );
        assert_eq!(
            c(LogField::Provider, CompareOp::Neq, vec![text("x")]).0,
            "(provider IS NULL OR provider NOT IN (?))"
        );
        assert_eq!(
            c(LogField::UserAgent, CompareOp::Contains, vec![text("curl")]).0,
            "(instr(user_agent, ?) > 0)"
        );
        let (sql, params) = c(
            LogField::Cost,
            CompareOp::Gt,
            vec![Value::Real(0.5), Value::Real(9.0)],
        );
        assert_eq!((sql.as_str(), params), ("cost > ?", vec![Value::Real(0.5)]));
        assert_eq!(
            c(LogField::Success, CompareOp::Eq, vec![text("true")]).1,
            vec![Value::Integer(1)]
        );
        assert!(c(LogField::MetadataKey, CompareOp::Eq, vec![text("user")])
            .0
            .starts_with("EXISTS (SELECT 1 FROM json_each("));
    }
}
