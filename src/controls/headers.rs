//! Parsing of the per-request `cf-aig-*` control headers (cache, timeout, retry) into a typed
//! `RequestControls`; a bad value is an error naming the header (SPEC sections 6 and 9).

use crate::config::{Backoff, REQUEST_TIMEOUT_MAX_MS};
use std::time::Duration;

/// Cache TTL in seconds for this request's answer.
pub const CACHE_TTL: &str = "cf-aig-cache-ttl";
/// `true`: neither look up nor store this request.
pub const SKIP_CACHE: &str = "cf-aig-skip-cache";
/// A cache key of the client's choosing instead of the request's digest.
pub const CACHE_KEY: &str = "cf-aig-cache-key";
/// Time to the first response byte, in milliseconds.
pub const REQUEST_TIMEOUT: &str = "cf-aig-request-timeout";
/// Attempts in all for this request (1 to 5).
pub const MAX_ATTEMPTS: &str = "cf-aig-max-attempts";
/// Wait before a retry, in milliseconds.
pub const RETRY_DELAY: &str = "cf-aig-retry-delay";
/// `constant`, `linear` or `exponential` growth of the retry wait.
pub const BACKOFF: &str = "cf-aig-backoff";

/// Bounds of the hosted service: a cache TTL header takes 60 s to 30 days.
const CACHE_TTL_RANGE_S: std::ops::RangeInclusive<u64> = 60..=2_592_000;
const CACHE_KEY_MAX_BYTES: usize = 1024;
const MAX_ATTEMPTS_RANGE: std::ops::RangeInclusive<u64> = 1..=5;
const RETRY_DELAY_MAX_MS: u64 = 60_000;

/// What the control headers of one request ask for; `None` where a header is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestControls {
    /// `cf-aig-cache-ttl`.
    pub cache_ttl: Option<Duration>,
    /// `cf-aig-skip-cache`.
    pub skip_cache: Option<bool>,
    /// `cf-aig-cache-key`.
    pub cache_key: Option<String>,
    /// `cf-aig-request-timeout`.
    pub request_timeout: Option<Duration>,
    /// `cf-aig-max-attempts`.
    pub max_attempts: Option<u32>,
    /// `cf-aig-retry-delay`.
    pub retry_delay: Option<Duration>,
    /// `cf-aig-backoff`.
    pub backoff: Option<Backoff>,
}

/// A control header with a value outside its syntax or bounds. The lead answers it with
/// 400, code 2003, and this `Display` text as the message. The value itself is not quoted,
/// so nothing a client sent (it may paste a secret in the wrong header) reaches a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid {header} header: expected {expected}")]
pub struct BadControlHeader {
    /// The header's name, lowercase.
    pub header: &'static str,
    /// What the header accepts.
    pub expected: &'static str,
}

impl RequestControls {
    /// Reads every control header through `lookup` (a case-insensitive header lookup
    /// returning the raw value). The first bad header, in the order of the fields, is the error.
    pub fn from_headers<'a>(
        lookup: impl Fn(&str) -> Option<&'a [u8]>,
    ) -> Result<RequestControls, BadControlHeader> {
        let cache_ttl = lookup(CACHE_TTL)
            .map(|v| {
                let expected = "whole seconds from 60 to 2592000";
                parse_in_range(v, CACHE_TTL_RANGE_S, CACHE_TTL, expected).map(Duration::from_secs)
            })
            .transpose()?;
        let skip_cache = lookup(SKIP_CACHE)
            .map(|v| parse_bool(v, SKIP_CACHE))
            .transpose()?;
        let cache_key = lookup(CACHE_KEY).map(parse_cache_key).transpose()?;
        let request_timeout = lookup(REQUEST_TIMEOUT)
            .map(|v| {
                let expected = "milliseconds from 1 to 86400000";
                parse_in_range(v, 1..=REQUEST_TIMEOUT_MAX_MS, REQUEST_TIMEOUT, expected)
                    .map(Duration::from_millis)
            })
            .transpose()?;
        let max_attempts = lookup(MAX_ATTEMPTS)
            .map(|v| {
                let expected = "a whole number from 1 to 5";
                parse_in_range(v, MAX_ATTEMPTS_RANGE, MAX_ATTEMPTS, expected)
                    .and_then(|n| u32::try_from(n).map_err(|_| bad(MAX_ATTEMPTS, expected)))
            })
            .transpose()?;
        let retry_delay = lookup(RETRY_DELAY)
            .map(|v| {
                let expected = "milliseconds from 0 to 60000";
                parse_in_range(v, 0..=RETRY_DELAY_MAX_MS, RETRY_DELAY, expected)
                    .map(Duration::from_millis)
            })
            .transpose()?;
        let backoff = lookup(BACKOFF).map(parse_backoff).transpose()?;
        Ok(RequestControls {
            cache_ttl,
            skip_cache,
            cache_key,
            request_timeout,
            max_attempts,
            retry_delay,
            backoff,
        })
    }
}

fn bad(header: &'static str, expected: &'static str) -> BadControlHeader {
    BadControlHeader { header, expected }
}

/// A field value without the optional whitespace around it (RFC 9110 §5.5: OWS is not
/// part of the value), so `" 120"` is 120 whatever the HTTP parser left in place.
fn trim_ows(value: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    value.get(start..end).unwrap_or_default()
}

/// ASCII digits only: no sign, no fraction, no exponent; overflow is an error.
fn parse_u64(value: &[u8]) -> Option<u64> {
    let digits = trim_ows(value);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

fn parse_in_range(
    value: &[u8],
    range: std::ops::RangeInclusive<u64>,
    header: &'static str,
    expected: &'static str,
) -> Result<u64, BadControlHeader> {
    parse_u64(value)
        .filter(|n| range.contains(n))
        .ok_or(bad(header, expected))
}

/// Exactly `true` or `false` (SPEC section 9), not `1`, `yes` or `TRUE`. Every boolean
/// `cf-aig-*` header is read through this.
pub fn parse_bool(value: &[u8], header: &'static str) -> Result<bool, BadControlHeader> {
    match trim_ows(value) {
        b"true" => Ok(true),
        b"false" => Ok(false),
        _ => Err(bad(header, "`true` or `false`")),
    }
}

fn parse_cache_key(value: &[u8]) -> Result<String, BadControlHeader> {
    let expected = "a non-empty UTF-8 string of at most 1024 bytes";
    let key = trim_ows(value);
    if key.is_empty() || key.len() > CACHE_KEY_MAX_BYTES {
        return Err(bad(CACHE_KEY, expected));
    }
    std::str::from_utf8(key)
        .map(str::to_owned)
        .map_err(|_| bad(CACHE_KEY, expected))
}

/// The names of `retry.backoff` in the config, written the same way (lowercase).
fn parse_backoff(value: &[u8]) -> Result<Backoff, BadControlHeader> {
    match trim_ows(value) {
        b"constant" => Ok(Backoff::Constant),
        b"linear" => Ok(Backoff::Linear),
        b"exponential" => Ok(Backoff::Exponential),
        _ => Err(bad(BACKOFF, "`constant`, `linear` or `exponential`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(headers: &[(&str, &[u8])]) -> Result<RequestControls, BadControlHeader> {
        RequestControls::from_headers(|name| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        })
    }

    fn error_header(headers: &[(&str, &[u8])]) -> &'static str {
        match parse(headers) {
            Err(e) => e.header,
            Ok(c) => panic!("expected an error for {headers:?}, got {c:?}"),
        }
    }

    #[test]
    fn no_headers_means_no_overrides() {
        assert_eq!(parse(&[]), Ok(RequestControls::default()));
    }

    #[test]
    fn every_header_parsed() {
        let controls = parse(&[
            ("cf-aig-cache-ttl", b"3600"),
            ("cf-aig-skip-cache", b"false"),
            ("cf-aig-cache-key", b"user-42/greeting"),
            ("cf-aig-request-timeout", b"1500"),
            ("cf-aig-max-attempts", b"3"),
            ("cf-aig-retry-delay", b"250"),
            ("cf-aig-backoff", b"exponential"),
        ]);
        assert_eq!(
            controls,
            Ok(RequestControls {
                cache_ttl: Some(Duration::from_secs(3600)),
                skip_cache: Some(false),
                cache_key: Some("user-42/greeting".into()),
                request_timeout: Some(Duration::from_millis(1500)),
                max_attempts: Some(3),
                retry_delay: Some(Duration::from_millis(250)),
                backoff: Some(Backoff::Exponential),
            })
        );
    }

    #[test]
    fn cache_ttl_bounds() {
        for ok in [&b"60"[..], b"2592000", b" 120 ", b"0000060"] {
            assert!(parse(&[(CACHE_TTL, ok)]).is_ok(), "{ok:?}");
        }
        for bad in [
            &b"59"[..],
            b"2592001",
            b"0",
            b"",
            b"-60",
            b"+60",
            b"60.0",
            b"6e2",
            b"sixty",
            b"99999999999999999999999",
        ] {
            assert_eq!(error_header(&[(CACHE_TTL, bad)]), CACHE_TTL, "{bad:?}");
        }
    }

    #[test]
    fn booleans_take_exactly_true_or_false() {
        assert_eq!(
            parse(&[(SKIP_CACHE, b"true")]).map(|c| c.skip_cache),
            Ok(Some(true))
        );
        for bad in [&b"TRUE"[..], b"True", b"1", b"yes", b"", b"truee"] {
            assert_eq!(error_header(&[(SKIP_CACHE, bad)]), SKIP_CACHE, "{bad:?}");
        }
    }

    #[test]
    fn cache_key_bounds() {
        let longest = vec![b'k'; 1024];
        assert_eq!(
            parse(&[(CACHE_KEY, &longest)]).map(|c| c.cache_key.map(|k| k.len())),
            Ok(Some(1024))
        );
        let too_long = vec![b'k'; 1025];
        for bad in [&too_long[..], b"", b"   ", b"\xff\xfe"] {
            assert_eq!(error_header(&[(CACHE_KEY, bad)]), CACHE_KEY);
        }
    }

    #[test]
    fn request_timeout_is_from_a_millisecond_to_a_day() {
        assert_eq!(
            parse(&[(REQUEST_TIMEOUT, b"86400000")]).map(|c| c.request_timeout),
            Ok(Some(Duration::from_millis(86_400_000)))
        );
        // Years overflow a worker's timer: refused, never scheduled.
        for bad in [
            &b"0"[..],
            b"-1",
            b"1s",
            b"86400001",
            b"18446744073709551615",
        ] {
            assert_eq!(error_header(&[(REQUEST_TIMEOUT, bad)]), REQUEST_TIMEOUT);
        }
    }

    #[test]
    fn retry_bounds() {
        assert!(parse(&[(MAX_ATTEMPTS, b"1"), (RETRY_DELAY, b"0")]).is_ok());
        assert!(parse(&[(MAX_ATTEMPTS, b"5"), (RETRY_DELAY, b"60000")]).is_ok());
        for bad in [&b"0"[..], b"6", b"4294967297"] {
            assert_eq!(error_header(&[(MAX_ATTEMPTS, bad)]), MAX_ATTEMPTS);
        }
        for bad in [&b"60001"[..], b"-1", b"1.5"] {
            assert_eq!(error_header(&[(RETRY_DELAY, bad)]), RETRY_DELAY);
        }
    }

    #[test]
    fn backoff_names() {
        for (value, expected) in [
            (&b"constant"[..], Backoff::Constant),
            (b"linear", Backoff::Linear),
            (b"exponential", Backoff::Exponential),
        ] {
            assert_eq!(
                parse(&[(BACKOFF, value)]).map(|c| c.backoff),
                Ok(Some(expected))
            );
        }
        for bad in [&b"Linear"[..], b"quadratic", b""] {
            assert_eq!(error_header(&[(BACKOFF, bad)]), BACKOFF);
        }
    }

    #[test]
    fn message_names_the_header_but_not_the_value() {
        let err = parse(&[(SKIP_CACHE, b"sk-secret")]).err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            message,
            "invalid cf-aig-skip-cache header: expected `true` or `false`"
        );
        assert!(!message.contains("sk-secret"));
    }

    #[test]
    fn every_control_header_is_asked_for_once_by_its_lowercase_name() {
        let asked = std::cell::RefCell::new(Vec::new());
        let parsed = RequestControls::from_headers(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        });
        assert_eq!(parsed, Ok(RequestControls::default()));
        let expected = [
            CACHE_TTL,
            SKIP_CACHE,
            CACHE_KEY,
            REQUEST_TIMEOUT,
            MAX_ATTEMPTS,
            RETRY_DELAY,
            BACKOFF,
        ];
        assert_eq!(asked.into_inner(), expected);
    }
}
