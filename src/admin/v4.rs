//! The management API in the hosted service's v4 shape, under
//! `/client/v4/accounts/{account}/ai-gateway/`, so its official SDKs work against sluice.

use super::query::parse_pairs;
use super::reply::Reply;
use crate::http::Method;
use crate::manage::gateway::ApiGateway;
use crate::manage::{Manage, ManageError};
use serde_json::Value;

/// The v4 error codes sluice answers (the hosted service's where it has one for the case).
pub mod code {
    /// Missing, invalid or read-only token (as the hosted API's authentication error).
    pub const AUTH: u32 = 10000;
    /// No route for that URI.
    pub const NO_ROUTE: u32 = 7000;
    /// Method not allowed on the route.
    pub const METHOD: u32 = 7001;
    /// The object does not exist.
    pub const NOT_FOUND: u32 = 7003;
    /// A field is refused; the message names it.
    pub const INVALID: u32 = 1001;
    /// The object is the config file's, or its id is taken.
    pub const CONFLICT: u32 = 1002;
    /// The store failed.
    pub const INTERNAL: u32 = 1000;
}

/// Most objects one page lists.
const MAX_PER_PAGE: usize = 100;

/// Answers `rest`: the path after `/client/v4/accounts/{account}/ai-gateway/`.
pub fn handle(
    manage: &Manage,
    method: &Method,
    rest: &str,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    let segments: Vec<&str> = rest.split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["gateways"]) => list_gateways(manage, query),
        (Method::Post, ["gateways"]) => parse(body)
            .and_then(|object| manage.create_gateway(object).map_err(failed))
            .map_or_else(|reply| reply, |view| Reply::v4(200, view.to_json())),
        (Method::Get, ["gateways", id]) => answer(manage.gateway(id)),
        (Method::Put, ["gateways", id]) => match parse(body) {
            Ok(object) => answer(manage.update_gateway(id, object)),
            Err(reply) => reply,
        },
        (Method::Delete, ["gateways", id]) => answer(manage.delete_gateway(id)),
        (Method::Get, ["gateways", id, "provider_configs"]) => match manage.provider_configs(id) {
            Ok(items) => page_of(items, query),
            Err(e) => failed(e),
        },
        (Method::Post, ["gateways", id, "provider_configs"]) => {
            // The body is not echoed in any error: it holds the key.
            match serde_json::from_slice(body) {
                Ok(new) => match manage.add_provider_config(id, new) {
                    Ok(object) => Reply::v4(200, object),
                    Err(e) => failed(e),
                },
                Err(e) => Reply::v4_error(
                    400,
                    code::INVALID,
                    format!("invalid provider config: {}", field_error(&e)),
                ),
            }
        }
        (Method::Delete, ["gateways", id, "provider_configs", config]) => {
            match manage.delete_provider_config(id, config) {
                Ok(object) => Reply::v4(200, object),
                Err(e) => failed(e),
            }
        }
        (_, ["gateways", id, "routes", rest @ ..]) => routes(manage, method, id, rest, query, body),
        (Method::Get, ["gateways", id, "access_tokens"]) => match manage.access_tokens(id) {
            Ok(items) => page_of(items, query),
            Err(e) => failed(e),
        },
        (Method::Post, ["gateways", id, "access_tokens"]) => match serde_json::from_slice(body) {
            Ok(new) => match manage.create_access_token(id, new) {
                Ok(object) => Reply::v4(200, object),
                Err(e) => failed(e),
            },
            Err(e) => Reply::v4_error(
                400,
                code::INVALID,
                format!("invalid access token: {}", field_error(&e)),
            ),
        },
        (Method::Delete, ["gateways", id, "access_tokens", token]) => {
            match manage.revoke_access_token(id, token) {
                Ok(object) => Reply::v4(200, object),
                Err(e) => failed(e),
            }
        }
        (Method::Get, ["gateways", id, "url", provider]) => gateway_url(manage, id, provider),
        (
            _,
            ["gateways"]
            | ["gateways", _]
            | ["gateways", _, "provider_configs" | "access_tokens", ..],
        ) => Reply::v4_error(405, code::METHOD, "method not allowed on this route"),
        _ => Reply::v4_error(
            404,
            code::NO_ROUTE,
            format!("no route for ai-gateway/{rest}"),
        ),
    }
}

/// `gateways/{id}/routes/...`: the SDK's `dynamic_routing` resource. Its list calls read
/// `{success, data: {...}}` and its rename `{success, route}`: the SDK's shapes win.
fn routes(
    manage: &Manage,
    method: &Method,
    gateway: &str,
    rest: &[&str],
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    let (page, per_page) = match paging(query) {
        Ok(paging) => paging,
        Err(reply) => return reply,
    };
    let listed = |key: &str, items: Vec<Value>| {
        let shown: Vec<Value> = items
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .collect();
        let mut data = serde_json::json!({
            "order_by": "created_at", "order_by_direction": "asc",
            "page": page, "per_page": per_page,
        });
        data[key] = Value::Array(shown);
        Reply::json(
            200,
            &serde_json::json!({ "success": true, "errors": [], "messages": [], "data": data }),
        )
    };
    let fields = || -> Result<Value, Reply> {
        serde_json::from_slice(body).map_err(|e| {
            Reply::v4_error(
                400,
                code::INVALID,
                format!("invalid body: {}", field_error(&e)),
            )
        })
    };
    let elements = |value: &Value| -> Result<Vec<Value>, Reply> {
        match value.get("elements") {
            Some(Value::Array(list)) => Ok(list.clone()),
            _ => Err(Reply::v4_error(
                400,
                code::INVALID,
                "elements: an array of route elements",
            )),
        }
    };
    let text = |value: &Value, key: &str| -> Result<String, Reply> {
        match value.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(Reply::v4_error(
                400,
                code::INVALID,
                format!("{key}: a non-empty string"),
            )),
        }
    };
    let result = match (method, rest) {
        (Method::Get, []) => {
            return manage
                .routes(gateway)
                .map_or_else(failed, |r| listed("routes", r))
        }
        (Method::Post, []) => {
            let body = match fields() {
                Ok(body) => body,
                Err(reply) => return reply,
            };
            match (text(&body, "name"), elements(&body)) {
                (Ok(name), Ok(elements)) => manage.create_route(gateway, &name, elements),
                (Err(reply), _) | (_, Err(reply)) => return reply,
            }
        }
        (Method::Get, [id]) => manage.route(gateway, id),
        (Method::Patch, [id]) => {
            let name = match fields().and_then(|body| text(&body, "name")) {
                Ok(name) => name,
                Err(reply) => return reply,
            };
            return match manage.rename_route(gateway, id, &name) {
                Ok(route) => Reply::json(
                    200,
                    &serde_json::json!({ "success": true, "errors": [], "messages": [], "route": route }),
                ),
                Err(e) => failed(e),
            };
        }
        (Method::Delete, [id]) => manage.delete_route(gateway, id),
        (Method::Get, [id, "versions"]) => {
            return manage
                .route_versions(gateway, id)
                .map_or_else(failed, |v| listed("versions", v))
        }
        (Method::Post, [id, "versions"]) => match fields().and_then(|body| elements(&body)) {
            Ok(elements) => manage.create_route_version(gateway, id, elements),
            Err(reply) => return reply,
        },
        (Method::Get, [id, "versions", version]) => manage.route_version(gateway, id, version),
        (Method::Get, [id, "deployments"]) => {
            return manage
                .route_deployments(gateway, id)
                .map_or_else(failed, |d| listed("deployments", d))
        }
        (Method::Post, [id, "deployments"]) => {
            match fields().and_then(|body| text(&body, "version_id")) {
                Ok(version) => manage.deploy_route_version(gateway, id, &version),
                Err(reply) => return reply,
            }
        }
        (_, [] | [_] | [_, "versions" | "deployments"] | [_, "versions", _]) => {
            return Reply::v4_error(405, code::METHOD, "method not allowed on this route")
        }
        _ => return Reply::v4_error(404, code::NO_ROUTE, "no such routes path"),
    };
    match result {
        Ok(value) => Reply::v4(200, value),
        Err(e) => failed(e),
    }
}

/// `gateways/{id}/url/{provider}`: where a client sends that provider's requests.
fn gateway_url(manage: &Manage, gateway: &str, provider: &str) -> Reply {
    match manage.gateway_url(gateway, provider) {
        Ok(url) => Reply::v4(200, Value::String(url)),
        Err(e) => failed(e),
    }
}

fn answer(result: Result<crate::manage::GatewayView, ManageError>) -> Reply {
    match result {
        Ok(view) => Reply::v4(200, view.to_json()),
        Err(e) => failed(e),
    }
}

fn failed(error: ManageError) -> Reply {
    match error {
        ManageError::NotFound(m) => Reply::v4_error(404, code::NOT_FOUND, m),
        ManageError::Conflict(m) => Reply::v4_error(409, code::CONFLICT, m),
        ManageError::Invalid(m) => Reply::v4_error(400, code::INVALID, m),
        ManageError::Store(e) => {
            log::error!("management API: {e}");
            Reply::v4_error(
                500,
                code::INTERNAL,
                "the management store could not be read or written",
            )
        }
        ManageError::Seal(e) => {
            log::error!("management API: {e}");
            Reply::v4_error(500, code::INTERNAL, "the secret could not be sealed")
        }
    }
}

/// A gateway object from a request body; unknown fields and fields turned on that sluice
/// does not implement are a 400 naming the field.
fn parse(body: &[u8]) -> Result<ApiGateway, Reply> {
    let object: ApiGateway = serde_json::from_slice(body)
        .map_err(|e| Reply::v4_error(400, code::INVALID, format!("invalid gateway object: {e}")))?;
    object
        .to_config()
        .map_err(|e| Reply::v4_error(400, code::INVALID, e.to_string()))?;
    Ok(object)
}

/// What is wrong with a body, without quoting it: serde's message names the field and
/// the position, and only quotes a value for an unknown variant or field name.
fn field_error(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Data => {
            let text = error.to_string();
            // "invalid type: string \"...\", expected ..." would quote a value: drop it.
            match text.split_once(", expected") {
                Some((_, expected)) if text.starts_with("invalid type") => {
                    format!("a field has the wrong type (expected{expected})")
                }
                _ => text,
            }
        }
        _ => format!(
            "not JSON (line {}, column {})",
            error.line(),
            error.column()
        ),
    }
}

/// `page` and `per_page` of the query over `items`.
fn page_of(items: Vec<Value>, query: Option<&str>) -> Reply {
    let (page, per_page) = match paging(query) {
        Ok(paging) => paging,
        Err(reply) => return reply,
    };
    let total = items.len();
    let shown = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Reply::v4_page(shown, page, per_page, total)
}

fn paging(query: Option<&str>) -> Result<(usize, usize), Reply> {
    let pairs = parse_pairs(query.unwrap_or(""))
        .map_err(|_| Reply::v4_error(400, code::INVALID, "invalid query string"))?;
    let (mut page, mut per_page) = (1usize, 20usize);
    for (key, value) in pairs {
        let number = value.parse::<usize>().ok().filter(|n| *n >= 1);
        match (key.as_str(), number) {
            ("page", Some(n)) => page = n,
            ("per_page", Some(n)) => per_page = n.min(MAX_PER_PAGE),
            ("page" | "per_page", None) => {
                return Err(Reply::v4_error(
                    400,
                    code::INVALID,
                    format!("{key}: a number from 1"),
                ))
            }
            _ => {}
        }
    }
    Ok((page, per_page))
}

/// `GET gateways?search=&page=&per_page=`: ids containing `search`, a page of them.
fn list_gateways(manage: &Manage, query: Option<&str>) -> Reply {
    let Ok(pairs) = parse_pairs(query.unwrap_or("")) else {
        return Reply::v4_error(400, code::INVALID, "invalid query string");
    };
    let search = pairs
        .iter()
        .find(|(key, _)| key == "search")
        .map_or("", |(_, value)| value.as_str());
    match manage.gateways() {
        Ok(gateways) => {
            let matching = gateways
                .iter()
                .filter(|g| g.object.id.contains(search))
                .map(|g| g.to_json())
                .collect();
            page_of(matching, query)
        }
        Err(e) => failed(e),
    }
}
