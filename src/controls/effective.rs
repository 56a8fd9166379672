//! The settings one request runs under: its control headers merged over its gateway's
//! config (cache on or off and for how long, retry policy, time to first byte).

use super::backoff::RetryPolicy;
use super::headers::RequestControls;
use crate::config::GatewayConfig;
use std::time::Duration;

/// TTL of a request that opts into the cache (with `cf-aig-cache-key`) on a gateway whose
/// cache is off and that names no TTL: the hosted service's default cache TTL.
pub const OPT_IN_CACHE_TTL: Duration = Duration::from_secs(300);

/// Caching for one request: look it up, and store a cacheable answer for `ttl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePolicy {
    /// How long a stored answer stays fresh.
    pub ttl: Duration,
    /// `cf-aig-cache-key`: replaces the default key (`cache_key::custom_key`).
    pub custom_key: Option<String>,
}

/// The merged settings. Each header overrides its config value for this request only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// `None`: neither look up nor store.
    pub cache: Option<CachePolicy>,
    /// Retries of a failed attempt.
    pub retry: RetryPolicy,
    /// Time to the first response byte; `None`: no limit.
    pub request_timeout: Option<Duration>,
}

impl Effective {
    /// Merges `request`'s headers over `gateway`'s config:
    /// - `cf-aig-skip-cache: true` turns the cache off, whatever else is sent;
    /// - otherwise the TTL is the `cf-aig-cache-ttl` header, else the gateway's `cache_ttl_s`;
    ///   a TTL header or a `cf-aig-cache-key` opts the request in on a gateway whose cache
    ///   is off (a key alone then gets `OPT_IN_CACHE_TTL`), as a per-request setting does in
    ///   the hosted service;
    /// - retry fields and the timeout replace the config's one by one;
    ///   `request_timeout_ms = 0` in the config means no timeout.
    pub fn merge(gateway: &GatewayConfig, request: RequestControls) -> Effective {
        let RequestControls {
            cache_ttl,
            skip_cache,
            cache_key,
            request_timeout,
            max_attempts,
            retry_delay,
            backoff,
        } = request;

        let cache = if skip_cache == Some(true) {
            None
        } else {
            let gateway_ttl =
                Some(Duration::from_secs(gateway.cache_ttl_s)).filter(|t| !t.is_zero());
            let opt_in_ttl = cache_key.as_ref().map(|_| OPT_IN_CACHE_TTL);
            cache_ttl
                .or(gateway_ttl)
                .or(opt_in_ttl)
                .map(|ttl| CachePolicy {
                    ttl,
                    custom_key: cache_key,
                })
        };

        let configured = RetryPolicy::from_config(&gateway.retry);
        let retry = RetryPolicy {
            max_attempts: max_attempts.unwrap_or(configured.max_attempts),
            delay: retry_delay.unwrap_or(configured.delay),
            backoff: backoff.unwrap_or(configured.backoff),
        };

        let configured_timeout =
            Some(Duration::from_millis(gateway.request_timeout_ms)).filter(|t| !t.is_zero());
        Effective {
            cache,
            retry,
            request_timeout: request_timeout.or(configured_timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Backoff, RetryConfig};

    fn gateway(cache_ttl_s: u64) -> GatewayConfig {
        GatewayConfig {
            cache_ttl_s,
            ..GatewayConfig::default()
        }
    }

    fn with_key(key: &str) -> RequestControls {
        RequestControls {
            cache_key: Some(key.into()),
            ..RequestControls::default()
        }
    }

    #[test]
    fn defaults_cache_off_one_attempt_no_timeout() {
        let effective = Effective::merge(&gateway(0), RequestControls::default());
        assert_eq!(
            effective,
            Effective {
                cache: None,
                retry: RetryPolicy::NONE,
                request_timeout: None,
            }
        );
    }

    #[test]
    fn gateway_ttl_turns_the_cache_on() {
        let effective = Effective::merge(&gateway(30), RequestControls::default());
        assert_eq!(
            effective.cache,
            Some(CachePolicy {
                ttl: Duration::from_secs(30),
                custom_key: None
            })
        );
    }

    #[test]
    fn ttl_header_overrides_the_gateway_and_opts_in() {
        let request = RequestControls {
            cache_ttl: Some(Duration::from_secs(90)),
            ..RequestControls::default()
        };
        for ttl_s in [0, 30] {
            let effective = Effective::merge(&gateway(ttl_s), request.clone());
            assert_eq!(
                effective.cache.map(|c| c.ttl),
                Some(Duration::from_secs(90))
            );
        }
    }

    #[test]
    fn custom_key_opts_in_with_default_ttl_when_cache_is_off() {
        let effective = Effective::merge(&gateway(0), with_key("k1"));
        assert_eq!(
            effective.cache,
            Some(CachePolicy {
                ttl: OPT_IN_CACHE_TTL,
                custom_key: Some("k1".into())
            })
        );
    }

    #[test]
    fn custom_key_keeps_the_gateway_or_header_ttl() {
        let on_gateway = Effective::merge(&gateway(45), with_key("k1"));
        assert_eq!(
            on_gateway.cache.map(|c| c.ttl),
            Some(Duration::from_secs(45))
        );
        let with_header = RequestControls {
            cache_ttl: Some(Duration::from_secs(600)),
            ..with_key("k1")
        };
        let effective = Effective::merge(&gateway(0), with_header);
        assert_eq!(
            effective.cache.map(|c| c.ttl),
            Some(Duration::from_secs(600))
        );
    }

    #[test]
    fn skip_cache_wins_over_everything() {
        let request = RequestControls {
            skip_cache: Some(true),
            cache_ttl: Some(Duration::from_secs(90)),
            ..with_key("k1")
        };
        assert_eq!(Effective::merge(&gateway(30), request).cache, None);
        let not_skipped = RequestControls {
            skip_cache: Some(false),
            ..RequestControls::default()
        };
        assert!(Effective::merge(&gateway(30), not_skipped).cache.is_some());
    }

    #[test]
    fn retry_headers_replace_config_fields_one_by_one() {
        let config = GatewayConfig {
            retry: RetryConfig {
                max_attempts: 3,
                delay_ms: 100,
                backoff: Backoff::Linear,
            },
            ..GatewayConfig::default()
        };
        let only_backoff = RequestControls {
            backoff: Some(Backoff::Exponential),
            ..RequestControls::default()
        };
        assert_eq!(
            Effective::merge(&config, only_backoff).retry,
            RetryPolicy {
                max_attempts: 3,
                delay: Duration::from_millis(100),
                backoff: Backoff::Exponential,
            }
        );
        let all = RequestControls {
            max_attempts: Some(5),
            retry_delay: Some(Duration::ZERO),
            backoff: Some(Backoff::Constant),
            ..RequestControls::default()
        };
        assert_eq!(
            Effective::merge(&config, all).retry,
            RetryPolicy {
                max_attempts: 5,
                delay: Duration::ZERO,
                backoff: Backoff::Constant,
            }
        );
    }

    #[test]
    fn timeout_from_header_else_config() {
        let config = GatewayConfig {
            request_timeout_ms: 2000,
            ..GatewayConfig::default()
        };
        let none = Effective::merge(&config, RequestControls::default());
        assert_eq!(none.request_timeout, Some(Duration::from_millis(2000)));
        let header = RequestControls {
            request_timeout: Some(Duration::from_millis(50)),
            ..RequestControls::default()
        };
        let effective = Effective::merge(&config, header);
        assert_eq!(effective.request_timeout, Some(Duration::from_millis(50)));
    }
}
