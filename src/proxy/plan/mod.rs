//! The "decide" step: a routed, authenticated request and its body become the exact
//! upstream requests or a local answer. Types here; one file per endpoint, over `toolbox`.

mod compat;
mod credential;
mod dynamic;
mod messages;
mod model_route;
mod native;
mod responses;
mod toolbox;
mod universal;

use std::ops::Range;

use crate::config::{Gateway, Settings};
use crate::controls::{BucketKey, CacheKey, Effective, Window};
use crate::error::GatewayError;
use crate::http::RequestHead;
use crate::observe::Metadata;
use crate::proxy::auth::GatewayAuth;
use crate::proxy::ControlState;
use crate::route::Endpoint;
use crate::translate::Translation;
use crate::upstream::PeerKey;
use bytes::Bytes;
use toolbox::Caching;

pub use responses::{previous_response_id, translate as translate_responses, ResponsesTurn};

/// What to do with a request that passed every check.
pub enum Plan {
    /// Answered by the gateway itself (a JSON body with status 200).
    Local(Vec<u8>),
    /// Tried in order until one answers (one step, except on the Universal endpoint, an
    /// alias or a route); a route's walk beside them.
    Upstream {
        steps: Vec<PlannedStep>,
        route: Option<RouteTaken>,
        /// Where the client body's messages are, when its scan found them (for the log).
        messages: Vec<Range<usize>>,
    },
}

/// What a request's walk of a `dynamic/` route decided, beyond its steps.
#[derive(Debug, Clone)]
pub struct RouteTaken {
    /// The route's name.
    pub name: String,
    /// The version that ran.
    pub version: String,
    /// Cost `rate` buckets the request passed: charged its cost once that is known.
    pub charges: Vec<(BucketKey, Window)>,
}

/// One upstream request and the controls it runs under.
pub struct PlannedStep {
    pub request: UpstreamRequest,
    pub effective: Effective,
    /// Set when this request may be answered from, and stored in, the cache.
    pub cache_key: Option<CacheKey>,
    /// Universal endpoint: the step's 0-based index, answered as `cf-aig-step`.
    pub index: Option<usize>,
    /// Set when the client and the provider speak different APIs: the response is
    /// translated back (`proxy::translated`); `None` streams it through untouched.
    pub translation: Option<Translation>,
    /// Which upstream answers hand over to the next step (the last step's go back).
    pub fallback: Fallback,
    /// A route's step: the ids of the elements a request it answers passed through.
    pub route_path: Option<String>,
    /// A `latency` alias's target: how long it took is recorded (`routing::latency`).
    pub track_latency: bool,
}

/// Who answered, on every response of a model-routed endpoint (`/compat`, Messages).
pub const MODEL_HEADER: &str = "cf-aig-model";
/// The provider's slug beside [`MODEL_HEADER`].
pub const PROVIDER_HEADER: &str = "cf-aig-provider";

impl PlannedStep {
    /// `cf-aig-model` (as sent upstream) and `cf-aig-provider` for a step the body's
    /// model chose (an alias target included); none on provider-native paths.
    pub fn answered_by(&self) -> Vec<(&'static str, &[u8])> {
        match (&self.request.asked_model, &self.request.model) {
            (Some(_), Some(model)) => vec![
                (MODEL_HEADER, model.as_bytes()),
                (PROVIDER_HEADER, self.request.provider.as_bytes()),
            ],
            _ => Vec::new(),
        }
    }
}

/// When a step's upstream answer is a failure that the next step gets to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Any status of 400 or more (the Universal endpoint, as the hosted service does).
    OnAnyError,
    /// 429 and 5xx only; another 4xx is the client's own error and goes back to it
    /// (model aliases, as the hosted service's dynamic routing does).
    OnFailure,
}

impl Fallback {
    /// Whether an upstream answer with `status` hands over to the next step.
    pub fn takes(self, status: u16) -> bool {
        match self {
            Fallback::OnAnyError => status >= 400,
            Fallback::OnFailure => status == 429 || status >= 500,
        }
    }
}

/// A planned upstream request, its cache key, and the translation of its response.
type Planned = (UpstreamRequest, Option<CacheKey>, Option<Translation>);

pub struct UpstreamRequest {
    pub peer: PeerKey,
    /// The provider's slug (logs and metrics).
    pub provider: String,
    /// The gateway added `stream_options.include_usage` for its own counts: the
    /// usage-only chunk is removed from what the client receives.
    pub strip_usage_chunk: bool,
    /// The model sent upstream, when planning knew it (`/compat`); else it is read
    /// from the body only if the request is logged.
    pub model: Option<String>,
    /// The model as the client named it, where the gateway picked the provider by it
    /// (`/compat`, Messages: `openai/gpt-4o-mini`); `None`: the model sent upstream.
    pub asked_model: Option<String>,
    /// The upstream request-target (path and query).
    pub target: String,
    /// Request line and headers, ending in the blank line.
    pub head: Bytes,
    /// The body as slices (the model rewrite splices without copying).
    pub body: Vec<Bytes>,
    /// A HEAD request's response has no body whatever its headers say.
    pub is_head: bool,
    /// The upstream acting on it twice is harmless or the client's choice: a safe
    /// method, or an `Idempotency-Key` (Go's net/http rule; see `toolbox::replayable`).
    pub replayable: bool,
}

impl UpstreamRequest {
    /// The model as the client wrote it (`provider/model`, `dynamic/NAME`, ...); for a
    /// provider-native request, `provider/model` of what goes up.
    pub fn model_as_asked(&self) -> String {
        match &self.asked_model {
            Some(asked) => asked.clone(),
            None => format!(
                "{}/{}",
                self.provider,
                self.model.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// The routing decision of a `"model": "dynamic/NAME"` request, as planning makes it:
/// the body scanned once (finding the keys routes read) and the route walked over it
/// and `cf-aig-metadata` as the request's log parsed it. The
/// model elements' models in the order tried. For the criterion bench.
pub fn route_decision<'g>(
    gateway: &'g Gateway,
    head: &RequestHead,
    body: &[u8],
    metadata: Option<&Metadata>,
    controls: &ControlState,
) -> Result<Vec<&'g str>, GatewayError> {
    let scan = crate::json::scan_request_for(body, &gateway.route_body_keys)
        .map_err(|e| GatewayError::new(crate::error::ErrorCode::BadRequest, e.to_string()))?;
    let model = scan.model.map(|m| m.value).unwrap_or_default();
    let name = model.strip_prefix("dynamic/").unwrap_or_default();
    let (calls, _) =
        dynamic::model_calls(gateway, name, head, body, &scan.fields, metadata, controls)?;
    Ok(calls.into_iter().map(|(c, _)| c.model.as_str()).collect())
}

/// Plans the request for its endpoint; every refusal is a typed `GatewayError`.
// The request's parts and the shared state it is planned against: a struct around
// them would only rename them at the one call site.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    settings: &Settings,
    controls: &ControlState,
    gateway: &Gateway,
    endpoint: Endpoint<'_>,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: Bytes,
    effective: Effective,
    metadata: Option<&Metadata>,
    turn: Option<&ResponsesTurn>,
) -> Result<Plan, GatewayError> {
    let cache = Caching {
        gateway_id: &gateway.cache_scope,
        policy: &effective,
        method: &head.method,
    };
    let (request, cache_key, translation) = match endpoint {
        Endpoint::CompatModels => return Ok(Plan::Local(model_route::model_list(settings))),
        Endpoint::CompatModel(id) => return model_route::one_model(settings, id).map(Plan::Local),
        // The gateway's own ids are read from its log before planning
        // (`proxy::conversation`); any other is the provider's that serves the API itself.
        Endpoint::CompatResponse(id) => {
            let provider = settings.providers.values().find(|p| p.responses_api);
            let Some(provider) = provider else {
                return Err(GatewayError::new(
                    crate::error::ErrorCode::NoRoute,
                    format!("no response with id {id:?}: it was not made by this gateway, and no provider that stores responses (responses_api) is configured"),
                ));
            };
            let rest = format!("/responses/{id}");
            native::plan(settings, &provider.slug, &rest, head, auth, body, cache)?
        }
        Endpoint::CompatChat
        | Endpoint::CompatEmbeddings
        | Endpoint::CompatMessages
        | Endpoint::CompatCountTokens
        | Endpoint::CompatResponses
        | Endpoint::CompatOpenAi(_) => {
            // One step per target: one, or an alias's targets in the order they are tried.
            let (routes, taken, messages) =
                toolbox::route_by_model(settings, gateway, head, &body, metadata, controls)?;
            let steps = routes.into_iter().map(|mut routed| {
                let effective = limited(&effective, routed.limits);
                let route_path = routed.route_path.take();
                let track_latency = routed.track_latency;
                let (request, cache_key, translation) = match endpoint {
                    Endpoint::CompatChat => {
                        compat::plan(routed, "/chat/completions", head, auth, &body, cache)?
                    }
                    Endpoint::CompatEmbeddings => {
                        compat::plan(routed, "/embeddings", head, auth, &body, cache)?
                    }
                    Endpoint::CompatCountTokens => {
                        messages::count_tokens(routed, head, auth, &body)?
                    }
                    Endpoint::CompatOpenAi(suffix) => {
                        compat::plan(routed, suffix, head, auth, &body, cache)?
                    }
                    Endpoint::CompatResponses => {
                        responses::plan(routed, head, auth, &body, cache, turn)?
                    }
                    _ => messages::plan(routed, head, auth, &body, cache)?,
                };
                Ok(PlannedStep {
                    request,
                    effective,
                    cache_key,
                    index: None,
                    translation,
                    fallback: Fallback::OnFailure,
                    route_path,
                    track_latency,
                })
            });
            let steps = steps.collect::<Result<_, GatewayError>>()?;
            return Ok(Plan::Upstream {
                steps,
                route: taken,
                messages,
            });
        }
        Endpoint::Universal => {
            let steps = universal::plan(settings, gateway, head, auth, &body)?;
            return Ok(Plan::Upstream {
                steps,
                route: None,
                messages: Vec::new(),
            });
        }
        Endpoint::Native { provider, rest } => {
            native::plan(settings, provider, rest, head, auth, body, cache)?
        }
    };
    let step = PlannedStep {
        request,
        effective,
        cache_key,
        index: None,
        translation,
        fallback: Fallback::OnFailure,
        route_path: None,
        track_latency: false,
    };
    Ok(Plan::Upstream {
        steps: vec![step],
        route: None,
        messages: Vec::new(),
    })
}

/// A route's model element over the request's controls: its timeout (when set) and
/// its retries (attempts = retries + 1).
fn limited(effective: &Effective, limits: Option<toolbox::StepLimits>) -> Effective {
    let mut effective = effective.clone();
    if let Some(limits) = limits {
        if limits.timeout_ms > 0 {
            effective.request_timeout = Some(std::time::Duration::from_millis(limits.timeout_ms));
        }
        effective.retry.max_attempts = limits.retries.saturating_add(1);
    }
    effective
}
