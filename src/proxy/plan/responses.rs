//! OpenAI's Responses API, routed by `model`: a provider that serves it gets the body with
//! only the model rewritten; any other gets it translated to Chat Completions (and on).

use super::credential::{credential, KeySource};
use super::toolbox::{bad_request, build, Caching, Routed, Translated};
use super::Planned;
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::providers::Api;
use crate::proxy::auth::GatewayAuth;
use crate::translate::responses_to_chat::{self, ResponseOptions};
use crate::translate::{
    chat_to_anthropic, chat_to_gemini, ResponsesTranslation, ResponsesUpstream, Translation,
};
use bytes::Bytes;
use serde_json::Value;

/// What a Responses request needs beyond its body: the id its answer gets and the
/// conversation its `previous_response_id` names, as the gateway stored it.
#[derive(Debug, Clone, Default)]
pub struct ResponsesTurn {
    /// `resp_...`, made from the request's log id (so the log finds it again).
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The items of the earlier turns, when `previous_response_id` named a response
    /// the gateway made; `None` without one (or one for the provider to resolve).
    pub history: Option<Vec<Value>>,
    /// The client's body with its `item_reference`s to the gateway's items replaced by
    /// the items: planned instead of the client's (which the log keeps).
    pub body: Option<Vec<u8>>,
}

/// `routed`: the provider and model the body's `model` (or one alias target) names.
pub(super) fn plan(
    routed: Routed<'_>,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: &Bytes,
    cache: Caching<'_>,
    turn: Option<&ResponsesTurn>,
) -> Result<Planned, GatewayError> {
    let unnamed = ResponsesTurn::default();
    let turn = turn.unwrap_or(&unnamed);
    let provider = routed.provider;
    let name = routed.name();
    let cred = credential(provider, head, auth, KeySource::Compat)?;
    let base = &provider.base.path;
    if provider.responses_api {
        let path = format!("{base}/responses");
        // The provider cannot know a response the gateway made: the conversation goes up
        // whole instead (and is not cached: the client's body no longer decides it).
        let parts = match &turn.history {
            Some(history) => vec![Bytes::from(with_history(body, name, history)?)],
            None => routed.body(body),
        };
        let mut req = build(provider, head, &path, auth, &cred, parts, Translated::No)?;
        let key = match turn.history {
            Some(_) => None,
            None => cache.key(provider, &req, name, &cred, head, body),
        };
        routed.label(&mut req);
        return Ok((req, key, None));
    }
    if turn.history.is_none() {
        if let Some(previous) = previous_response_id(body) {
            return Err(GatewayError::new(
                ErrorCode::BadRequest,
                format!(
                    "previous_response_id {previous:?} was not made by this gateway; only a provider that serves the Responses API itself (such as openai) can continue it"
                ),
            ));
        }
    }
    let history = turn.history.as_deref().unwrap_or_default();
    let asked = routed.asked().to_string();
    let (path, upstream_body, translation) =
        translate(provider.api, base, name, &asked, body, history, turn)?;
    let translation = Translation::Responses(Box::new(translation));
    let parts = vec![Bytes::from(upstream_body)];
    let mut req = build(provider, head, &path, auth, &cred, parts, Translated::Yes)?;
    routed.label(&mut req);
    Ok((req, None, Some(translation)))
}

/// A Responses request for a provider without the API: the upstream path and body, and
/// how its answer comes back. Also how a stored exchange is read back (`conversation`).
pub fn translate(
    api: Api,
    base: &str,
    name: &str,
    asked_model: &str,
    body: &[u8],
    history: &[Value],
    turn: &ResponsesTurn,
) -> Result<(String, Vec<u8>, ResponsesTranslation), GatewayError> {
    let chat = responses_to_chat::translate_request(body, name, history).map_err(bad_request)?;
    let options = ResponseOptions {
        id: turn.id.clone(),
        created_at: turn.created_at,
        model: asked_model.to_string(),
        echo: chat.echo,
    };
    let (path, upstream_body, upstream) = match api {
        Api::Openai => (
            format!("{base}/chat/completions"),
            chat.body,
            ResponsesUpstream::Chat,
        ),
        Api::WorkersAi => (
            format!("{base}/v1/chat/completions"),
            chat.body,
            ResponsesUpstream::Chat,
        ),
        Api::Anthropic => {
            let t = chat_to_anthropic::translate_request(&chat.body, name).map_err(bad_request)?;
            let json_tool = t.json_tool.is_some();
            let upstream = ResponsesUpstream::Anthropic { json_tool };
            (format!("{base}/v1/messages"), t.body, upstream)
        }
        Api::Google => {
            let t = chat_to_gemini::translate_request(&chat.body, name).map_err(bad_request)?;
            (
                format!("{base}{}", t.path),
                t.body,
                ResponsesUpstream::Gemini,
            )
        }
        Api::AzureOpenai => {
            return Err(GatewayError::new(
                ErrorCode::NeedsTranslation,
                "the Responses API cannot be translated to the azure-openai API",
            ))
        }
    };
    let translation = ResponsesTranslation {
        upstream,
        stream: chat.stream,
        options,
    };
    Ok((path, upstream_body, translation))
}

/// The body's top-level `previous_response_id`, if any (a cheap look first: most
/// requests have none).
pub fn previous_response_id(body: &[u8]) -> Option<String> {
    memchr::memmem::find(body, b"\"previous_response_id\"")?;
    #[derive(serde::Deserialize)]
    struct Previous {
        previous_response_id: Option<String>,
    }
    serde_json::from_slice::<Previous>(body)
        .ok()?
        .previous_response_id
        .filter(|id| !id.is_empty())
}

/// The client's Responses body for a provider that serves the API itself, with the
/// gateway's stored conversation in front of its `input` and no `previous_response_id`.
fn with_history(body: &[u8], model: &str, history: &[Value]) -> Result<Vec<u8>, GatewayError> {
    let bad = |why: &str| GatewayError::new(ErrorCode::BadRequest, why.to_string());
    let mut request: serde_json::Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| bad("request body is not a JSON object"))?;
    let input = responses_to_chat::input_items(body).map_err(bad_request)?;
    let mut items = history.to_vec();
    items.extend(input);
    request.insert("input".into(), Value::Array(items));
    request.insert("model".into(), Value::String(model.to_string()));
    request.remove("previous_response_id");
    serde_json::to_vec(&request).map_err(|_| bad("request body cannot be written back"))
}
