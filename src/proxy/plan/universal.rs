//! The Universal endpoint (SPEC section 3, [controls]): a JSON array of provider-native
//! steps, each turned into its own upstream request and controls, tried in order by `forward`.

use super::native::{find_provider, native_path};
use super::toolbox::Caching;
use super::{native, Fallback, PlannedStep};
use crate::config::REQUEST_TIMEOUT_MAX_MS;
use crate::config::{Backoff, Gateway, Settings};
use crate::controls::{Effective, RequestControls};
use crate::error::{ErrorCode, GatewayError};
use crate::http::{BodyFraming, Header, Method, RequestHead};
use crate::proxy::auth::{authorization_is_gateway_token, GatewayAuth};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::time::Duration;

/// One step as the client writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    provider: String,
    endpoint: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Kept as the client's bytes: it is the upstream body, sent without re-serialising.
    query: Box<RawValue>,
    #[serde(default)]
    config: StepConfig,
}

/// Per-step controls; each replaces the request's header and the gateway's setting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StepConfig {
    request_timeout: Option<u64>,
    max_attempts: Option<u64>,
    retry_delay: Option<u64>,
    backoff: Option<Backoff>,
}

fn bad(message: String) -> GatewayError {
    GatewayError::new(ErrorCode::BadRequest, message)
}

/// Every step checked and planned before any goes upstream: a bad step refuses the whole
/// request (400 2003, 2008 for an unknown provider, 401 2005 without a credential).
pub(super) fn plan(
    settings: &Settings,
    gateway: &Gateway,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: &[u8],
) -> Result<Vec<PlannedStep>, GatewayError> {
    let steps: Vec<Step> = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "Universal request body must be a JSON array of steps {{provider, endpoint, headers, query, config}}: {}",
            // serde quotes a misplaced value, and a step's headers hold credentials.
            crate::redact::scrub_quoted(&e.to_string())
        ))
    })?;
    if steps.is_empty() {
        return Err(bad("Universal request body has no steps".into()));
    }
    steps
        .into_iter()
        .enumerate()
        .map(|(index, step)| plan_step(settings, gateway, head, auth, index, step))
        .collect()
}

fn plan_step(
    settings: &Settings,
    gateway: &Gateway,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    index: usize,
    step: Step,
) -> Result<PlannedStep, GatewayError> {
    let in_step = |e: GatewayError| GatewayError {
        message: format!("step {index}: {}", e.message),
        ..e
    };
    let provider = find_provider(settings, &step.provider).map_err(in_step)?;
    let endpoint = step.endpoint.trim_start_matches('/');
    if !endpoint.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(in_step(bad(
            "endpoint must be a path of visible ASCII characters".into(),
        )));
    }
    let body = Bytes::copy_from_slice(step.query.get().as_bytes());
    let step_head = merged_head(head, &step.headers, body.len());
    // The step's own Authorization is a provider key unless it is one of the gateway's tokens.
    let auth = if step
        .headers
        .keys()
        .any(|n| n.eq_ignore_ascii_case("authorization"))
    {
        GatewayAuth {
            authorization_is_gateway_token: authorization_is_gateway_token(gateway, &step_head),
            ..auth
        }
    } else {
        auth
    };
    let controls = RequestControls::from_headers(|name| step_head.header(name))
        .map_err(|e| in_step(bad(e.to_string())))?;
    let controls = step.config.apply(controls).map_err(in_step)?;
    let effective = Effective::merge(&gateway.config, controls);
    let path = native_path(provider, &format!("/{endpoint}")).map_err(in_step)?;
    let cache = Caching {
        gateway_id: &gateway.cache_scope,
        policy: &effective,
        method: &step_head.method,
    };
    let (request, cache_key) =
        native::request(provider, &step_head, &path, auth, body, cache).map_err(in_step)?;
    Ok(PlannedStep {
        request,
        effective,
        cache_key,
        index: Some(index),
        translation: None,
        fallback: Fallback::OnAnyError,
        route_path: None,
        track_latency: false,
    })
}

/// The client's head with the step's headers over it (same name: the step's wins), as a
/// POST of a `len`-byte body with no query.
fn merged_head(
    head: &RequestHead,
    step_headers: &BTreeMap<String, String>,
    len: usize,
) -> RequestHead {
    let mut headers: Vec<Header> = head
        .headers
        .iter()
        .filter(|h| !step_headers.keys().any(|n| n.eq_ignore_ascii_case(&h.name)))
        .cloned()
        .collect();
    headers.extend(step_headers.iter().map(|(name, value)| Header {
        name: name.clone(),
        value: value.as_bytes().to_vec(),
    }));
    RequestHead {
        method: Method::Post,
        target: "/".into(),
        headers,
        framing: BodyFraming::Length(len as u64),
        ..head.clone()
    }
}

impl StepConfig {
    /// Overrides `controls` field by field, with the bounds of the matching headers.
    fn apply(self, mut controls: RequestControls) -> Result<RequestControls, GatewayError> {
        let out_of = |field: &str, expected: &str| {
            bad(format!("invalid config.{field}: expected {expected}"))
        };
        if let Some(ms) = self.request_timeout {
            if !(1..=REQUEST_TIMEOUT_MAX_MS).contains(&ms) {
                return Err(out_of("requestTimeout", "milliseconds from 1 to 86400000"));
            }
            controls.request_timeout = Some(Duration::from_millis(ms));
        }
        if let Some(n) = self.max_attempts {
            let n = u32::try_from(n)
                .ok()
                .filter(|n| (1..=5).contains(n))
                .ok_or_else(|| out_of("maxAttempts", "a whole number from 1 to 5"))?;
            controls.max_attempts = Some(n);
        }
        if let Some(ms) = self.retry_delay {
            if ms > 60_000 {
                return Err(out_of("retryDelay", "milliseconds from 0 to 60000"));
            }
            controls.retry_delay = Some(Duration::from_millis(ms));
        }
        if let Some(backoff) = self.backoff {
            controls.backoff = Some(backoff);
        }
        Ok(controls)
    }
}
