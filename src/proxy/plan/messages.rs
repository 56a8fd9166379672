//! The Anthropic Messages endpoints, routed by `model`: an Anthropic provider gets the
//! request untouched but the model name (and may be cached), any other it translated;
//! `count_tokens` goes to Anthropic providers only.

use super::credential::{credential, KeySource};
use super::toolbox::{bad_request, build, untranslatable, Caching, Routed, Translated};
use super::Planned;
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::providers::Api;
use crate::proxy::auth::GatewayAuth;
use crate::translate::{chat_to_gemini, messages_to_chat, Translation};
use bytes::Bytes;

/// `routed`: the provider and model the body's `model` (or one alias target) names.
pub(super) fn plan(
    routed: Routed<'_>,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: &Bytes,
    cache: Caching<'_>,
) -> Result<Planned, GatewayError> {
    let provider = routed.provider;
    let name = routed.name();
    let cred = credential(provider, head, auth, KeySource::Messages)?;
    let base = &provider.base.path;
    let (path, upstream_body, translation) = match provider.api {
        Api::Anthropic => {
            let path = format!("{base}/v1/messages");
            let parts = routed.body(body);
            let mut req = build(provider, head, &path, auth, &cred, parts, Translated::No)?;
            let key = cache.key(provider, &req, name, &cred, head, body);
            routed.label(&mut req);
            return Ok((req, key, None));
        }
        Api::Openai | Api::WorkersAi => {
            let t = messages_to_chat::translate_request(
                body,
                name,
                messages_to_chat::MaxTokensField::MaxTokens,
            )
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
                Translation::MessagesToChat { stream: t.stream },
            )
        }
        Api::Google => {
            let openai = messages_to_chat::translate_request(
                body,
                name,
                messages_to_chat::MaxTokensField::MaxTokens,
            )
            .map_err(bad_request)?;
            let t = chat_to_gemini::translate_request(&openai.body, name).map_err(bad_request)?;
            let path = format!("{base}{}", t.path);
            (
                path,
                t.body,
                Translation::MessagesToGemini { stream: t.stream },
            )
        }
        api => return Err(untranslatable(provider, api)),
    };
    let parts = vec![Bytes::from(upstream_body)];
    let mut req = build(provider, head, &path, auth, &cred, parts, Translated::Yes)?;
    routed.label(&mut req);
    Ok((req, None, Some(translation)))
}

/// `POST /v1/messages/count_tokens`: passed to an Anthropic provider with only the model
/// rewritten; for any other provider a 404 (2002) naming the path, as no other provider
/// counts a Messages request (the caller's error shape is Anthropic's).
pub(super) fn count_tokens(
    routed: Routed<'_>,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: &Bytes,
) -> Result<Planned, GatewayError> {
    let provider = routed.provider;
    if provider.api != Api::Anthropic {
        return Err(GatewayError::new(
            ErrorCode::NoRoute,
            format!(
                "no route for path {}: token counting is served for Anthropic providers only, and {} is not one",
                head.path(),
                provider.slug
            ),
        ));
    }
    let cred = credential(provider, head, auth, KeySource::Messages)?;
    let path = format!("{}/v1/messages/count_tokens", provider.base.path);
    let parts = routed.body(body);
    let mut req = build(provider, head, &path, auth, &cred, parts, Translated::No)?;
    routed.label(&mut req);
    Ok((req, None, None))
}
