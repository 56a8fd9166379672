//! The upstream request of a translated exchange: an OpenAI client on `/compat` reaching
//! an Anthropic or Gemini provider, and an Anthropic Messages client reaching any provider.

use super::auth::{credential, GatewayAuth, KeySource};
use super::model_route::pick_provider;
use super::plan::{build, credential_bytes, usable, Caching, Planned, UpstreamRequest};
use crate::config::{Gateway, Settings};
use crate::controls::DefaultKeyParts;
use crate::error::{ErrorCode, GatewayError};
use crate::http::{HeadWriter, RequestHead};
use crate::json;
use crate::providers::{Api, Provider};
use crate::translate::{anthropic, google, messages as msgs};
use bytes::Bytes;

/// How the response of a translated request goes back to the client. Each carries
/// whether the client asked for a stream and, for OpenAI clients, for a usage chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Translation {
    /// OpenAI client, Anthropic Messages upstream.
    AnthropicToOpenAi {
        stream: bool,
        include_usage: bool,
        /// The request's `response_format` became the synthetic JSON tool.
        json_tool: bool,
    },
    /// OpenAI client, Gemini upstream.
    GeminiToOpenAi { stream: bool, include_usage: bool },
    /// Anthropic Messages client, OpenAI-style upstream.
    OpenAiToAnthropic { stream: bool },
    /// Anthropic Messages client, Gemini upstream: through OpenAI's shape both ways,
    /// so each direction has one translator per API pair.
    GeminiToAnthropic { stream: bool },
}

impl Translation {
    /// The client asked for an event stream.
    pub fn stream(self) -> bool {
        match self {
            Translation::AnthropicToOpenAi { stream, .. }
            | Translation::GeminiToOpenAi { stream, .. }
            | Translation::OpenAiToAnthropic { stream }
            | Translation::GeminiToAnthropic { stream } => stream,
        }
    }

    /// The client speaks Anthropic Messages (else OpenAI Chat Completions).
    pub fn client_is_anthropic(self) -> bool {
        matches!(
            self,
            Translation::OpenAiToAnthropic { .. } | Translation::GeminiToAnthropic { .. }
        )
    }
}

/// Whether `plan::build` writes a translated request: the body is the gateway's own
/// JSON, so body-describing and other-API headers of the client are not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Translated {
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
    pub(super) fn forwards(self, name: &str) -> bool {
        self == Translated::No
            || !NOT_FORWARDED_WHEN_TRANSLATED
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
    }

    /// The gateway reads a translated response, so it asks for it uncompressed (SPEC 9).
    pub(super) fn add_headers(self, w: &mut HeadWriter) {
        if self == Translated::Yes {
            w.header("content-type", b"application/json")
                .header("accept-encoding", b"identity");
        }
    }
}

/// `/compat/chat/completions` for an Anthropic or Gemini provider: the request body
/// translated, the credential in the provider's style. Not cached (the cache stores
/// upstream bodies, and these go back translated).
pub(super) fn translated_chat(
    provider: &Provider,
    model: &str,
    head: &RequestHead,
    auth: GatewayAuth,
    body: &[u8],
) -> Result<(UpstreamRequest, Translation), GatewayError> {
    let cred = credential(provider, head, auth, KeySource::Compat)?;
    let (path, body, translation) = match provider.api {
        Api::Anthropic => {
            let t = anthropic::translate_request(body, model).map_err(bad_request)?;
            let translation = Translation::AnthropicToOpenAi {
                stream: t.stream,
                include_usage: t.include_usage,
                json_tool: t.json_tool.is_some(),
            };
            (
                format!("{}/v1/messages", provider.base.path),
                t.body,
                translation,
            )
        }
        Api::Google => {
            let t = google::translate_request(body, model).map_err(bad_request)?;
            let translation = Translation::GeminiToOpenAi {
                stream: t.stream,
                include_usage: t.include_usage,
            };
            (
                format!("{}{}", provider.base.path, t.path),
                t.body,
                translation,
            )
        }
        api => return Err(untranslatable(provider, api)),
    };
    let parts = vec![Bytes::from(body)];
    let req = build(provider, head, &path, auth, &cred, parts, Translated::Yes)?;
    Ok((req, translation))
}

/// The Anthropic Messages endpoints: routed by `model` like `/compat`. An Anthropic
/// provider gets the request untouched but for the model name (and may be cached);
/// any other is sent the request translated to its API.
pub(super) fn messages(
    settings: &Settings,
    gateway: &Gateway,
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
    let name = upstream_model.unwrap_or(&model.value);
    let cred = credential(provider, head, auth, KeySource::Messages)?;
    let base = &provider.base.path;
    let (path, upstream_body, translation) = match provider.api {
        Api::Anthropic => {
            let parts = match upstream_model {
                Some(name) => json::rewrite_model(&body, model.span, name).parts.to_vec(),
                None => vec![body.clone()],
            };
            let path = format!("{base}/v1/messages");
            let mut req = build(provider, head, &path, auth, &cred, parts, Translated::No)?;
            let key = cache.key(DefaultKeyParts {
                gateway_id: cache.gateway_id,
                provider: &provider.slug,
                upstream_path: &req.target,
                model: name.as_bytes(),
                credential: credential_bytes(&cred, provider, head),
                body: &body,
            });
            req.model = Some(name.to_string());
            req.asked_model = Some(model.value);
            return Ok((req, key, None));
        }
        Api::Openai | Api::WorkersAi => {
            let t = msgs::translate_request(&body, name, msgs::MaxTokensField::MaxTokens)
                .map_err(bad_request)?;
            let version = if provider.api == Api::WorkersAi {
                "/v1"
            } else {
                ""
            };
            let path = format!("{base}{version}/chat/completions");
            (
                path,
                t.body,
                Translation::OpenAiToAnthropic { stream: t.stream },
            )
        }
        Api::Google => {
            let openai = msgs::translate_request(&body, name, msgs::MaxTokensField::MaxTokens)
                .map_err(bad_request)?;
            let t = google::translate_request(&openai.body, name).map_err(bad_request)?;
            let path = format!("{base}{}", t.path);
            (
                path,
                t.body,
                Translation::GeminiToAnthropic { stream: t.stream },
            )
        }
        api => return Err(untranslatable(provider, api)),
    };
    let parts = vec![Bytes::from(upstream_body)];
    let mut req = build(provider, head, &path, auth, &cred, parts, Translated::Yes)?;
    req.model = Some(name.to_string());
    req.asked_model = Some(model.value);
    Ok((req, None, Some(translation)))
}

fn bad_request(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::new(
        ErrorCode::BadRequest,
        format!("cannot translate request: {e}"),
    )
}

fn untranslatable(provider: &Provider, api: Api) -> GatewayError {
    GatewayError::new(
        ErrorCode::NeedsTranslation,
        format!(
            "provider {} speaks the {} API, which this endpoint cannot be translated to",
            provider.slug,
            api.as_str()
        ),
    )
}
