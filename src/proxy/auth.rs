//! Gateway authentication (SPEC section 5): whether the request may use the gateway,
//! and whether the client's `Authorization` is a gateway token (never forwarded).

use crate::config::{token_hash, AccessToken, ClientKeys, Gateway, GatewayKeys};
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::redact::Secret;
use subtle::ConstantTimeEq;

/// What gateway authentication decided about the request, and the gateway's rule for
/// whose provider key goes upstream.
#[derive(Debug, Clone, Copy)]
pub struct GatewayAuth<'a> {
    /// `Authorization: Bearer T` holds a gateway token: it is never forwarded.
    pub authorization_is_gateway_token: bool,
    /// The gateway's `client_keys` setting.
    pub client_keys: ClientKeys,
    /// Keys stored on the gateway (management API), tried before the provider's own.
    pub stored_keys: &'a GatewayKeys,
    /// The access token the request authenticated with, if one: its limits apply.
    pub access_token: Option<&'a AccessToken>,
}

/// Checks `cf-aig-authorization` (or `Authorization`) against the gateway's tokens.
pub fn authenticate<'a>(
    gateway: &'a Gateway,
    head: &RequestHead,
) -> Result<GatewayAuth<'a>, GatewayError> {
    // Matched once: an access token's hash is computed at most once per header.
    let in_authorization = head
        .header("authorization")
        .and_then(bearer)
        .and_then(|t| gateway_token(gateway, t));
    let mut decided = GatewayAuth {
        authorization_is_gateway_token: in_authorization.is_some(),
        client_keys: gateway.config.client_keys,
        stored_keys: &gateway.stored_keys,
        access_token: None,
    };
    if !gateway.authenticated {
        return Ok(decided);
    }
    let matched = match head.header("cf-aig-authorization") {
        Some(value) => bearer(value).and_then(|t| gateway_token(gateway, t)),
        None => in_authorization,
    };
    if let Some(access_token) = matched {
        decided.access_token = access_token;
        Ok(decided)
    } else {
        Err(GatewayError::new(
            ErrorCode::GatewayAuth,
            "gateway authentication failed: send cf-aig-authorization: Bearer <token>",
        ))
    }
}

/// Whether `Authorization: Bearer T` carries one of the gateway's tokens (an access
/// token included).
pub fn authorization_is_gateway_token(gateway: &Gateway, head: &RequestHead) -> bool {
    head.header("authorization")
        .and_then(bearer)
        .is_some_and(|t| gateway_token(gateway, t).is_some())
}

/// `candidate` as one of the gateway's tokens: `Some(None)` for an `auth_tokens` one,
/// `Some(Some(token))` for an access token, `None` for neither.
fn gateway_token<'a>(gateway: &'a Gateway, candidate: &[u8]) -> Option<Option<&'a AccessToken>> {
    if token_matches(&gateway.auth_tokens, candidate) {
        return Some(None);
    }
    access_token(&gateway.access_tokens, candidate).map(Some)
}

/// The access token whose hash `candidate` has. Every hash is compared in constant time.
fn access_token<'a>(tokens: &'a [AccessToken], candidate: &[u8]) -> Option<&'a AccessToken> {
    if tokens.is_empty() {
        return None;
    }
    let hash = token_hash(candidate);
    let mut found = None;
    for token in tokens {
        if bool::from(token.hash.ct_eq(&hash)) {
            found = Some(token);
        }
    }
    found
}

/// The token of a `Bearer` credential (scheme case-insensitive).
pub fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// Compares against every token in constant time, so timing tells nothing of which
/// token (or how much of one) matched.
fn token_matches(tokens: &[Secret], candidate: &[u8]) -> bool {
    let mut matched = subtle::Choice::from(0);
    for token in tokens {
        matched |= token.expose().as_bytes().ct_eq(candidate);
    }
    matched.into()
}
