//! The logs API's query string: percent-decoding and reading filters, order and
//! page into a `ListQuery`, refusing unknown or malformed parameters by name.

use super::reply::{ErrorKind, Reply};
use crate::observe::logdb::{Direction, ListQuery, LogFilter, OrderBy};
use crate::rfc3339::parse_time_ms;

/// `key=value` pairs of a query string, decoded (`+` is a space); a pair
/// without `=` has an empty value.
pub fn parse_pairs(query: &str) -> Result<Vec<(String, String)>, Reply> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Result<String, Reply> {
    let bad = || Reply::error(ErrorKind::BadRequest, "malformed query string");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

fn invalid(param: &str, expected: &str) -> Reply {
    Reply::error_on(
        ErrorKind::BadRequest,
        format!("query parameter {param} must be {expected}"),
        Some(param),
    )
}

fn boolean(param: &str, value: &str) -> Result<bool, Reply> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(param, "true or false")),
    }
}

fn number<T: std::str::FromStr>(param: &str, value: &str, expected: &str) -> Result<T, Reply> {
    value.parse().map_err(|_| invalid(param, expected))
}

/// The filter of a logs request on `gateway`: `provider`, `model` (as asked),
/// `upstream_model` (as sent), `route`, `access_token` (alias `token`), `status`, `success`, `cached`, `stream`, `start_date`/`end_date` (RFC 3339 or ms; end exclusive)
/// and `metadata.KEY=VALUE`. With `paged`, also `order_by`, `order` (`asc` or
/// `desc`), `page` and `per_page`; without it (delete) those are refused.
pub fn list_query(gateway: &str, query: Option<&str>, paged: bool) -> Result<ListQuery, Reply> {
    let mut list = ListQuery {
        filter: LogFilter {
            gateway: Some(gateway.to_string()),
            ..LogFilter::default()
        },
        ..ListQuery::default()
    };
    let filter = &mut list.filter;
    for (key, value) in parse_pairs(query.unwrap_or(""))? {
        let param = key.as_str();
        match param {
            "provider" => filter.provider = Some(value),
            "model" => filter.model = Some(value),
            "upstream_model" => filter.upstream_model = Some(value),
            "route" => filter.route = Some(value),
            "access_token" | "token" => filter.access_token = Some(value),
            "status" => filter.status = Some(number(param, &value, "an HTTP status")?),
            "success" => filter.success = Some(boolean(param, &value)?),
            "cached" => filter.cached = Some(boolean(param, &value)?),
            "stream" => filter.stream = Some(boolean(param, &value)?),
            "start_date" => {
                let ms = parse_time_ms(&value);
                filter.created_from = Some(ms.ok_or_else(|| invalid(param, "a time"))?);
            }
            "end_date" => {
                let ms = parse_time_ms(&value);
                filter.created_to = Some(ms.ok_or_else(|| invalid(param, "a time"))?);
            }
            _ if param.starts_with("metadata.") && param.len() > "metadata.".len() => {
                filter
                    .metadata
                    .push((param["metadata.".len()..].to_string(), value));
            }
            "order_by" if paged => {
                list.order_by = OrderBy::from_name(&value).ok_or_else(|| {
                    invalid(
                        param,
                        "created_at, duration_ms, cost, tokens_in or tokens_out",
                    )
                })?;
            }
            "order" | "direction" if paged => {
                list.direction = match value.as_str() {
                    "asc" => Direction::Asc,
                    "desc" => Direction::Desc,
                    _ => return Err(invalid(param, "asc or desc")),
                };
            }
            "page" if paged => list.page = number(param, &value, "a positive integer")?,
            "per_page" if paged => list.per_page = number(param, &value, "a positive integer")?,
            _ => {
                return Err(Reply::error_on(
                    ErrorKind::BadRequest,
                    format!("unknown query parameter {param}"),
                    Some(param),
                ))
            }
        }
    }
    if list.page == 0 {
        return Err(invalid("page", "a positive integer"));
    }
    if list.per_page == 0 {
        return Err(invalid("per_page", "a positive integer"));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param_of(reply: Reply) -> String {
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        body["error"]["param"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn reads_every_filter_order_and_page() {
        let q = list_query(
            "gw",
            Some(
                "provider=openai&model=openai/gpt-4o%2Dmini&upstream_model=gpt-4o-mini\
                  &status=200&success=true&cached=false&stream=true\
                  &start_date=2024-05-01T00:00:00Z&end_date=1714608000000\
                  &metadata.user=u+1&order_by=cost&order=asc&page=2&per_page=5",
            ),
            true,
        )
        .unwrap();
        let f = &q.filter;
        assert_eq!(f.gateway.as_deref(), Some("gw"));
        assert_eq!(f.provider.as_deref(), Some("openai"));
        assert_eq!(f.model.as_deref(), Some("openai/gpt-4o-mini"));
        assert_eq!(f.upstream_model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(
            (f.status, f.success, f.cached, f.stream),
            (Some(200), Some(true), Some(false), Some(true))
        );
        assert_eq!(f.created_from, Some(1_714_521_600_000));
        assert_eq!(f.created_to, Some(1_714_608_000_000));
        assert_eq!(f.metadata, [("user".to_string(), "u 1".to_string())]);
        assert_eq!((q.order_by, q.direction), (OrderBy::Cost, Direction::Asc));
        assert_eq!((q.page, q.per_page), (2, 5));
    }

    #[test]
    fn refuses_bad_values_by_name() {
        for (query, param) in [
            ("status=ok", "status"),
            ("success=yes", "success"),
            ("stream=1", "stream"),
            ("start_date=monday", "start_date"),
            ("order_by=id", "order_by"),
            ("order=up", "order"),
            ("page=0", "page"),
            ("per_page=-1", "per_page"),
            ("colour=red", "colour"),
            ("metadata.=x", "metadata."),
        ] {
            let err = list_query("gw", Some(query), true).unwrap_err();
            assert_eq!(err.status, 400, "{query}");
            assert_eq!(param_of(err), param, "{query}");
        }
        // Delete takes filters only.
        assert_eq!(
            param_of(list_query("gw", Some("page=2"), false).unwrap_err()),
            "page"
        );
        assert!(list_query("gw", Some("model=%zz"), true).is_err());
        assert!(list_query("gw", Some("model=%ff"), true).is_err());
    }

    #[test]
    fn no_query_is_the_whole_gateway_newest_first() {
        let q = list_query("gw", None, true).unwrap();
        assert_eq!(q.filter.gateway.as_deref(), Some("gw"));
        assert_eq!(q.direction, Direction::Desc);
        assert_eq!((q.page, q.per_page), (1, 20));
    }
}
