//! Request path -> endpoint (SPEC section 3). Pure and allocation-free: it only
//! borrows segments of the path; finding the gateway and provider comes after.

use crate::error::{ErrorCode, GatewayError};
use crate::http::Method;

/// What a request path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// OpenAI Chat Completions for any provider, model `provider/model`.
    CompatChat,
    /// OpenAI Embeddings for any provider.
    CompatEmbeddings,
    /// The model list of every configured provider.
    CompatModels,
    /// One model of that list, by its id (`provider/model`, raw or percent-encoded).
    CompatModel(&'a str),
    /// Anthropic Messages in front of any provider ([translate]).
    CompatMessages,
    /// Anthropic's token count of a Messages request, for Anthropic providers.
    CompatCountTokens,
    /// The OpenAI Responses API in front of any provider.
    CompatResponses,
    /// One stored response of the Responses API, by its id.
    CompatResponse(&'a str),
    /// Another model-bearing OpenAI endpoint, for providers that speak OpenAI's API:
    /// the OpenAI path (`/completions`, `/audio/speech`, ...).
    CompatOpenAi(&'static str),
    /// Provider-native pass-through: `rest` starts with '/' (or is empty).
    Native {
        /// The provider's slug.
        provider: &'a str,
        /// The path after the provider segment.
        rest: &'a str,
    },
    /// The Universal endpoint ([controls]).
    Universal,
}

/// A routed request: which gateway of which account, and which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    /// `None` on the `/v1/...` aliases, which belong to gateway `default` of any account.
    pub account_id: Option<&'a str>,
    /// The gateway id path segment (`default` on the aliases).
    pub gateway_id: &'a str,
    /// Which endpoint.
    pub endpoint: Endpoint<'a>,
}

/// The first path segments OpenAI's API uses under `/v1/`: with `account_id = "*"` they are
/// read as OpenAI paths, never as `/v1/{account}/{gateway}` (so `/v1/audio/speech` is not
/// gateway "speech"); those sluice does not serve are a 404 naming the path.
const OPENAI_RESOURCES: &[&str] = &[
    "assistants",
    "audio",
    "batches",
    "chat",
    "completions",
    "embeddings",
    "files",
    "fine_tuning",
    "images",
    "messages",
    "models",
    "moderations",
    "organization",
    "realtime",
    "responses",
    "threads",
    "uploads",
    "vector_stores",
];

/// OpenAI endpoints with a `model` in their body (JSON, or a multipart field for the
/// audio uploads) that go to the provider the model names, as they are.
const MODEL_BEARING: &[&str] = &[
    "/completions",
    "/moderations",
    "/images/generations",
    "/audio/speech",
    "/audio/transcriptions",
    "/audio/translations",
];

/// The model-routed endpoints, the same at `/v1/` and under `/v1/{account}/{gateway}/compat/`.
fn compat_endpoint<'a>(method: &Method, path: &'a str) -> Option<Endpoint<'a>> {
    let by_id = |prefix: &str| {
        path.strip_prefix(prefix)
            .filter(|id| !id.is_empty() && !id.contains('/'))
    };
    let endpoint = match (method, path) {
        (Method::Post, "chat/completions") => Endpoint::CompatChat,
        (Method::Post, "embeddings") => Endpoint::CompatEmbeddings,
        (Method::Get, "models") => Endpoint::CompatModels,
        (Method::Post, "messages") => Endpoint::CompatMessages,
        (Method::Post, "messages/count_tokens") => Endpoint::CompatCountTokens,
        (Method::Post, "responses") => Endpoint::CompatResponses,
        (Method::Get, _) if by_id("responses/").is_some() => {
            Endpoint::CompatResponse(by_id("responses/")?)
        }
        (Method::Get, models) if models.starts_with("models/") && models.len() > 7 => {
            Endpoint::CompatModel(&models[7..])
        }
        (Method::Post, _) => {
            let suffix = MODEL_BEARING
                .iter()
                .find(|suffix| suffix.get(1..) == Some(path))?;
            Endpoint::CompatOpenAi(suffix)
        }
        _ => return None,
    };
    Some(endpoint)
}

/// Maps a path (without query) to a route, or 404 code 2002. `any_account`: the config's
/// `account_id` is `"*"`, so OpenAI's own path names come before account and gateway.
pub fn route<'a>(
    method: &Method,
    path: &'a str,
    any_account: bool,
) -> Result<Route<'a>, GatewayError> {
    let Some(after_v1) = path.strip_prefix("/v1/") else {
        return Err(no_route(path));
    };
    let alias = |endpoint| {
        Ok(Route {
            account_id: None,
            gateway_id: "default",
            endpoint,
        })
    };
    if let Some(endpoint) = compat_endpoint(method, after_v1) {
        return alias(endpoint);
    }
    let first = after_v1.split('/').next().unwrap_or_default();
    if any_account && OPENAI_RESOURCES.contains(&first) {
        return Err(no_route(path));
    }
    let mut parts = after_v1.splitn(3, '/');
    let account_id = parts.next().filter(|s| !s.is_empty());
    let gateway_id = parts.next().filter(|s| !s.is_empty());
    let (Some(account_id), Some(gateway_id)) = (account_id, gateway_id) else {
        return Err(no_route(path));
    };
    let rest = parts.next();
    let endpoint = match (method, rest) {
        (Method::Post, None) => Endpoint::Universal,
        (_, None) => return Err(no_route(path)),
        (_, Some(rest)) => gateway_endpoint(method, rest).ok_or_else(|| no_route(path))?,
    };
    Ok(Route {
        account_id: Some(account_id),
        gateway_id,
        endpoint,
    })
}

/// The part after `/v1/{account}/{gateway}/`.
fn gateway_endpoint<'a>(method: &Method, rest: &'a str) -> Option<Endpoint<'a>> {
    if let Some(compat) = rest.strip_prefix("compat/") {
        // Anthropic's SDK keeps its own `/v1` after the base URL.
        let compat = match compat.strip_prefix("v1/") {
            Some(anthropic) if anthropic.starts_with("messages") => anthropic,
            _ => compat,
        };
        return compat_endpoint(method, compat);
    }
    let (provider, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if provider.is_empty() || provider == "compat" {
        return None;
    }
    Some(Endpoint::Native {
        provider,
        rest: tail,
    })
}

/// Refuses a provider-native path that could leave the provider's base once an upstream
/// normalises it (400 2003): a `.` or `..` segment, raw or percent-encoded, a backslash
/// or an encoded `/` or `\` that would make one, or a doubly encoded dot or separator
/// (an upstream that decodes twice). Every other path is forwarded byte for byte.
pub fn check_native_path(rest: &str) -> Result<(), GatewayError> {
    let refused = || {
        GatewayError::new(
            ErrorCode::BadRequest,
            "path has a dot segment or an encoded separator, which could leave the provider's base",
        )
    };
    for raw in rest.split('/') {
        let decoded = percent_decode(raw.as_bytes());
        if contains_encoded_special(&decoded) {
            return Err(refused());
        }
        let dot_segment = decoded
            .split(|&b| b == b'/' || b == b'\\')
            .any(|piece| piece == b"." || piece == b"..");
        if dot_segment || decoded.contains(&b'\\') {
            return Err(refused());
        }
    }
    Ok(())
}

/// `%XX` decoded once; a `%` not followed by two hex digits stays as it is.
pub fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let pair = raw
            .get(i + 1)
            .copied()
            .and_then(hex)
            .zip(raw.get(i + 2).copied().and_then(hex));
        match (raw[i], pair) {
            (b'%', Some((hi, lo))) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A dot, slash or backslash still encoded after one decoding (`%252e`).
fn contains_encoded_special(decoded: &[u8]) -> bool {
    decoded.windows(3).any(|w| {
        w[0] == b'%' && matches!(&[w[1], w[2].to_ascii_lowercase()], b"2e" | b"2f" | b"5c")
    })
}

fn no_route(path: &str) -> GatewayError {
    // The path is the client's own input; quoting it helps and holds no secret
    // (the query string, which might, was already cut off).
    GatewayError::new(ErrorCode::NoRoute, format!("no route for path {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_paths_with_dot_segments_or_encoded_separators_are_refused() {
        for bad in [
            "/../x",
            "/a/../../x",
            "/..",
            "/./x",
            "/%2e%2e/x",
            "/%2E%2e/x",
            "/.%2e/x",
            "/%2e/x",
            "/..%2fx",
            "/..%2Fx",
            "/a%2f..%2f..%2fx",
            "/..%5cx",
            "/..\\x",
            "/a\\b",
            "/%252e%252e/x",
            "/a%252fb",
        ] {
            let err = check_native_path(bad).unwrap_err();
            assert_eq!(
                (err.status, err.code),
                (400, ErrorCode::BadRequest),
                "{bad}"
            );
        }
        for good in [
            "",
            "/chat/completions",
            "/models/gemini-2.5-flash:generateContent",
            "/run/@cf/meta/llama-3-8b",
            "/v1/files/file-abc.jsonl",
            "/a..b/c.",
            "/...",
            "/x%20y",
            "/100%",
            "/a//b",
        ] {
            assert!(check_native_path(good).is_ok(), "{good}");
        }
    }

    fn ok(method: Method, path: &str) -> Route<'_> {
        route(&method, path, true).unwrap()
    }

    #[test]
    fn aliases_belong_to_default() {
        let r = ok(Method::Post, "/v1/chat/completions");
        assert_eq!(r.gateway_id, "default");
        assert_eq!(r.account_id, None);
        assert_eq!(r.endpoint, Endpoint::CompatChat);
        assert_eq!(
            ok(Method::Post, "/v1/embeddings").endpoint,
            Endpoint::CompatEmbeddings
        );
        assert_eq!(
            ok(Method::Get, "/v1/models").endpoint,
            Endpoint::CompatModels
        );
        assert_eq!(
            ok(Method::Post, "/v1/messages").endpoint,
            Endpoint::CompatMessages
        );
    }

    #[test]
    fn compat_under_a_gateway() {
        let r = ok(Method::Post, "/v1/acct/my-gw/compat/chat/completions");
        assert_eq!(r.account_id, Some("acct"));
        assert_eq!(r.gateway_id, "my-gw");
        assert_eq!(r.endpoint, Endpoint::CompatChat);
        let r = ok(Method::Get, "/v1/acct/gw/compat/models");
        assert_eq!(r.endpoint, Endpoint::CompatModels);
        let r = ok(Method::Post, "/v1/acct/gw/compat/v1/messages");
        assert_eq!(r.endpoint, Endpoint::CompatMessages);
    }

    #[test]
    fn native_keeps_the_rest_of_the_path() {
        let r = ok(Method::Post, "/v1/a/g/openai/v1/chat/completions");
        assert_eq!(
            r.endpoint,
            Endpoint::Native {
                provider: "openai",
                rest: "/v1/chat/completions"
            }
        );
        let r = ok(Method::Delete, "/v1/a/g/openai/files/f1");
        assert_eq!(
            r.endpoint,
            Endpoint::Native {
                provider: "openai",
                rest: "/files/f1"
            }
        );
        let r = ok(Method::Get, "/v1/a/g/openai");
        assert_eq!(
            r.endpoint,
            Endpoint::Native {
                provider: "openai",
                rest: ""
            }
        );
    }

    #[test]
    fn openai_path_names_come_before_account_and_gateway_when_any_account_goes() {
        for (m, p) in [
            (Method::Post, "/v1/audio/voices"),
            (Method::Get, "/v1/audio/speech"),
            (Method::Post, "/v1/messages/batches"),
            (Method::Post, "/v1/images/edits"),
            (Method::Get, "/v1/files/file-1"),
            (Method::Delete, "/v1/responses/resp_1"),
            (Method::Get, "/v1/responses/resp_1/input_items"),
        ] {
            let e = route(&m, p, true).unwrap_err();
            assert_eq!(e.code, ErrorCode::NoRoute, "{p}");
            assert!(e.message.contains(p), "{}", e.message);
        }
        // With a named account, such a path is that account's gateway.
        let r = route(&Method::Post, "/v1/audio/voices", false).unwrap();
        assert_eq!((r.account_id, r.gateway_id), (Some("audio"), "voices"));
        assert_eq!(
            ok(Method::Get, "/v1/models/openai/gpt-4o").endpoint,
            Endpoint::CompatModel("openai/gpt-4o")
        );
        assert_eq!(
            ok(Method::Get, "/v1/a/g/compat/models/openai%2Fgpt-4o").endpoint,
            Endpoint::CompatModel("openai%2Fgpt-4o")
        );
    }

    #[test]
    fn responses_and_model_bearing_openai_paths_are_model_routed() {
        for prefix in ["/v1/", "/v1/a/g/compat/"] {
            let at = |m: Method, p: &str, want: Endpoint<'_>| {
                let path = format!("{prefix}{p}");
                assert_eq!(ok(m, &path).endpoint, want, "{path}");
            };
            at(Method::Post, "responses", Endpoint::CompatResponses);
            at(
                Method::Get,
                "responses/resp_1",
                Endpoint::CompatResponse("resp_1"),
            );
            for suffix in MODEL_BEARING {
                let path = suffix.trim_start_matches('/');
                at(Method::Post, path, Endpoint::CompatOpenAi(suffix));
            }
        }
        assert!(route(&Method::Get, "/v1/a/g/compat/completions", true).is_err());
        assert!(route(&Method::Post, "/v1/a/g/compat/v1/completions", true).is_err());
    }

    #[test]
    fn universal_is_a_post_to_the_gateway() {
        assert_eq!(ok(Method::Post, "/v1/a/g").endpoint, Endpoint::Universal);
        assert!(route(&Method::Get, "/v1/a/g", true).is_err());
    }

    #[test]
    fn unknown_paths_are_2002() {
        for (m, p) in [
            (Method::Get, "/"),
            (Method::Get, "/v2/chat/completions"),
            (Method::Get, "/v1/chat/completions"),
            (Method::Post, "/v1/models"),
            (Method::Post, "/v1/a"),
            (Method::Post, "/v1//g/openai/x"),
            (Method::Get, "/v1/a/g/compat/chat/completions"),
            (Method::Post, "/v1/a/g/compat/unknown"),
            (Method::Post, "/v1/a/g/compat"),
        ] {
            let e = route(&m, p, true).unwrap_err();
            assert_eq!(e.code, ErrorCode::NoRoute, "{m:?} {p}");
            assert_eq!(e.status, 404);
        }
    }
}
