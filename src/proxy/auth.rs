//! Gateway authentication (SPEC section 5): whether the request may use the gateway,
//! and whether the client's `Authorization` is a gateway token (never forwarded).

use crate::config::{ClientKeys, Gateway, GatewayKeys};
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
}

/// Checks `cf-aig-authorization` (or `Authorization`) against the gateway's tokens.
pub fn authenticate<'a>(
    gateway: &'a Gateway,
    head: &RequestHead,
) -> Result<GatewayAuth<'a>, GatewayError> {
    let authorization_is_gateway_token = authorization_is_gateway_token(gateway, head);
    let decided = GatewayAuth {
        authorization_is_gateway_token,
        client_keys: gateway.config.client_keys,
        stored_keys: &gateway.stored_keys,
    };
    if gateway.auth_tokens.is_empty() {
        return Ok(decided);
    }
    let authenticated = match head.header("cf-aig-authorization") {
        Some(value) => bearer(value).is_some_and(|t| token_matches(&gateway.auth_tokens, t)),
        None => authorization_is_gateway_token,
    };
    if authenticated {
        Ok(decided)
    } else {
        Err(GatewayError::new(
            ErrorCode::GatewayAuth,
            "gateway authentication failed: send cf-aig-authorization: Bearer <token>",
        ))
    }
}

/// Whether `Authorization: Bearer T` carries one of the gateway's tokens.
pub fn authorization_is_gateway_token(gateway: &Gateway, head: &RequestHead) -> bool {
    head.header("authorization")
        .and_then(bearer)
        .is_some_and(|t| token_matches(&gateway.auth_tokens, t))
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
