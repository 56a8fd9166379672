//! Routing one admin request: the open probes (`/healthz`, `/readyz`, `/metrics`)
//! and, behind the bearer admin token, the `/api/v1/` logs API.

use std::time::Duration;

use serde_json::json;
use subtle::ConstantTimeEq;

use super::logs::{self, BodyPart};
use super::reply::{ErrorKind, Reply};
use super::AdminContext;
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
            _ if path.starts_with("/api/v1/") => match self.authorize(head) {
                Ok(()) => self.api(head, &path["/api/v1/".len()..], body),
                Err(reply) => reply,
            },
            _ => Reply::error(ErrorKind::NotFound, format!("no admin route {path}")),
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

    /// The bearer token, compared in constant time; open when no token is set.
    fn authorize(&self, head: &RequestHead) -> Result<(), Reply> {
        let Some(expected) = &self.context.admin_token else {
            return Ok(());
        };
        let given = head
            .header("authorization")
            .and_then(|v| v.strip_prefix(b"Bearer "))
            .unwrap_or_default();
        if bool::from(given.ct_eq(expected.expose().as_bytes())) {
            Ok(())
        } else {
            Err(Reply::error(
                ErrorKind::Unauthorized,
                "missing or invalid admin token",
            ))
        }
    }

    fn api(&self, head: &RequestHead, rest: &str, body: &[u8]) -> Reply {
        let segments: Vec<&str> = rest.split('/').collect();
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
