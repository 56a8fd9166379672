//! The "decide" step: from a routed, authenticated request and its body, the exact
//! upstream request (peer, head bytes, body slices), or a local answer.

use super::auth::{credential, Credential, GatewayAuth, KeySource};
use super::model_route::{configured, model_list, pick_provider};
use super::plan_translated::{messages, translated_chat, Translated, Translation};
use super::universal::universal;
use crate::config::{Gateway, Settings};
use crate::controls::{custom_key, default_key, CacheKey, DefaultKeyParts, Effective};
use crate::error::{ErrorCode, GatewayError};
use crate::http::{is_hop_by_hop, HeadWriter, Method, RequestHead};
use crate::json;
use crate::observe::inject_include_usage;
use crate::providers::{Api, AuthStyle, Provider};
use crate::route::{check_native_path, Endpoint};
use crate::upstream::PeerKey;
use bytes::Bytes;

/// Sent upstream when a client of an x-api-key provider names no API version.
const ANTHROPIC_VERSION: &[u8] = b"2023-06-01";

/// What to do with a request that passed every check.
pub enum Plan {
    /// Answered by the gateway itself (a JSON body with status 200).
    Local(Vec<u8>),
    /// Tried in order until one answers (one step, except on the Universal endpoint).
    Upstream(Vec<PlannedStep>),
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
}

/// A planned upstream request, its cache key, and the translation of its response.
pub(super) type Planned = (UpstreamRequest, Option<CacheKey>, Option<Translation>);

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
    /// method, or an `Idempotency-Key` (Go's net/http rule; see [`replayable`]).
    pub replayable: bool,
}

pub fn plan(
    settings: &Settings,
    gateway: &Gateway,
    endpoint: Endpoint<'_>,
    head: &RequestHead,
    auth: GatewayAuth,
    body: Bytes,
    effective: Effective,
) -> Result<Plan, GatewayError> {
    let cache = Caching {
        gateway_id: &gateway.id,
        policy: &effective,
        method: &head.method,
    };
    let (request, cache_key, translation) = match endpoint {
        Endpoint::CompatModels => return Ok(Plan::Local(model_list(settings))),
        Endpoint::CompatChat => compat(
            settings,
            gateway,
            "/chat/completions",
            head,
            auth,
            body,
            cache,
        )?,
        Endpoint::CompatEmbeddings => {
            compat(settings, gateway, "/embeddings", head, auth, body, cache)?
        }
        Endpoint::CompatMessages => messages(settings, gateway, head, auth, body, cache)?,
        Endpoint::Universal => {
            return universal(settings, gateway, head, auth, &body).map(Plan::Upstream)
        }
        Endpoint::Native { provider, rest } => {
            let provider = find_provider(settings, provider)?;
            let path = native_path(provider, rest)?;
            let (request, key) = native(provider, head, &path, auth, body, cache)?;
            (request, key, None)
        }
    };
    Ok(Plan::Upstream(vec![PlannedStep {
        request,
        effective,
        cache_key,
        index: None,
        translation,
    }]))
}

/// By slug; unknown or unusable: 400 2008.
pub(super) fn find_provider<'a>(
    settings: &'a Settings,
    slug: &str,
) -> Result<&'a Provider, GatewayError> {
    let provider = settings.provider_by_slug(slug).ok_or_else(|| {
        GatewayError::new(
            ErrorCode::UnknownProvider,
            format!(
                "unknown provider {slug:?}; the configured providers are: {}",
                configured(settings, |p| &p.slug)
            ),
        )
    })?;
    usable(provider)?;
    Ok(provider)
}

/// What decides whether and under which key a request is cached.
#[derive(Clone, Copy)]
pub(super) struct Caching<'a> {
    pub gateway_id: &'a str,
    pub policy: &'a Effective,
    pub method: &'a Method,
}

impl Caching<'_> {
    /// The key, when the request is cacheable: cache on, and a GET or POST (the methods
    /// whose answer depends only on what the key covers).
    pub(super) fn key(&self, parts: DefaultKeyParts<'_>) -> Option<CacheKey> {
        let policy = self.policy.cache.as_ref()?;
        if !matches!(self.method, Method::Get | Method::Post) {
            return None;
        }
        Some(match &policy.custom_key {
            Some(custom) => custom_key(self.gateway_id, custom),
            None => default_key(&parts),
        })
    }
}

/// A provider-native request: body as sent, the provider's own credential.
pub(super) fn native(
    provider: &Provider,
    head: &RequestHead,
    path: &str,
    auth: GatewayAuth,
    body: Bytes,
    cache: Caching<'_>,
) -> Result<(UpstreamRequest, Option<CacheKey>), GatewayError> {
    let cred = credential(provider, head, auth, KeySource::Native)?;
    let req = build(
        provider,
        head,
        path,
        auth,
        &cred,
        vec![body.clone()],
        Translated::No,
    )?;
    let key = cache.key(DefaultKeyParts {
        gateway_id: cache.gateway_id,
        provider: &provider.slug,
        upstream_path: &req.target,
        // The model is inside the body, which the key covers whole.
        model: b"",
        credential: credential_bytes(&cred, provider, head),
        body: &body,
    });
    Ok((req, key))
}

/// The key material of a credential: what goes upstream as the provider's auth header.
pub(super) fn credential_bytes<'a>(
    cred: &'a Credential,
    provider: &Provider,
    head: &'a RequestHead,
) -> &'a [u8] {
    match cred {
        Credential::Set { value, .. } => value,
        Credential::Forwarded => head.header(provider.auth.header_name()).unwrap_or_default(),
    }
}

/// `/compat`: the model picks the provider; the body goes up with the bare model name.
fn compat(
    settings: &Settings,
    gateway: &Gateway,
    suffix: &str,
    head: &RequestHead,
    auth: GatewayAuth,
    body: Bytes,
    cache: Caching<'_>,
) -> Result<Planned, GatewayError> {
    let bad = |m: String| GatewayError::new(ErrorCode::BadRequest, m);
    let scan = json::scan_request(&body).map_err(|e| bad(format!("invalid request body: {e}")))?;
    let model = scan
        .model
        .ok_or_else(|| bad("request body has no \"model\" field".into()))?;
    let (provider, upstream_model) = pick_provider(settings, gateway, &model.value)?;
    usable(provider)?;
    let base = match provider.api {
        Api::Openai => "",
        Api::WorkersAi => "/v1",
        Api::Anthropic | Api::Google if suffix == "/chat/completions" => {
            let name = upstream_model.unwrap_or(&model.value);
            let (mut req, t) = translated_chat(provider, name, head, auth, &body)?;
            req.model = Some(name.to_string());
            req.asked_model = Some(model.value);
            return Ok((req, None, Some(t)));
        }
        api => {
            return Err(GatewayError::new(
                ErrorCode::NeedsTranslation,
                format!(
                    "provider {} speaks the {} API; {suffix} cannot be translated to it",
                    provider.slug,
                    api.as_str()
                ),
            ))
        }
    };
    let cred = credential(provider, head, auth, KeySource::Compat)?;
    let parts = match upstream_model {
        Some(name) => json::rewrite_model(&body, model.span, name).parts.to_vec(),
        None => vec![body.clone()],
    };
    // An OpenAI stream reports usage only when asked: ask for it, and take the usage
    // chunk out again on the way back, so the client gets the stream it asked for.
    let injected = (provider.api == Api::Openai && scan.stream && suffix == "/chat/completions")
        .then(|| inject_include_usage(&parts.concat()))
        .flatten();
    let strip_usage_chunk = injected.is_some();
    let parts = injected.map_or(parts, |body| vec![Bytes::from(body)]);
    let path = format!("{}{base}{suffix}", provider.base.path);
    let mut req = build(provider, head, &path, auth, &cred, parts, Translated::No)?;
    req.strip_usage_chunk = strip_usage_chunk;
    req.model = Some(upstream_model.unwrap_or(&model.value).to_string());
    // The client's body (before the rewrite) decides the upstream body exactly and is one
    // contiguous slice, so it is hashed instead of the three rewritten parts.
    let key = cache.key(DefaultKeyParts {
        gateway_id: cache.gateway_id,
        provider: &provider.slug,
        upstream_path: &req.target,
        model: upstream_model.unwrap_or(&model.value).as_bytes(),
        credential: credential_bytes(&cred, provider, head),
        body: &body,
    });
    // The scan's own string, moved: the log copies it into its entry.
    req.asked_model = Some(model.value);
    Ok((req, key, None))
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

/// `{base}{rest}?{query}`, where a versioned base also accepts `rest` repeating the version;
/// a `rest` that could leave the base is 400 2003 (`check_native_path`).
pub(super) fn native_path(provider: &Provider, rest: &str) -> Result<String, GatewayError> {
    check_native_path(rest)?;
    let base = &provider.base.path;
    let mut rest = rest;
    if provider.base.versioned {
        if let Some(version) = base.rfind('/').map(|i| &base[i..]) {
            if let Some(tail) = rest.strip_prefix(version) {
                if tail.is_empty() || tail.starts_with('/') {
                    rest = tail;
                }
            }
        }
    }
    let mut path = format!("{base}{rest}");
    if path.is_empty() {
        path.push('/');
    }
    Ok(path)
}

pub(super) fn build(
    provider: &Provider,
    head: &RequestHead,
    path: &str,
    auth: GatewayAuth,
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
    let has_body = body_len > 0 || !matches!(head.framing, crate::http::BodyFraming::None);
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
