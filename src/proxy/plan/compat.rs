//! `/compat` chat and embeddings: the model picks the provider; an OpenAI-style one gets
//! the body with the bare model name, an Anthropic or Gemini one the request translated.

use super::credential::{credential, KeySource};
use super::toolbox::{bad_request, build, untranslatable, Caching, Routed, Translated};
use super::{Planned, UpstreamRequest};
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::observe::inject_include_usage;
use crate::providers::{Api, Provider};
use crate::proxy::auth::GatewayAuth;
use crate::translate::{chat_to_anthropic, chat_to_gemini, Translation};
use bytes::Bytes;

/// `suffix`: the OpenAI path of the endpoint (`/chat/completions`, `/embeddings`);
/// `routed`: the provider and model the body's `model` (or one alias target) names.
pub(super) fn plan(
    routed: Routed<'_>,
    suffix: &str,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: &Bytes,
    cache: Caching<'_>,
) -> Result<Planned, GatewayError> {
    let provider = routed.provider;
    let base = match provider.api {
        Api::Openai => "",
        Api::WorkersAi => "/v1",
        Api::Anthropic | Api::Google if suffix == "/chat/completions" => {
            let (mut req, t) = translated_chat(provider, routed.name(), head, auth, body)?;
            routed.label(&mut req);
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
    let parts = routed.body(body);
    // An OpenAI stream reports usage only when asked: ask for it, and take the usage
    // chunk out again on the way back, so the client gets the stream it asked for.
    let injected = (provider.api == Api::Openai && routed.stream && suffix == "/chat/completions")
        .then(|| inject_include_usage(&parts.concat()))
        .flatten();
    let strip_usage_chunk = injected.is_some();
    let parts = injected.map_or(parts, |body| vec![Bytes::from(body)]);
    let path = format!("{}{base}{suffix}", provider.base.path);
    let mut req = build(provider, head, &path, auth, &cred, parts, Translated::No)?;
    req.strip_usage_chunk = strip_usage_chunk;
    // The client's body (before the rewrite) decides the upstream body exactly and is one
    // contiguous slice, so it is hashed instead of the three rewritten parts.
    let key = cache.key(provider, &req, routed.name(), &cred, head, body);
    routed.label(&mut req);
    Ok((req, key, None))
}

/// `/compat/chat/completions` for an Anthropic or Gemini provider: the request body
/// translated, the credential in the provider's style. Not cached (the cache stores
/// upstream bodies, and these go back translated).
fn translated_chat(
    provider: &Provider,
    model: &str,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: &[u8],
) -> Result<(UpstreamRequest, Translation), GatewayError> {
    let cred = credential(provider, head, auth, KeySource::Compat)?;
    let (path, body, translation) = match provider.api {
        Api::Anthropic => {
            let t = chat_to_anthropic::translate_request(body, model).map_err(bad_request)?;
            let translation = Translation::ChatToAnthropic {
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
            let t = chat_to_gemini::translate_request(body, model).map_err(bad_request)?;
            let translation = Translation::ChatToGemini {
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
