//! The dashboard's own reads: `GET /api/v1/session` (who is signed in, and what there
//! is to show) and `GET /api/v1/gateways/{id}/spend` (each spend rule's current spend).

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
