//! What a log query asks for (filters, order, page) and its SQL `WHERE` clause,
//! built only from fixed column names and bound parameters.

use super::condition::LogCondition;
use rusqlite::types::Value;

use super::id::row_key_range;

/// The largest page `list` returns; bigger requests are cut to this.
pub const MAX_PER_PAGE: u32 = 1000;

/// Which entries a query covers; every field set narrows it (all `None`: every entry).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    /// Gateway id equal.
    pub gateway: Option<String>,
    /// Provider slug equal.
    pub provider: Option<String>,
    /// The model as the client asked for it.
    pub model: Option<String>,
    /// The model as sent upstream.
    pub upstream_model: Option<String>,
    /// The `dynamic/` route taken (its name).
    pub route: Option<String>,
    /// The access token's id equal ("" matches requests without one).
    pub access_token: Option<String>,
    /// Status equal.
    pub status: Option<u16>,
    /// 2xx or not.
    pub success: Option<bool>,
    /// Answered from the cache or not.
    pub cached: Option<bool>,
    /// An event stream or not.
    pub stream: Option<bool>,
    /// `created_at >= this` (ms).
    pub created_from: Option<i64>,
    /// `created_at < this` (ms).
    pub created_to: Option<i64>,
    /// Each pair must match a metadata entry: key equal, value equal as text
    /// (`"7"` matches the number 7, `"true"` the boolean).
    pub metadata: Vec<(String, String)>,
    /// Comparisons that must all hold (the hosted API's `filters[]` and ranges).
    pub conditions: Vec<LogCondition>,
}

/// The sort key of a listing; ties are broken by insertion order, in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OrderBy {
    /// Arrival time.
    #[default]
    CreatedAt,
    /// Duration.
    DurationMs,
    /// Cost in USD.
    Cost,
    /// Input tokens.
    TokensIn,
    /// Output tokens.
    TokensOut,
    /// Provider slug.
    Provider,
    /// The model as asked.
    Model,
    /// Success first or last.
    Success,
    /// Cached first or last.
    Cached,
    /// Feedback.
    Feedback,
}

impl OrderBy {
    /// From the admin API's name (`created_at`, `duration_ms`, `cost`, `tokens_in`, `tokens_out`).
    pub fn from_name(name: &str) -> Option<OrderBy> {
        Some(match name {
            "created_at" => OrderBy::CreatedAt,
            "duration_ms" | "duration" => OrderBy::DurationMs,
            "cost" => OrderBy::Cost,
            "tokens_in" => OrderBy::TokensIn,
            "tokens_out" => OrderBy::TokensOut,
            "provider" => OrderBy::Provider,
            "model" => OrderBy::Model,
            "success" => OrderBy::Success,
            "cached" => OrderBy::Cached,
            "feedback" => OrderBy::Feedback,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            // The same order as created_at (see `id.rs`), and no sort.
            OrderBy::CreatedAt => "rowid",
            OrderBy::DurationMs => "duration_ms",
            OrderBy::Cost => "cost",
            OrderBy::TokensIn => "tokens_in",
            OrderBy::TokensOut => "tokens_out",
            OrderBy::Provider => "provider",
            OrderBy::Model => "model",
            OrderBy::Success => "(flags & 1)",
            OrderBy::Cached => "(flags & 2)",
            OrderBy::Feedback => "feedback",
        }
    }
}

/// Sort direction; newest first by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest (newest) first.
    #[default]
    Desc,
}

impl Direction {
    fn sql(self) -> &'static str {
        match self {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        }
    }
}

/// One page of a filtered, ordered listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Which entries.
    pub filter: LogFilter,
    /// The sort key.
    pub order_by: OrderBy,
    /// The sort direction.
    pub direction: Direction,
    /// 1-based; 0 is read as 1.
    pub page: u32,
    /// Clamped to 1..=[`MAX_PER_PAGE`].
    pub per_page: u32,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            filter: LogFilter::default(),
            order_by: OrderBy::default(),
            direction: Direction::default(),
            page: 1,
            per_page: 20,
        }
    }
}

impl ListQuery {
    /// `ORDER BY ... LIMIT ... OFFSET ...` for this page.
    pub(super) fn order_and_page(&self) -> String {
        let per_page = self.per_page.clamp(1, MAX_PER_PAGE);
        let offset = u64::from(self.page.max(1) - 1) * u64::from(per_page);
        let dir = self.direction.sql();
        let col = self.order_by.column();
        let tie = if col == "rowid" {
            String::new()
        } else {
            format!(", rowid {dir}")
        };
        format!(" ORDER BY {col} {dir}{tie} LIMIT {per_page} OFFSET {offset}")
    }
}

/// Metadata value as text: SQLite's `json_each` gives booleans as 1/0. A row
/// whose metadata is not JSON counts as `{}` (json_each would fail the query).
const METADATA_MATCH: &str = "EXISTS (SELECT 1 FROM json_each(CASE WHEN \
     json_valid(logs.metadata) THEN logs.metadata ELSE '{}' END) AS m \
     WHERE m.key = ? AND (CASE m.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
     ELSE CAST(m.value AS TEXT) END) = ?)";

impl LogFilter {
    /// ` WHERE ...` (or "") and its parameters, in order.
    pub(super) fn where_clause(&self) -> (String, Vec<Value>) {
        let mut terms: Vec<String> = Vec::new();
        let mut params = Vec::new();
        let mut text = |terms: &mut Vec<String>, sql: &str, value: &Option<String>| {
            if let Some(v) = value {
                terms.push(sql.to_string());
                params.push(Value::Text(v.clone()));
            }
        };
        text(&mut terms, "gateway = ?", &self.gateway);
        text(&mut terms, "provider = ?", &self.provider);
        text(&mut terms, "model = ?", &self.model);
        // NULL: the same as `model` (see `entry.rs`).
        text(
            &mut terms,
            "IFNULL(upstream_model, model) = ?",
            &self.upstream_model,
        );
        text(&mut terms, "route = ?", &self.route);
        // NULL: no token (see `entry.rs`).
        text(
            &mut terms,
            "IFNULL(access_token, '') = ?",
            &self.access_token,
        );
        // A time range is a range of table keys (see `id.rs`).
        let key = |ms: i64| row_key_range(ms, ms).0;
        let ints = [
            ("status = ?", self.status.map(i64::from)),
            // 0 or 1 against a bit of `flags` (see `entry.rs`).
            ("(flags & 1) = ?", self.success.map(i64::from)),
            ("((flags & 2) != 0) = ?", self.cached.map(i64::from)),
            ("((flags & 4) != 0) = ?", self.stream.map(i64::from)),
            ("rowid >= ?", self.created_from.map(key)),
            ("rowid < ?", self.created_to.map(key)),
        ];
        for (sql, value) in ints {
            if let Some(v) = value {
                terms.push(sql.to_string());
                params.push(Value::Integer(v));
            }
        }
        for (key, value) in &self.metadata {
            terms.push(METADATA_MATCH.to_string());
            params.push(Value::Text(key.clone()));
            params.push(Value::Text(value.clone()));
        }
        for condition in &self.conditions {
            let (term, values) = condition.sql();
            terms.push(term);
            params.extend(values);
        }
        if terms.is_empty() {
            (String::new(), params)
        } else {
            (format!(" WHERE {}", terms.join(" AND ")), params)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_filter_has_no_where() {
        assert_eq!(LogFilter::default().where_clause(), (String::new(), vec![]));
    }

    #[test]
    fn parameters_follow_the_terms_in_order() {
        let filter = LogFilter {
            model: Some("m".into()),
            upstream_model: Some("u".into()),
            success: Some(false),
            stream: Some(true),
            created_to: Some(9),
            metadata: vec![("k".into(), "v".into())],
            ..LogFilter::default()
        };
        let (sql, params) = filter.where_clause();
        assert!(
            sql.starts_with(
                " WHERE model = ? AND IFNULL(upstream_model, model) = ? AND (flags & 1) = ? \
                 AND ((flags & 4) != 0) = ? AND rowid < ? AND EXISTS"
            ),
            "{sql}"
        );
        assert_eq!(
            params,
            [
                Value::Text("m".into()),
                Value::Text("u".into()),
                Value::Integer(0),
                Value::Integer(1),
                Value::Integer(9 << 19),
                Value::Text("k".into()),
                Value::Text("v".into())
            ]
        );
    }

    #[test]
    fn pages_are_clamped() {
        let q = |page, per_page| {
            ListQuery {
                page,
                per_page,
                ..ListQuery::default()
            }
            .order_and_page()
        };
        assert_eq!(q(0, 0), " ORDER BY rowid DESC LIMIT 1 OFFSET 0");
        assert_eq!(q(3, 10), " ORDER BY rowid DESC LIMIT 10 OFFSET 20");
        assert!(q(u32::MAX, u32::MAX).ends_with(&format!(
            "LIMIT 1000 OFFSET {}",
            u64::from(u32::MAX - 1) * 1000
        )));
        assert_eq!(OrderBy::from_name("cost"), Some(OrderBy::Cost));
        assert_eq!(OrderBy::from_name("id; DROP TABLE logs"), None);
    }
}
