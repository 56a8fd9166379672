//! The provider credential of a request (SPEC section 5): the client's key or a stored
//! one under the gateway's `client_keys` rule, and the header that carries it upstream.

use crate::config::ClientKeys;
use crate::error::{ErrorCode, GatewayError};
use crate::http::RequestHead;
use crate::providers::default_key_vars;
use crate::providers::{AuthStyle, Provider};
use crate::proxy::auth::{bearer, GatewayAuth};

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
    auth: GatewayAuth<'_>,
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
    let stored = auth.stored_keys.find(&provider.slug, alias);
    if let Some(key) = stored.or_else(|| provider.keys.get(alias.unwrap_or("default"))) {
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
    auth: GatewayAuth<'_>,
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
