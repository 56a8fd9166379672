//! Which provider a `model` value names on the model-routed endpoints (`/compat` and
//! the Anthropic Messages endpoint), and the model name that provider is sent.

use crate::config::{Gateway, Settings};
use crate::error::{ErrorCode, GatewayError};
use crate::providers::Provider;

/// `P/M` picks provider P by model prefix and sends it M (`Some`); a bare name goes to
/// the gateway's `default_provider` unchanged (`None`), else 400 2019.
pub(super) fn pick_provider<'s, 'm>(
    settings: &'s Settings,
    gateway: &Gateway,
    model: &'m str,
) -> Result<(&'s Provider, Option<&'m str>), GatewayError> {
    let bad = |m: String| GatewayError::new(ErrorCode::BadRequest, m);
    match model.split_once('/') {
        Some((prefix, name)) => {
            let provider = settings.provider_by_model_prefix(prefix).ok_or_else(|| {
                GatewayError::new(
                    ErrorCode::UnknownProvider,
                    format!(
                        "unknown provider {prefix:?} in model {model:?}; the configured providers are: {}",
                        configured(settings, |p| &p.model_prefix)
                    ),
                )
            })?;
            if name.is_empty() {
                return Err(bad(format!("model {model:?} names no model")));
            }
            Ok((provider, Some(name)))
        }
        None => {
            let provider = gateway
                .default_provider
                .as_deref()
                .and_then(|slug| settings.provider_by_slug(slug))
                .ok_or_else(|| {
                    GatewayError::new(
                        ErrorCode::NoProviderPrefix,
                        format!(
                            "model {model:?} has no provider/ prefix and gateway {} has no default_provider; name it as provider/model, e.g. \"{}/{model}\"",
                            gateway.id,
                            example_prefix(settings)
                        ),
                    )
                })?;
            Ok((provider, None))
        }
    }
}

/// The usable providers' names (`name` picks slug or model prefix), comma-separated,
/// for errors that should say what would have worked.
pub(super) fn configured(settings: &Settings, name: impl Fn(&Provider) -> &str) -> String {
    let names: Vec<&str> = settings
        .providers
        .values()
        .filter(|p| !p.base.has_placeholder())
        .map(name)
        .collect();
    names.join(", ")
}

/// A provider to show in a `provider/model` example: one with a stored key, else openai.
fn example_prefix(settings: &Settings) -> &str {
    settings
        .providers
        .values()
        .find(|p| !p.keys.is_empty())
        .map_or("openai", |p| p.model_prefix.as_str())
}

/// `{"object":"list","data":[{"id":"provider/model",...}]}` of every configured model.
pub(super) fn model_list(settings: &Settings) -> Vec<u8> {
    let data: Vec<serde_json::Value> = listed_models(settings).collect();
    serde_json::json!({ "object": "list", "data": data })
        .to_string()
        .into_bytes()
}

/// `GET /v1/models/{id}`: the model as `/v1/models` lists it (the id raw or
/// percent-encoded), else 404 2002.
pub(super) fn one_model(settings: &Settings, id: &str) -> Result<Vec<u8>, GatewayError> {
    let decoded = String::from_utf8(crate::route::percent_decode(id.as_bytes()))
        .map_err(|_| GatewayError::new(ErrorCode::BadRequest, "the model id is not UTF-8"))?;
    listed_models(settings)
        .find(|m| m["id"] == decoded.as_str())
        .map(|m| m.to_string().into_bytes())
        .ok_or_else(|| {
            GatewayError::new(
                ErrorCode::NoRoute,
                format!("model {decoded:?} not found; GET /v1/models lists the models configured"),
            )
        })
}

/// Every configured provider's listed models, as `/v1/models` shows them.
fn listed_models(settings: &Settings) -> impl Iterator<Item = serde_json::Value> + '_ {
    settings.providers.values().flat_map(|p| {
        p.models.iter().map(move |m| {
            serde_json::json!({
                "id": format!("{}/{m}", p.model_prefix),
                "object": "model",
                "created": 0,
                "owned_by": p.slug,
            })
        })
    })
}
