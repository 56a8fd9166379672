//! Cache keys: SHA-256 over everything that decides an upstream's answer (the default key)
//! or over the gateway id and a client's `cf-aig-cache-key` (a custom key).

use sha2::{Digest, Sha256};

/// A cache key: a SHA-256 digest, so it is fixed-size, spreads evenly over cache shards,
/// and holds no secret in the clear (the credential is one of its inputs).
pub type CacheKey = [u8; 32];

/// Domain tags: a default key and a custom key never hash the same input stream, so a
/// client cannot pick a custom key that lands on another request's default entry.
const DEFAULT_KEY_TAG: &[u8] = b"sluice-cache-default-v1";
const CUSTOM_KEY_TAG: &[u8] = b"sluice-cache-custom-v1";

/// The inputs of a default key. Two requests share an entry only if all of them match.
#[derive(Debug, Clone, Copy)]
pub struct DefaultKeyParts<'a> {
    /// Keeps gateways apart, since their caches may differ in TTL and in who may read them.
    pub gateway_id: &'a str,
    /// The provider's slug.
    pub provider: &'a str,
    /// The upstream path, query string included (it can change the answer).
    pub upstream_path: &'a str,
    /// The model as sent upstream.
    pub model: &'a [u8],
    /// The provider credential used upstream: requests under different keys (tenants)
    /// never read each other's answers.
    pub credential: &'a [u8],
    /// The whole request body as sent upstream.
    pub body: &'a [u8],
}

/// The default key of a request (SHA-256 over its parts, each prefixed by its length).
pub fn default_key(parts: &DefaultKeyParts<'_>) -> CacheKey {
    let mut hasher = Sha256::new();
    hasher.update(DEFAULT_KEY_TAG);
    for field in [
        parts.gateway_id.as_bytes(),
        parts.provider.as_bytes(),
        parts.upstream_path.as_bytes(),
        parts.model,
        parts.credential,
        parts.body,
    ] {
        update_prefixed(&mut hasher, field);
    }
    hasher.finalize().into()
}

/// The key of a request with `cf-aig-cache-key`: per gateway, independent of the body,
/// so two different bodies under one custom key share an entry (SPEC section 9).
pub fn custom_key(gateway_id: &str, custom: &str) -> CacheKey {
    let mut hasher = Sha256::new();
    hasher.update(CUSTOM_KEY_TAG);
    update_prefixed(&mut hasher, gateway_id.as_bytes());
    update_prefixed(&mut hasher, custom.as_bytes());
    hasher.finalize().into()
}

/// A field's length (8 bytes, little-endian) before its bytes: without it `("ab", "c")`
/// and `("a", "bc")` would hash the same stream.
fn update_prefixed(hasher: &mut Sha256, field: &[u8]) {
    // usize is at most 64 bits on every supported target, so the length never truncates.
    hasher.update((field.len() as u64).to_le_bytes());
    hasher.update(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> DefaultKeyParts<'static> {
        DefaultKeyParts {
            gateway_id: "default",
            provider: "openai",
            upstream_path: "/v1/chat/completions",
            model: b"gpt-4o-mini",
            credential: b"sk-test-1",
            body: br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#,
        }
    }

    #[test]
    fn same_parts_same_key() {
        assert_eq!(default_key(&parts()), default_key(&parts()));
    }

    #[test]
    fn known_answer_for_an_empty_custom_key_stream() {
        // Recomputed independently: SHA-256 of the tag, then two length-prefixed fields.
        let mut stream = CUSTOM_KEY_TAG.to_vec();
        stream.extend_from_slice(&2u64.to_le_bytes());
        stream.extend_from_slice(b"gw");
        stream.extend_from_slice(&1u64.to_le_bytes());
        stream.extend_from_slice(b"k");
        let expected: CacheKey = Sha256::digest(&stream).into();
        assert_eq!(custom_key("gw", "k"), expected);
    }

    #[test]
    fn every_part_changes_the_key() {
        let base = default_key(&parts());
        let variants = [
            DefaultKeyParts {
                gateway_id: "other",
                ..parts()
            },
            DefaultKeyParts {
                provider: "groq",
                ..parts()
            },
            DefaultKeyParts {
                upstream_path: "/v1/embeddings",
                ..parts()
            },
            DefaultKeyParts {
                model: b"gpt-4o",
                ..parts()
            },
            DefaultKeyParts {
                credential: b"sk-test-2",
                ..parts()
            },
            DefaultKeyParts {
                body: b"{}",
                ..parts()
            },
        ];
        for variant in variants {
            assert_ne!(default_key(&variant), base, "{variant:?}");
        }
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        let a = DefaultKeyParts {
            provider: "open",
            upstream_path: "ai/chat",
            ..parts()
        };
        let b = DefaultKeyParts {
            provider: "openai",
            upstream_path: "/chat",
            ..parts()
        };
        let c = DefaultKeyParts {
            provider: "opena",
            upstream_path: "i/chat",
            ..parts()
        };
        assert_ne!(default_key(&a), default_key(&b));
        assert_ne!(default_key(&a), default_key(&c));
        let d = DefaultKeyParts {
            credential: b"sk-1",
            body: b"{}",
            ..parts()
        };
        let e = DefaultKeyParts {
            credential: b"sk-1{",
            body: b"}",
            ..parts()
        };
        assert_ne!(default_key(&d), default_key(&e));
        assert_ne!(custom_key("gw", "ab"), custom_key("gwa", "b"));
    }

    #[test]
    fn custom_key_is_per_gateway_and_body_independent() {
        assert_eq!(
            custom_key("default", "greeting"),
            custom_key("default", "greeting")
        );
        assert_ne!(
            custom_key("default", "greeting"),
            custom_key("team-b", "greeting")
        );
        assert_ne!(
            custom_key("default", "greeting"),
            custom_key("default", "farewell")
        );
    }

    #[test]
    fn custom_and_default_keys_live_apart() {
        // Same field bytes in both streams: only the domain tag separates them.
        let same_fields = DefaultKeyParts {
            gateway_id: "gw",
            provider: "",
            upstream_path: "",
            model: b"",
            credential: b"",
            body: b"",
        };
        assert_ne!(default_key(&same_fields), custom_key("gw", ""));
    }
}
