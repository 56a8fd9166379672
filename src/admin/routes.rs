//! Routing one admin request: the open probes (`/healthz`, `/readyz`, `/metrics`) and
//! dashboard assets and, behind the bearer admin token, `/api/v1/` and `/client/v4/`.

use std::time::Duration;

use serde_json::json;
use subtle::ConstantTimeEq;

use super::logs::{self, BodyPart};
use super::reply::{ErrorKind, Reply};
use super::{analytics, dashboard, session, v4, v4_logs, AdminContext};
use crate::config::AdminRole;
use crate::http::{Method, RequestHead};
use crate::observe::logdb::LogStore;
use crate::observe::metrics::{render_prometheus, render_spend, LogCounters};

/// How long `/metrics` waits for the workers to publish fresh numbers before it
/// shows what they last published (a worker ticks every 20 ms).
const FRESH_METRICS_WAIT: Duration = Duration::from_millis(200);
const FRESH_METRICS_POLL: Duration = Duration::from_millis(5);

/// The admin thread's state: the shared context and its own log connection.
pub struct Admin {
    pub context: AdminContext,
    pub store: LogStore,
}

impl Admin {
    /// Answers one request.
    pub async fn handle(&self, head: &RequestHead, body: &[u8]) -> Reply {
        let path = head.path();
        match path {
            "/healthz" => only_get(head, || Reply::json(200, &json!({"status": "ok"}))),
            "/readyz" => only_get(head, || self.readyz()),
            "/metrics" => match head.method {
                Method::Get | Method::Head => self.metrics().await,
                _ => method_not_allowed(),
            },
            "/api/v1/session" => match self.authorize(head) {
                Ok(role) => only_get(head, || session::session(&self.context, role)),
                Err(denied) => denied.reply(),
            },
            _ if path.starts_with("/api/v1/") => match self.authorize(head) {
                Ok(_) => self.api(head, &path["/api/v1/".len()..], body),
                Err(denied) => denied.reply(),
            },
            _ if path.starts_with("/client/v4/") => match self.authorize(head) {
                Ok(_) => self.v4(head, &path["/client/v4/".len()..], body),
                Err(denied) => denied.v4_reply(),
            },
            _ => match dashboard::asset(path) {
                Some(asset) => only_get(head, || asset),
                None => Reply::error(ErrorKind::NotFound, format!("no admin route {path}")),
            },
        }
    }

    fn readyz(&self) -> Reply {
        let readiness = &self.context.readiness;
        let ready = readiness.is_ready();
        let shown = json!({
            "status": if ready { "ready" } else { "not ready" },
            "workers": readiness.workers(),
            "accepting": readiness.accepting(),
            "failed": readiness.failed(),
            "request_panics": readiness.panics(),
        });
        Reply::json(if ready { 200 } else { 503 }, &shown)
    }

    async fn metrics(&self) -> Reply {
        let hub = &self.context.metrics;
        let generation = hub.request_publish();
        let deadline = std::time::Instant::now() + FRESH_METRICS_WAIT;
        while !hub.published_since(generation) && std::time::Instant::now() < deadline {
            monoio::time::sleep(FRESH_METRICS_POLL).await;
        }
        let stats = self.context.log_writer.stats();
        let logs = LogCounters {
            dropped: stats.dropped(),
            written: stats.written(),
            failed: stats.failed(),
        };
        let mut text = render_prometheus(&hub.merged(), Some(logs));
        text.push_str(&render_spend(
            &self
                .context
                .live
                .current()
                .spend_gauges()
                .current(std::time::SystemTime::now()),
        ));
        Reply::bytes(
            "text/plain; version=0.0.4; charset=utf-8",
            text.into_bytes(),
        )
    }

    /// The role of the caller's bearer token (compared in constant time), when it may do
    /// what `head` asks: reads need a `read` or `edit` token, anything else an `edit`
    /// one. `None`: the API is open (no admin token, on loopback).
    fn authorize(&self, head: &RequestHead) -> Result<Option<AdminRole>, Denied> {
        let tokens = &self.context.admin_tokens;
        if tokens.is_empty() {
            return match self.context.loopback {
                true => Ok(None),
                false => Err(Denied::NoTokenOffLoopback),
            };
        }
        let given = head
            .header("authorization")
            .and_then(|v| v.strip_prefix(b"Bearer "))
            .unwrap_or_default();
        // Every token is compared, so the time taken says nothing about which matched.
        let mut role = None;
        for (token, token_role) in tokens {
            if bool::from(given.ct_eq(token.expose().as_bytes())) {
                role = Some(*token_role);
            }
        }
        let needs = match head.method {
            Method::Get | Method::Head => AdminRole::Read,
            _ => AdminRole::Edit,
        };
        match role {
            None => Err(Denied::Unauthorized),
            Some(role) if role < needs => Err(Denied::ReadOnly),
            Some(role) => Ok(Some(role)),
        }
    }

    /// `/client/v4/accounts/{account}/ai-gateway/...`: the management API.
    fn v4(&self, head: &RequestHead, rest: &str, body: &[u8]) -> Reply {
        let segments: Vec<&str> = rest.splitn(4, '/').collect();
        let ["accounts", account, "ai-gateway", tail] = segments.as_slice() else {
            return Reply::v4_error(
                404,
                v4::code::NO_ROUTE,
                format!("no route for /client/v4/{rest}"),
            );
        };
        let expected = self
            .context
            .live
            .current()
            .settings
            .server
            .account_id
            .clone();
        if expected != "*" && expected != *account {
            return Reply::v4_error(
                404,
                v4::code::NOT_FOUND,
                format!("account {account:?} not found"),
            );
        }
        if let ["gateways", gateway, "logs", rest @ ..] =
            tail.split('/').collect::<Vec<_>>().as_slice()
        {
            if let Err(e) = self.context.log_writer.flush() {
                log::warn!("admin: log flush: {e}");
            }
            if self.known_gateway(gateway).is_err() {
                return Reply::v4_error(
                    404,
                    v4::code::NOT_FOUND,
                    format!("gateway {gateway:?} not found"),
                );
            }
            return v4_logs::handle(&self.store, &head.method, gateway, rest, head.query(), body);
        }
        let Some(manage) = &self.context.manage else {
            return Reply::v4_error(404, v4::code::NO_ROUTE, "the management API is off");
        };
        v4::handle(manage, &head.method, tail, head.query(), body)
    }

    fn api(&self, head: &RequestHead, rest: &str, body: &[u8]) -> Reply {
        let segments: Vec<&str> = rest.split('/').collect();
        if let ["gateways", gateway, "analytics"] = segments.as_slice() {
            return self.analytics(head, gateway);
        }
        if let ["gateways", gateway, "spend"] = segments.as_slice() {
            return match self.known_gateway(gateway) {
                Ok(()) => only_get(head, || session::spend(&self.context, gateway)),
                Err(reply) => reply,
            };
        }
        if let ["gateways", gateway, "config-routes"] = segments.as_slice() {
            return match self.known_gateway(gateway) {
                Ok(()) => only_get(head, || session::config_routes(&self.context, gateway)),
                Err(reply) => reply,
            };
        }
        let ["gateways", gateway, "logs", tail @ ..] = segments.as_slice() else {
            return Reply::error(
                ErrorKind::NotFound,
                format!("no admin route /api/v1/{rest}"),
            );
        };
        if gateway.is_empty() {
            return Reply::error(ErrorKind::NotFound, "empty gateway id");
        }
        let route = matches!(tail, [] | [_] | [_, "request" | "response"])
            && !tail.iter().any(|s| s.is_empty());
        if !route {
            return Reply::error(
                ErrorKind::NotFound,
                format!("no admin route /api/v1/{rest}"),
            );
        }
        // Read your writes: what the workers queued before this request is stored.
        if let Err(e) = self.context.log_writer.flush() {
            log::warn!("admin: log flush: {e}");
        }
        let store = &self.store;
        if let Err(reply) = self.known_gateway(gateway) {
            return reply;
        }
        let query = head.query();
        match (&head.method, tail) {
            (Method::Get, []) => logs::list(store, gateway, query),
            (Method::Delete, []) => logs::delete(store, gateway, query),
            (Method::Get, [id]) => logs::get(store, gateway, id),
            (Method::Patch, [id]) => logs::patch(store, gateway, id, body),
            (Method::Get, [id, "request"]) => logs::body(store, gateway, id, BodyPart::Request),
            (Method::Get, [id, "response"]) => logs::body(store, gateway, id, BodyPart::Response),
            _ => method_not_allowed(),
        }
    }

    /// `GET /api/v1/gateways/{id}/analytics` (see `analytics.rs`).
    fn analytics(&self, head: &RequestHead, gateway: &str) -> Reply {
        if head.method != Method::Get {
            return method_not_allowed();
        }
        if let Err(e) = self.context.log_writer.flush() {
            log::warn!("admin: log flush: {e}");
        }
        if let Err(reply) = self.known_gateway(gateway) {
            return reply;
        }
        analytics::analytics(&self.store, gateway, head.query())
    }

    /// A configured gateway, or one whose entries outlived its removal from the config
    /// (they can still be read and deleted); any other is 404 with code 2001.
    fn known_gateway(&self, gateway: &str) -> Result<(), Reply> {
        if self
            .context
            .live
            .current()
            .settings
            .gateway(gateway)
            .is_some()
        {
            return Ok(());
        }
        match self.store.has_entries(gateway) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Reply::gateway_not_found(gateway)),
            Err(e) => {
                log::error!("admin: {e}");
                Err(Reply::error(
                    ErrorKind::Internal,
                    "the request log could not be read",
                ))
            }
        }
    }
}

/// Why an API call is refused before it is read.
enum Denied {
    /// No token, or not one of the admin tokens.
    Unauthorized,
    /// A `read` token asked to change something.
    ReadOnly,
    /// No admin token is configured and the listener is not on loopback.
    NoTokenOffLoopback,
}

impl Denied {
    fn message(&self) -> &'static str {
        match self {
            Denied::Unauthorized => "missing or invalid admin token",
            Denied::ReadOnly => "this admin token has the read role; changes need an edit token",
            Denied::NoTokenOffLoopback => {
                "no admin token is configured, so the admin API answers only on a loopback address; set [[server.admin_tokens]]"
            }
        }
    }

    /// In the logs API's (OpenAI-style) error shape.
    fn reply(&self) -> Reply {
        match self {
            Denied::Unauthorized => Reply::error(ErrorKind::Unauthorized, self.message()),
            _ => Reply::error(ErrorKind::Forbidden, self.message()),
        }
    }

    /// In the v4 envelope.
    fn v4_reply(&self) -> Reply {
        let status = match self {
            Denied::Unauthorized => 401,
            _ => 403,
        };
        Reply::v4_error(status, v4::code::AUTH, self.message())
    }
}

fn only_get(head: &RequestHead, answer: impl FnOnce() -> Reply) -> Reply {
    match head.method {
        Method::Get | Method::Head => answer(),
        _ => method_not_allowed(),
    }
}

fn method_not_allowed() -> Reply {
    Reply::error(
        ErrorKind::MethodNotAllowed,
        "method not allowed on this route",
    )
}
