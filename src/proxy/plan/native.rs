//! Provider-native requests (`/{provider}/...`, and each Universal step): the body as
//! sent, under the provider's own credential, at a path that cannot leave the base.

use super::credential::{credential, KeySource};
use super::model_route::configured;
use super::toolbox::{build, usable, Caching, Translated};
use super::{Planned, UpstreamRequest};
use crate::config::Settings;
use crate::controls::CacheKey;
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::providers::Provider;
use crate::proxy::auth::GatewayAuth;
use crate::route::check_native_path;
use bytes::Bytes;

/// `/{slug}/{rest}`: the provider the path names.
pub(super) fn plan(
    settings: &Settings,
    slug: &str,
    rest: &str,
    head: &RequestHead,
    auth: GatewayAuth<'_>,
    body: Bytes,
    cache: Caching<'_>,
) -> Result<Planned, GatewayError> {
    let provider = find_provider(settings, slug)?;
    let path = native_path(provider, rest)?;
    let (request, key) = request(provider, head, &path, auth, body, cache)?;
    Ok((request, key, None))
}

/// A provider-native request: body as sent, the provider's own credential.
pub(super) fn request(
    provider: &Provider,
    head: &RequestHead,
    path: &str,
    auth: GatewayAuth<'_>,
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
    // The model is inside the body, which the key covers whole.
    let key = cache.key(provider, &req, "", &cred, head, &body);
    Ok((req, key))
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
