//! What every endpoint's planning shares: the model-routed opening, `usable`, the cache
//! key, and `build`, which writes the upstream head (headers kept, credential set).

use std::ops::Range;

use super::credential::{credential_bytes, Credential};
use super::model_route::pick_provider;
use super::{RouteTaken, UpstreamRequest};
use crate::config::{Gateway, Settings};
use crate::controls::{custom_key, default_key, CacheKey, DefaultKeyParts, Effective};
use crate::error::{ErrorCode, GatewayError};
use crate::http::{
    find_field, form_data_boundary, is_hop_by_hop, BodyFraming, HeadWriter, Method, MultipartError,
    RequestHead,
};
use crate::json::{self, ModelField};
use crate::observe::Metadata;
use crate::providers::{Api, AuthStyle, Provider};
use crate::proxy::auth::GatewayAuth;
use crate::proxy::ControlState;
use crate::routing::AliasStrategy;
use crate::upstream::PeerKey;
use bytes::Bytes;

/// Sent upstream when a client of an x-api-key provider names no API version.
const ANTHROPIC_VERSION: &[u8] = b"2023-06-01";

/// What decides whether and under which key a request is cached.
#[derive(Clone, Copy)]
pub(super) struct Caching<'a> {
    pub gateway_id: &'a str,
    pub policy: &'a Effective,
    pub method: &'a Method,
}

impl Caching<'_> {
    /// The key, when the request is cacheable: cache on, and a GET or POST (the methods
    /// whose answer depends only on what the key covers). `model` is the model sent
    /// upstream and `body` the client's: together they decide the upstream body exactly.
    pub(super) fn key(
        &self,
        provider: &Provider,
        request: &UpstreamRequest,
        model: &str,
        cred: &Credential,
        head: &RequestHead,
        body: &[u8],
    ) -> Option<CacheKey> {
        let policy = self.policy.cache.as_ref()?;
        if !matches!(self.method, Method::Get | Method::Post) {
            return None;
        }
        Some(match &policy.custom_key {
            Some(custom) => custom_key(self.gateway_id, custom),
            None => default_key(&DefaultKeyParts {
                gateway_id: self.gateway_id,
                provider: &provider.slug,
                upstream_path: &request.target,
                model: model.as_bytes(),
                credential: credential_bytes(cred, provider, head),
                body,
            }),
        })
    }
}

/// The opening of the model-routed endpoints (`/compat`, Messages): the body's `model`
/// and the usable provider it names.
pub(super) struct Routed<'s> {
    pub provider: &'s Provider,
    /// The client's `model`: as named (`openai/gpt-4o-mini`), and where it is in the body.
    model: ModelField,
    /// Where the name sent upstream starts in the client's model: after `provider/`, or 0.
    name_at: usize,
    /// The name sent upstream when it is not part of the client's (an alias's target).
    target: Option<String>,
    /// A route's model element: its own timeout and retries.
    pub limits: Option<StepLimits>,
    /// A route's model element: the ids of the elements a request it answers passed
    /// through (a JSON array, for the log).
    pub route_path: Option<String>,
    /// A target of a `latency` alias: its times are recorded for the next requests.
    pub track_latency: bool,
    /// The client asked for an event stream.
    pub stream: bool,
    /// The model is a `multipart/form-data` field, rewritten as raw bytes.
    multipart: bool,
}

/// A route's `model` element's own bounds on its step.
#[derive(Debug, Clone, Copy)]
pub(super) struct StepLimits {
    /// The wait for the response head, in ms; 0: the request's own.
    pub timeout_ms: u64,
    /// Attempts after the first.
    pub retries: u32,
}

/// What `route_by_model` decides: the targets, a route's walk, where the messages are.
type ByModel<'s> = (Vec<Routed<'s>>, Option<RouteTaken>, Vec<Range<usize>>);

/// Scans the body for its model and picks the provider by it (400 2003 without one).
/// `custom/NAME` names one of the gateway's aliases, `dynamic/NAME` one of its routes:
/// one `Routed` per target, in the order they are tried (400 2008 for an unknown name),
/// for a route what the walk decided, and where the body's messages are (`RequestScan`).
pub(super) fn route_by_model<'s>(
    settings: &'s Settings,
    gateway: &Gateway,
    head: &RequestHead,
    body: &[u8],
    metadata: Option<&Metadata>,
    controls: &ControlState,
) -> Result<ByModel<'s>, GatewayError> {
    let bad = |m: String| GatewayError::new(ErrorCode::BadRequest, m);
    // The keys a route reads are found in this same pass (none on most gateways).
    let multipart = multipart_scan(head, body);
    let is_multipart = multipart.is_some();
    let scan = match multipart {
        Some(scan) => scan?,
        None => json::scan_request_for(body, &gateway.route_body_keys)
            .map_err(|e| bad(format!("invalid request body: {e}")))?,
    };
    let model = scan
        .model
        .ok_or_else(|| bad("request body has no \"model\" field".into()))?;
    // A route's model elements or an alias's targets: (provider slug, model, limits, path).
    let mut taken = None;
    let mut track_latency = false;
    let targets: Vec<(&str, &str, Option<StepLimits>, Option<String>)> =
        if let Some(name) = model.value.strip_prefix("dynamic/") {
            let (calls, route) = super::dynamic::model_calls(
                gateway,
                name,
                head,
                body,
                &scan.fields,
                metadata,
                controls,
            )?;
            taken = Some(route);
            calls
                .into_iter()
                .map(|(c, path)| {
                    let limits = StepLimits {
                        timeout_ms: c.timeout_ms,
                        retries: c.retries,
                    };
                    (
                        c.provider.as_str(),
                        c.model.as_str(),
                        Some(limits),
                        Some(path),
                    )
                })
                .collect()
        } else if let Some(name) = model.value.strip_prefix("custom/") {
            let alias = gateway
                .aliases
                .iter()
                .find(|a| a.name == name)
                .ok_or_else(|| {
                    let names = gateway.aliases.iter().map(|a| a.name.as_str());
                    unknown_name("model alias", "custom", name, names, "[[gateway.alias]]")
                })?;
            track_latency = alias.strategy == AliasStrategy::Latency;
            alias
                .order()
                .into_iter()
                .map(|i| {
                    let (slug, target) = &alias.targets[i];
                    (slug.as_str(), target.as_str(), None, None)
                })
                .collect()
        } else {
            Vec::new()
        };
    if !targets.is_empty() {
        let routed = targets
            .into_iter()
            .map(|(slug, target, limits, route_path)| {
                let provider = settings.provider_by_slug(slug).ok_or_else(|| {
                    GatewayError::new(
                        ErrorCode::UnknownProvider,
                        format!(
                            "{:?} names provider {slug}, which is not configured",
                            model.value
                        ),
                    )
                })?;
                usable(provider)?;
                Ok(Routed {
                    provider,
                    model: model.clone(),
                    name_at: 0,
                    target: Some(target.to_string()),
                    limits,
                    route_path,
                    track_latency,
                    stream: scan.stream,
                    multipart: is_multipart,
                })
            })
            .collect::<Result<_, GatewayError>>()?;
        return Ok((routed, taken, scan.messages));
    }
    let (provider, upstream_model) = pick_provider(settings, gateway, &model.value)?;
    usable(provider)?;
    // The upstream name is the tail of the client's model: kept as an offset, so the
    // client's string is moved into the log rather than copied.
    let name_at = upstream_model.map_or(0, |name| model.value.len() - name.len());
    let routed = Routed {
        provider,
        model,
        name_at,
        target: None,
        limits: None,
        route_path: None,
        track_latency: false,
        stream: scan.stream,
        multipart: is_multipart,
    };
    Ok((vec![routed], None, scan.messages))
}

/// The `model` field of a `multipart/form-data` body (OpenAI's audio uploads), as the
/// JSON scan would give it; `None` for any other content type.
fn multipart_scan(
    head: &RequestHead,
    body: &[u8],
) -> Option<Result<json::RequestScan, GatewayError>> {
    let boundary = form_data_boundary(head.header("content-type")?)?;
    let bad = |e: MultipartError| GatewayError::new(ErrorCode::BadRequest, e.to_string());
    let scan = boundary.map_err(bad).and_then(|boundary| {
        let span = find_field(body, boundary, "model").map_err(bad)?;
        let model = span
            .map(|span| match std::str::from_utf8(&body[span.clone()]) {
                Ok(value) => Ok(ModelField {
                    value: value.trim().to_string(),
                    span,
                }),
                Err(_) => Err(GatewayError::new(
                    ErrorCode::BadRequest,
                    "the multipart \"model\" field is not UTF-8",
                )),
            })
            .transpose()?;
        Ok(json::RequestScan {
            model,
            ..json::RequestScan::default()
        })
    });
    Some(scan)
}

/// 400 2008 for a `dynamic/` or `custom/` name the gateway does not have, listing those it does.
pub(super) fn unknown_name<'n>(
    what: &str,
    prefix: &str,
    name: &str,
    known: impl Iterator<Item = &'n str>,
    table: &str,
) -> GatewayError {
    let known: Vec<&str> = known.collect();
    let known = match known.is_empty() {
        true => "this gateway has none".to_string(),
        false => format!("this gateway has: {}", known.join(", ")),
    };
    GatewayError::new(
        ErrorCode::UnknownProvider,
        format!("unknown {what} \"{prefix}/{name}\"; {known} ({table})"),
    )
}

impl Routed<'_> {
    /// The model name the provider is sent.
    pub(super) fn name(&self) -> &str {
        match &self.target {
            Some(target) => target,
            None => &self.model.value[self.name_at..],
        }
    }

    /// The client's body for an untranslated request: the model renamed where the
    /// client's had a `provider/` prefix (spliced without copying).
    pub(super) fn body(&self, body: &Bytes) -> Vec<Bytes> {
        if self.name_at == 0 && self.target.is_none() {
            return vec![body.clone()];
        }
        if self.multipart {
            let span = &self.model.span;
            return vec![
                body.slice(..span.start),
                Bytes::copy_from_slice(self.name().as_bytes()),
                body.slice(span.end..),
            ];
        }
        json::rewrite_model(body, self.model.span.clone(), self.name())
            .parts
            .to_vec()
    }

    /// The model as the client named it (`anthropic/claude-...`, `custom/NAME`).
    pub(super) fn asked(&self) -> &str {
        &self.model.value
    }

    /// Records on the request the model sent and, for the log, the model as asked.
    pub(super) fn label(self, req: &mut UpstreamRequest) {
        req.model = Some(self.name().to_string());
        req.asked_model = Some(self.model.value);
    }
}

/// A built-in whose base URL still has a `{placeholder}` needs `base_url` in config.
pub(super) fn usable(provider: &Provider) -> Result<(), GatewayError> {
    if provider.base.has_placeholder() {
        return Err(GatewayError::new(
            ErrorCode::UnknownProvider,
            format!(
                "provider {} needs its base_url set in the config ([provider.{}])",
                provider.slug, provider.slug
            ),
        ));
    }
    Ok(())
}

/// 400 2003: the client's request cannot be written in the provider's API.
pub(super) fn bad_request(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::new(
        ErrorCode::BadRequest,
        format!("cannot translate request: {e}"),
    )
}

/// 400 2014: no translation from this endpoint's API to the provider's.
pub(super) fn untranslatable(provider: &Provider, api: Api) -> GatewayError {
    GatewayError::new(
        ErrorCode::NeedsTranslation,
        format!(
            "provider {} speaks the {} API, which this endpoint cannot be translated to",
            provider.slug,
            api.as_str()
        ),
    )
}

/// Whether `build` writes a translated request: the body is the gateway's own JSON,
/// so body-describing and other-API headers of the client are not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Translated {
    No,
    Yes,
}

/// Client headers that describe the client's body or belong to the client's API.
const NOT_FORWARDED_WHEN_TRANSLATED: [&str; 9] = [
    "accept-encoding",
    "content-type",
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "anthropic-version",
    "anthropic-beta",
    "openai-organization",
    "openai-project",
];

impl Translated {
    fn forwards(self, name: &str) -> bool {
        self == Translated::No
            || !NOT_FORWARDED_WHEN_TRANSLATED
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
    }

    /// The gateway reads a translated response, so it asks for it uncompressed (SPEC 9).
    fn add_headers(self, w: &mut HeadWriter) {
        if self == Translated::Yes {
            w.header("content-type", b"application/json")
                .header("accept-encoding", b"identity");
        }
    }
}

/// The upstream request: `path` on the provider, the client's end-to-end headers (less
/// those a translation or the credential replaces), and `body` as the given slices.
pub(super) fn build(
    provider: &Provider,
    head: &RequestHead,
    path: &str,
    auth: GatewayAuth<'_>,
    cred: &Credential,
    body: Vec<Bytes>,
    translated: Translated,
) -> Result<UpstreamRequest, GatewayError> {
    let target = match head.query() {
        // A translated request's path (and query) is the provider's, not the client's.
        Some(q) if translated == Translated::No => format!("{path}?{q}"),
        _ => path.to_string(),
    };
    let mut w = HeadWriter::new();
    w.request_line(head.method.as_str(), &target)
        .header("host", provider.base.authority().as_bytes());
    let replaced = match cred {
        Credential::Set { name, .. } => Some(*name),
        Credential::Forwarded => None,
    };
    for h in &head.headers {
        let name = h.name.as_str();
        let consumed = name.eq_ignore_ascii_case("authorization")
            && (auth.authorization_is_gateway_token || replaced.is_some());
        if consumed
            || replaced.is_some_and(|r| name.eq_ignore_ascii_case(r))
            || !end_to_end(name, head)
            || (translated == Translated::Yes && !translated.forwards(name))
        {
            continue;
        }
        w.header(name, &h.value);
    }
    translated.add_headers(&mut w);
    if let Credential::Set { name, value } = cred {
        w.header(name, value);
    }
    // A translated request's own `anthropic-version` (if any) was dropped above.
    let has_version = translated == Translated::No && head.header("anthropic-version").is_some();
    if provider.auth == AuthStyle::XApiKey && !has_version {
        w.header("anthropic-version", ANTHROPIC_VERSION);
    }
    let body_len: usize = body.iter().map(Bytes::len).sum();
    let has_body = body_len > 0 || !matches!(head.framing, BodyFraming::None);
    if has_body {
        w.content_length(body_len as u64);
    }
    let head_bytes = w.finish().map_err(|e| {
        GatewayError::new(
            ErrorCode::BadRequest,
            format!("cannot forward request: {e}"),
        )
    })?;
    Ok(UpstreamRequest {
        peer: PeerKey {
            tls: provider.base.tls,
            host: provider.base.host.clone(),
            port: provider.base.port,
            ca_file: provider.ca_file.clone(),
        },
        provider: provider.slug.clone(),
        strip_usage_chunk: false,
        model: None,
        asked_model: None,
        target,
        head: Bytes::from(head_bytes),
        body,
        is_head: head.method == Method::Head,
        replayable: replayable(head),
    })
}

/// GET, HEAD, OPTIONS and TRACE, or any request carrying `Idempotency-Key` or
/// `X-Idempotency-Key`: those a lost response may send again.
fn replayable(head: &RequestHead) -> bool {
    matches!(head.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE")
        || head.header("idempotency-key").is_some()
        || head.header("x-idempotency-key").is_some()
}

/// Headers that travel on: not hop-by-hop, not named in `Connection`, not `cf-aig-*`,
/// and not those the gateway sets itself (`Host`, framing, `Expect`).
fn end_to_end(name: &str, head: &RequestHead) -> bool {
    const SET_BY_GATEWAY: [&str; 3] = ["host", "content-length", "expect"];
    !(is_hop_by_hop(name)
        || name
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("cf-aig-"))
        || SET_BY_GATEWAY.iter().any(|h| name.eq_ignore_ascii_case(h))
        || head
            .connection_tokens
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t)))
}
