//! Unit tests of `redact`: the header-name rule, the Universal body's stored copy
//! (valid JSON, every other byte kept) and the scrubbing of quoted values.

use super::*;

fn redacted(body: &str) -> Option<String> {
    let mut out = Vec::new();
    universal_body(body.as_bytes(), &mut out).then(|| String::from_utf8(out).unwrap())
}

#[test]
fn credential_header_names() {
    for name in [
        "Authorization",
        "proxy-authorization",
        "X-API-Key",
        "api-key",
        "x-goog-api-key",
        "cf-aig-authorization",
        "Cookie",
        "set-cookie",
        "x-my-token",
        "X-Client-Secret",
        "openai-keyring",
        "x-amz-security-token",
        "x-password",
    ] {
        assert!(is_credential_header(name), "{name}");
    }
    for name in [
        "content-type",
        "user-agent",
        "anthropic-version",
        "cf-aig-byok-alias",
        "x-request-id",
    ] {
        assert!(!is_credential_header(name), "{name}");
    }
}

#[test]
fn every_provider_auth_header_is_a_credential() {
    for provider in crate::providers::builtin_providers() {
        assert!(
            is_credential_header(provider.auth.header_name()),
            "{}",
            provider.slug
        );
    }
}

#[test]
fn step_credentials_are_replaced_and_the_rest_kept() {
    let body = r#"[ {"provider":"openai","endpoint":"chat/completions",
        "headers":{"Authorization":"Bearer sk-1","content-type":"application/json","x-api-key":"k2"},
        "query":{"model":"m","max_tokens":5,"headers":{"authorization":"in query"}}},
      {"provider":"b","headers":{"cf-aig-authorization":"Bearer t3"},"query":{}} ]"#;
    let expected = body
        .replace("\"Bearer sk-1\"", "\"[redacted]\"")
        .replace("\"k2\"", "\"[redacted]\"")
        .replace("\"Bearer t3\"", "\"[redacted]\"");
    assert_eq!(redacted(body).as_deref(), Some(expected.as_str()));
    // The query is the upstream body, never a step's headers: its members stay.
    assert!(expected.contains("in query"));
}

#[test]
fn duplicates_escapes_and_odd_shapes_are_all_hidden() {
    let body = r#"[{"headers":{"authorization":"a1","authorization":"a2","x-\u006bey":{"v":"a3"}},
        "headers":{"cookie":["a4"]}},{"headers":"Bearer a5"},7,"text",{"headers":null}]"#;
    let out = redacted(body).unwrap();
    for secret in ["a1", "a2", "a3", "a4", "a5"] {
        assert!(!out.contains(secret), "{secret} in {out}");
    }
    assert!(out.contains(r#""x-\u006bey":"[redacted]""#), "{out}");
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The last of two `headers` members is the one a JSON parser keeps.
    assert_eq!(parsed[0]["headers"]["cookie"], "[redacted]");
    assert_eq!(parsed[2], 7);
    assert_eq!(parsed[4]["headers"], "[redacted]");
}

#[test]
fn a_single_object_is_redacted_and_bad_json_not_stored() {
    assert_eq!(
        redacted(r#"{"headers":{"authorization":"x"}}"#).as_deref(),
        Some(r#"{"headers":{"authorization":"[redacted]"}}"#)
    );
    assert_eq!(redacted(r#"[{"headers":{"authorization":"x"}"#), None);
    assert_eq!(redacted("\u{0}"), None);
    let mut out = Vec::new();
    assert!(!universal_body(b"[\xff]", &mut out));
    assert!(out.is_empty());
}

#[test]
fn scrub_hides_quoted_strings_and_variants() {
    assert_eq!(
        scrub_quoted("invalid type: string \"a\\\"b sk\", expected a map at line 1"),
        "invalid type: a string, expected a map at line 1"
    );
    assert_eq!(
        scrub_quoted("unknown variant `sk-1`, expected one of `constant`, `linear`"),
        "unknown variant [redacted], expected one of `constant`, `linear`"
    );
    assert_eq!(scrub_quoted("string \"unterminated"), "a string");
    assert_eq!(
        scrub_quoted("unknown variant `open"),
        "unknown variant [redacted]"
    );
    assert_eq!(
        scrub_quoted("missing field `query`"),
        "missing field `query`"
    );
}
