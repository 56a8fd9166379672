//! `GET /api/v1/gateways/{id}/analytics`: a time range of the request log cut into
//! buckets, with totals and top tables, for the dashboard's overview.

use serde_json::{json, Map, Value};

use super::query::{list_query, parse_pairs};
use super::reply::{ErrorKind, Reply};
use crate::observe::logdb::{
    now_ms, AnalyticsQuery, Bucket, Group, GroupBy, LogDbError, LogStore, Stats,
};
use crate::rfc3339::{format_rfc3339_ms, parse_time_ms};

/// The range shown when none is asked for.
const DEFAULT_SPAN_MS: i64 = 86_400_000;
/// Rows of each top table when `limit` is not given, and the most it may ask.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

fn invalid(param: &str, expected: &str) -> Reply {
    Reply::error_on(
        ErrorKind::BadRequest,
        format!("query parameter {param} must be {expected}"),
        Some(param),
    )
}

/// The query's own parameters; the rest are the logs API's filters.
struct Cut {
    from: Option<i64>,
    to: Option<i64>,
    bucket: Option<Bucket>,
    group_by: Vec<GroupBy>,
    limit: usize,
}

/// Splits off `start_date`, `end_date`, `bucket`, `group_by` and `limit`, and hands the
/// other pairs back as they came (for `list_query`).
fn cut(query: &str) -> Result<(Cut, String), Reply> {
    let mut cut = Cut {
        from: None,
        to: None,
        bucket: None,
        group_by: Vec::new(),
        limit: DEFAULT_LIMIT,
    };
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let Some((key, value)) = parse_pairs(pair)?.into_iter().next() else {
            continue;
        };
        let key = key.as_str();
        match key {
            "start_date" => {
                cut.from = Some(parse_time_ms(&value).ok_or_else(|| invalid(key, "a time"))?);
            }
            "end_date" => {
                cut.to = Some(parse_time_ms(&value).ok_or_else(|| invalid(key, "a time"))?);
            }
            "bucket" => {
                let bucket = Bucket::from_name(&value);
                cut.bucket = Some(bucket.ok_or_else(|| invalid(key, "minute, hour or day"))?);
            }
            "group_by" => {
                for name in value.split(',').filter(|n| !n.is_empty()) {
                    let group = GroupBy::from_name(name)
                        .ok_or_else(|| invalid(key, "provider, model, token or status"))?;
                    if !cut.group_by.contains(&group) {
                        cut.group_by.push(group);
                    }
                }
            }
            "limit" => {
                cut.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| invalid(key, "an integer from 1 to 100"))?;
            }
            _ => rest.push(pair),
        }
    }
    Ok((cut, rest.join("&")))
}

fn stats_json(stats: &Stats, into: &mut Map<String, Value>) {
    let rate = match stats.requests {
        0 => 0.0,
        n => stats.cached as f64 / n as f64,
    };
    for (key, value) in [
        ("requests", json!(stats.requests)),
        ("errors", json!(stats.errors)),
        ("cached", json!(stats.cached)),
        ("cache_hit_rate", json!(rate)),
        ("tokens_in", json!(stats.tokens_in)),
        ("tokens_out", json!(stats.tokens_out)),
        ("cost", json!(stats.cost)),
        ("duration_avg_ms", json!(stats.duration_avg_ms)),
        ("duration_p50_ms", json!(stats.duration_p50_ms)),
        ("duration_p99_ms", json!(stats.duration_p99_ms)),
        ("ttft_p50_ms", json!(stats.ttft_p50_ms)),
        ("ttft_p99_ms", json!(stats.ttft_p99_ms)),
    ] {
        into.insert(key.to_string(), value);
    }
}

fn stats_value(stats: &Stats) -> Value {
    let mut map = Map::new();
    stats_json(stats, &mut map);
    Value::Object(map)
}

fn group_json(group: &Group) -> Value {
    let mut map = Map::new();
    let key = (!group.key.is_empty()).then_some(group.key.as_str());
    map.insert("key".into(), json!(key));
    stats_json(&group.stats, &mut map);
    Value::Object(map)
}

/// The top `limit` groups by requests (as the scan ordered them) and by cost.
fn top_tables(groups: &[Group], limit: usize) -> Value {
    let by_requests: Vec<Value> = groups.iter().take(limit).map(group_json).collect();
    let mut by_cost: Vec<&Group> = groups.iter().filter(|g| g.stats.cost > 0.0).collect();
    by_cost.sort_by(|a, b| b.stats.cost.total_cmp(&a.stats.cost));
    let by_cost: Vec<Value> = by_cost.into_iter().take(limit).map(group_json).collect();
    json!({ "count": groups.len(), "by_requests": by_requests, "by_cost": by_cost })
}

/// `GET .../analytics?start_date&end_date&bucket&group_by&limit` plus the logs API's
/// filters: series, totals and top tables of the range (default: the last 24 hours).
pub fn analytics(store: &LogStore, gateway: &str, query: Option<&str>) -> Reply {
    let (cut, filters) = match cut(query.unwrap_or("")) {
        Ok(split) => split,
        Err(reply) => return reply,
    };
    let filter = match list_query(gateway, Some(&filters), false) {
        Ok(list) => list.filter,
        Err(reply) => return reply,
    };
    let to = cut.to.unwrap_or_else(|| now_ms() + 1);
    let from = cut.from.unwrap_or(to - DEFAULT_SPAN_MS);
    let bucket = cut.bucket.unwrap_or(Bucket::for_span(to - from));
    let asked = AnalyticsQuery {
        filter,
        from,
        to,
        bucket,
        group_by: cut.group_by,
    };
    let answer = match store.analytics(&asked) {
        Ok(answer) => answer,
        Err(LogDbError::BadQuery(why)) => {
            return Reply::error_on(ErrorKind::BadRequest, why, Some("bucket"))
        }
        Err(e) => {
            log::error!("admin: {e}");
            return Reply::error(ErrorKind::Internal, "the request log could not be read");
        }
    };
    let series: Vec<Value> = answer
        .series
        .iter()
        .map(|(start, stats)| {
            let mut map = Map::new();
            map.insert("start".into(), json!(format_rfc3339_ms(*start)));
            map.insert("start_ms".into(), json!(start));
            stats_json(stats, &mut map);
            Value::Object(map)
        })
        .collect();
    let mut groups = Map::new();
    for (column, list) in &answer.groups {
        groups.insert(column.name().into(), top_tables(list, cut.limit));
    }
    Reply::ok(json!({
        "gateway": gateway,
        "start": format_rfc3339_ms(from),
        "start_ms": from,
        "end": format_rfc3339_ms(to),
        "end_ms": to,
        "bucket": bucket.name(),
        "bucket_ms": bucket.millis(),
        "totals": stats_value(&answer.totals),
        "series": series,
        "groups": groups,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_its_own_parameters_and_passes_the_filters_on() {
        let (cut, rest) =
            cut("provider=openai&bucket=minute&group_by=model%2Ctoken,model&limit=5&start_date=10")
                .unwrap();
        assert_eq!(rest, "provider=openai");
        assert_eq!(cut.bucket, Some(Bucket::Minute));
        assert_eq!(cut.group_by, [GroupBy::Model, GroupBy::Token]);
        assert_eq!((cut.limit, cut.from, cut.to), (5, Some(10), None));
        for bad in [
            "bucket=week",
            "group_by=colour",
            "limit=0",
            "limit=101",
            "end_date=x",
        ] {
            assert!(super::cut(bad).is_err(), "{bad}");
        }
    }
}
