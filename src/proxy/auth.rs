//! Gateway authentication and the provider credential of a request (SPEC section 5):
//! which header carries the key upstream, and whether the client's `Authorization` is consumed.

use crate::config::{ClientKeys, Gateway, Secret};
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::providers::default_key_vars;
use crate::providers::{AuthStyle, Provider};
use subtle::ConstantTimeEq;

/// What gateway authentication decided about the request, and the gateway's rule for
/// whose provider key goes upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayAuth {
    /// `Authorization: Bearer T` holds a gateway token: it is never forwarded.
    pub authorization_is_gateway_token: bool,
    /// The gateway's `client_keys` setting.
    pub client_keys: ClientKeys,
}

/// Checks `cf-aig-authorization` (or `Authorization`) against the gateway's tokens.
pub fn authenticate(gateway: &Gateway, head: &RequestHead) -> Result<GatewayAuth, GatewayError> {
    let authorization_is_gateway_token = authorization_is_gateway_token(gateway, head);
    let decided = GatewayAuth {
        authorization_is_gateway_token,
        client_keys: gateway.config.client_keys,
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

/// How the request's provider key reaches the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The client's own provider header goes upstream unchanged (provider-native paths).
    Forwarded,
    /// This header is written upstream; a client header of the same name is dropped.
    Set { name: &'static str, value: Vec<u8> },
}

/// Which endpoint family decides where the client's key is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Provider-native path: the provider's own auth header.
    Native,
    /// `/compat` and aliases: `Authorization: Bearer K`, whatever the provider's style.
    Compat,
    /// The Anthropic Messages endpoints: `x-api-key: K` (what Anthropic SDKs send) or
    /// `Authorization: Bearer K`, written in the provider's style.
    Messages,
}

/// Picks the credential under the gateway's `client_keys` rule (SPEC section 5): the
/// client's key or the stored key by alias, else 401 2005.
pub fn credential(
    provider: &Provider,
    head: &RequestHead,
    auth: GatewayAuth,
    source: KeySource,
) -> Result<Credential, GatewayError> {
    let client = client_key(provider, head, auth, source);
    let client_wins = match auth.client_keys {
        ClientKeys::StoredOnly => false,
        ClientKeys::ClientFirst => true,
        // Native paths name their provider, so the client's header is meant for it.
        ClientKeys::StoredFirst => source == KeySource::Native,
    };
    let client = match client {
        Some(key) if client_wins => return Ok(key),
        other => other,
    };
    let alias = match head.header("cf-aig-byok-alias") {
        Some(v) => Some(std::str::from_utf8(v).map_err(|_| {
            GatewayError::new(ErrorCode::BadRequest, "invalid header cf-aig-byok-alias")
        })?),
        None => None,
    };
    if let Some(key) = provider.keys.get(alias.unwrap_or("default")) {
        return Ok(styled(provider.auth, key.expose().as_bytes()));
    }
    if let Some(alias) = alias {
        return Err(GatewayError::new(
            ErrorCode::NoCredentials,
            format!(
                "no stored key with alias {alias:?} for provider {slug}: add it as \
                 [provider.{slug}] keys = {{ {alias} = \"env:VAR\" }}",
                slug = provider.slug
            ),
        ));
    }
    match client.filter(|_| auth.client_keys != ClientKeys::StoredOnly) {
        Some(key) => Ok(key),
        None => Err(no_credentials(provider, auth.client_keys)),
    }
}

/// The key the client sent for the provider, in the provider's auth style.
fn client_key(
    provider: &Provider,
    head: &RequestHead,
    auth: GatewayAuth,
    source: KeySource,
) -> Option<Credential> {
    let client_authorization = head
        .header("authorization")
        .filter(|_| !auth.authorization_is_gateway_token);
    match source {
        KeySource::Native => {
            let own = match provider.auth {
                AuthStyle::Bearer => client_authorization,
                style => head.header(style.header_name()),
            };
            own.map(|_| Credential::Forwarded)
        }
        KeySource::Compat => client_authorization
            .and_then(bearer)
            .map(|key| styled(provider.auth, key)),
        KeySource::Messages => head
            .header("x-api-key")
            .filter(|k| !k.is_empty())
            .or_else(|| client_authorization.and_then(bearer))
            .map(|key| styled(provider.auth, key)),
    }
}

/// 2005, saying how to give the provider a key.
fn no_credentials(provider: &Provider, rule: ClientKeys) -> GatewayError {
    let slug = &provider.slug;
    let var = default_key_vars()
        .find(|(s, _)| s == slug)
        .and_then(|(_, vars)| vars.first());
    let store = match var {
        Some(var) => format!(
            "set {var} before starting sluice (the embedded config reads it), or add \
             [provider.{slug}] keys = {{ default = \"env:{var}\" }} to the config"
        ),
        None => format!("add [provider.{slug}] keys = {{ default = \"env:VAR\" }} to the config"),
    };
    let send = match rule {
        ClientKeys::StoredOnly => " (this gateway uses stored keys only)".to_string(),
        _ => ", or send the provider's key with the request".to_string(),
    };
    GatewayError::new(
        ErrorCode::NoCredentials,
        format!("no credentials for provider {slug}: {store}{send}"),
    )
}

fn styled(style: AuthStyle, key: &[u8]) -> Credential {
    let value = match style {
        AuthStyle::Bearer => [b"Bearer ".as_slice(), key].concat(),
        _ => key.to_vec(),
    };
    Credential::Set {
        name: style.header_name(),
        value,
    }
}
