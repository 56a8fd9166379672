//! The dashboard's own reads: `GET /api/v1/session` (who is signed in, and what there
//! is to show), `.../gateways/{id}/spend` (each spend rule's current spend) and
//! `.../gateways/{id}/config-routes` (the routes the config file declares, shown read-only).

use serde_json::{json, Value};

use super::reply::Reply;
use super::AdminContext;
use crate::config::AdminRole;

/// The caller's role (`open`: no admin token is configured, on loopback), the account,
/// whether the management API is on, the gateways in force and the data plane's addresses.
pub fn session(context: &AdminContext, role: Option<AdminRole>) -> Reply {
    let config = context.live.current();
    let settings = &config.settings;
    let mut gateways: Vec<&String> = settings.gateways.keys().collect();
    gateways.sort();
    let listen: Vec<String> = settings.listen.iter().map(ToString::to_string).collect();
    let role = match role {
        None => "open",
        Some(AdminRole::Read) => "read",
        Some(AdminRole::Edit) => "edit",
    };
    Reply::ok(json!({
        "role": role,
        "can_edit": role != "read",
        "account_id": settings.server.account_id,
        "management": context.manage.is_some(),
        "gateways": gateways,
        "listen": listen,
    }))
}

/// `[{rule, spent}]`: US dollars in each enforced rule's current window (every partition
/// of a per-model or per-value rule summed), as `/metrics` shows them.
pub fn spend(context: &AdminContext, gateway: &str) -> Reply {
    let now = std::time::SystemTime::now();
    let rules: Vec<Value> = context
        .live
        .current()
        .spend_gauges()
        .current(now)
        .into_iter()
        .filter(|(g, _, _)| g == gateway)
        .map(|(_, rule, spent)| json!({ "rule": rule, "spent": spent }))
        .collect();
    Reply::ok(json!({ "gateway": gateway, "rules": rules }))
}

/// `[{name, version, file, elements}]`: the gateway's `[[gateway.route]]`s as the config
/// file wrote them (a route file's elements read from it), with the version that runs.
pub fn config_routes(context: &AdminContext, gateway: &str) -> Reply {
    let config = context.live.current();
    let Some(gw) = config.settings.gateway(gateway) else {
        return Reply::ok(json!({ "gateway": gateway, "routes": [] }));
    };
    let routes: Vec<Value> = gw
        .config
        .route
        .iter()
        .map(|route| {
            let elements = match (&route.elements, &route.file) {
                (Some(elements), _) => Value::Array(elements.clone()),
                (None, Some(file)) => file_elements(file),
                (None, None) => Value::Array(Vec::new()),
            };
            let version = gw
                .routes
                .iter()
                .find(|r| r.name == route.name)
                .map(|r| r.version.clone());
            json!({
                "name": route.name,
                "version": version,
                "file": route.file.as_ref().map(|f| f.display().to_string()),
                "elements": elements,
            })
        })
        .collect();
    Reply::ok(json!({ "gateway": gateway, "routes": routes }))
}

/// A route file's elements: the hosted route object's, or the file's array; `[]` when
/// the file changed since the config was loaded and no longer reads.
fn file_elements(file: &std::path::Path) -> Value {
    let parsed = std::fs::read(file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
    match parsed {
        Some(Value::Object(mut route)) => {
            route.remove("elements").unwrap_or(Value::Array(Vec::new()))
        }
        Some(list @ Value::Array(_)) => list,
        _ => Value::Array(Vec::new()),
    }
}
