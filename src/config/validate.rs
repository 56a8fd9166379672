//! Checks on a deserialised `ConfigFile` (each error names its key path) and its
//! resolution into the `Settings` snapshot: parsed addresses, gateways, providers.

use super::memory::{default_body_budget, physical_memory};
use super::providers::resolve_providers;
use super::{did_you_mean, ConfigError, ConfigFile, Settings};
use super::{ServerConfig, UpstreamConfig};
use crate::observe::{PriceError, PriceTable};
use crate::providers::Provider;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

/// The longest any configured timer may run. monoio panics on a deadline too far in the
/// future, so every duration is bounded at load; a year is "never" for a gateway.
pub const MAX_DURATION_S: u64 = 365 * 24 * 3600;

/// Validates `file` and builds the snapshot workers use.
pub(super) fn resolve(mut file: ConfigFile, base: &Path) -> Result<Settings, ConfigError> {
    let (listen, admin_listen) = check_server(&file.server)?;
    file.server.max_buffered_body_bytes = body_budget(&file.server)?;
    check_upstream(&file.upstream)?;
    let providers = resolve_providers(&file.provider)?;
    let gateways = super::gateways::resolve_gateways(file.gateway, &providers, base)?;
    check_prices(&file.price, &providers)?;
    Ok(Settings {
        server: file.server,
        upstream: file.upstream,
        gateways,
        providers,
        listen,
        admin_listen,
        prices: file.price,
    })
}

/// `[price.PROVIDER]` tables as workers will read them: a provider that exists, and
/// entries `{ in = X, out = Y }` of numbers >= 0 (else serve would drop every override).
fn check_prices(
    prices: &BTreeMap<String, toml::Table>,
    providers: &BTreeMap<String, Provider>,
) -> Result<(), ConfigError> {
    if let Some(unknown) = prices.keys().find(|slug| !providers.contains_key(*slug)) {
        let hint = did_you_mean(unknown, providers.keys().map(String::as_str));
        return Err(ConfigError::invalid(
            format!("price.{unknown}"),
            format!("no provider {unknown:?} is configured{hint}"),
        ));
    }
    PriceTable::with_overrides(prices).map_err(|e| match e {
        PriceError::BadEntry {
            provider,
            model,
            reason,
        } => ConfigError::invalid(format!("price.{provider}.\"{model}\""), reason),
        other => ConfigError::invalid("price", other),
    })?;
    Ok(())
}

/// A file the gateway reads later (TLS material): missing or unreadable is a load error.
pub(crate) fn check_readable(key: &str, file: &Path) -> Result<(), ConfigError> {
    let opened = std::fs::File::open(file).and_then(|f| f.metadata());
    match opened {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(ConfigError::invalid(
            key,
            format!("{} is not a regular file", file.display()),
        )),
        Err(err) => Err(ConfigError::invalid(
            key,
            format!("cannot open {}: {err}", file.display()),
        )),
    }
}

fn check_server(
    server: &ServerConfig,
) -> Result<(Vec<SocketAddr>, Option<SocketAddr>), ConfigError> {
    if server.listen.is_empty() {
        return Err(ConfigError::invalid(
            "server.listen",
            "at least one listen address is needed",
        ));
    }
    let listen = server
        .listen
        .iter()
        .enumerate()
        .map(|(i, addr)| parse_addr(&format!("server.listen[{i}]"), addr))
        .collect::<Result<Vec<_>, _>>()?;
    let admin_listen = match server.admin_listen.as_str() {
        "" => None,
        addr => Some(parse_addr("server.admin_listen", addr)?),
    };
    let account = &server.account_id;
    if account.is_empty() || account.contains('/') || account.chars().any(char::is_whitespace) {
        return Err(ConfigError::invalid(
            "server.account_id",
            "must be \"*\" or one path segment (no '/', no spaces)",
        ));
    }
    if let Some(i) = server.admin_tokens.iter().position(|t| t.token.is_empty()) {
        return Err(ConfigError::invalid(
            format!("server.admin_tokens[{i}].token"),
            "an admin token must not be empty",
        ));
    }
    positive("server.max_header_bytes", server.max_header_bytes as u64)?;
    positive("server.max_body_bytes", server.max_body_bytes as u64)?;
    positive("server.log_queue_entries", server.log_queue_entries as u64)?;
    at_most_a_year("server.client_idle_timeout_s", server.client_idle_timeout_s)?;
    at_most_a_year("server.shutdown_grace_s", server.shutdown_grace_s)?;
    let timers = [
        (
            "server.client_header_timeout_s",
            server.client_header_timeout_s,
        ),
        ("server.client_body_timeout_s", server.client_body_timeout_s),
        ("server.client_send_timeout_s", server.client_send_timeout_s),
    ];
    for (key, value) in timers {
        timer_s(key, value)?;
    }
    if let Some(tls) = &server.tls {
        check_readable("server.tls.cert", &tls.cert)?;
        check_readable("server.tls.key", &tls.key)?;
    }
    Ok((listen, admin_listen))
}

/// `server.max_buffered_body_bytes` resolved: 0 sizes it from the machine; a set value
/// must hold at least one largest body.
fn body_budget(server: &ServerConfig) -> Result<u64, ConfigError> {
    let max_body = server.max_body_bytes as u64;
    match server.max_buffered_body_bytes {
        0 => Ok(default_body_budget(physical_memory(), max_body)),
        set if set < max_body => Err(ConfigError::invalid(
            "server.max_buffered_body_bytes",
            format!("must be 0 (sized from memory) or at least server.max_body_bytes ({max_body})"),
        )),
        set => Ok(set),
    }
}

fn check_upstream(upstream: &UpstreamConfig) -> Result<(), ConfigError> {
    positive("upstream.connect_timeout_ms", upstream.connect_timeout_ms)?;
    at_most_a_year_ms("upstream.connect_timeout_ms", upstream.connect_timeout_ms)?;
    at_most_a_year("upstream.pool_idle_timeout_s", upstream.pool_idle_timeout_s)?;
    timer_s(
        "upstream.first_byte_timeout_s",
        upstream.first_byte_timeout_s,
    )?;
    timer_s(
        "upstream.stream_idle_timeout_s",
        upstream.stream_idle_timeout_s,
    )?;
    if let Some(file) = &upstream.ca_file {
        check_readable("upstream.ca_file", file)?;
    }
    Ok(())
}

fn parse_addr(key: &str, addr: &str) -> Result<SocketAddr, ConfigError> {
    addr.parse().map_err(|_| {
        ConfigError::invalid(
            key,
            format!("`{addr}` is not an address:port (e.g. \"127.0.0.1:8787\" or \"[::]:8787\")"),
        )
    })
}

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(key, "must be greater than 0"));
    }
    Ok(())
}

/// A timer that always runs: 1 second to a year.
fn timer_s(key: &str, value: u64) -> Result<(), ConfigError> {
    positive(key, value)?;
    at_most_a_year(key, value)
}

fn at_most_a_year(key: &str, seconds: u64) -> Result<(), ConfigError> {
    if seconds > MAX_DURATION_S {
        return Err(ConfigError::invalid(
            key,
            format!("must be at most {MAX_DURATION_S} (one year)"),
        ));
    }
    Ok(())
}

fn at_most_a_year_ms(key: &str, millis: u64) -> Result<(), ConfigError> {
    let max = MAX_DURATION_S * 1000;
    if millis > max {
        return Err(ConfigError::invalid(
            key,
            format!("must be at most {max} (one year)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_toml_str(text, "test")
    }

    fn err(text: &str) -> String {
        match load(text) {
            Ok(_) => panic!("config loaded but should not:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    fn assert_err_at(text: &str, path: &str) {
        let message = err(text);
        assert!(
            message.contains(&format!("`{path}`")),
            "expected path `{path}` in: {message}"
        );
    }

    #[test]
    fn gateway_ids() {
        assert_err_at("[[gateway]]\nid = \"has space\"", "gateway[0].id");
        assert_err_at("[[gateway]]\nid = \"\"", "gateway[0].id");
        assert_err_at(
            &format!("[[gateway]]\nid = \"{}\"", "a".repeat(65)),
            "gateway[0].id",
        );
        assert!(load(&format!("[[gateway]]\nid = \"{}\"", "a".repeat(64))).is_ok());
        assert_err_at(
            "[[gateway]]\nid = \"x\"\n[[gateway]]\nid = \"x\"",
            "gateway[1].id",
        );
        assert_err_at("[[gateway]]\n[[gateway]]", "gateway[1].id");
    }

    #[test]
    fn default_gateway_is_added_or_kept() {
        let s = load("[[gateway]]\nid = \"Team_1-a\"").unwrap();
        assert_eq!(s.gateways.len(), 2);
        assert!(s.gateway("default").is_some() && s.gateway("Team_1-a").is_some());
        assert!(s.gateway("team_1-a").is_none());

        let s = load("[[gateway]]\nid = \"default\"\ncollect_logs = false").unwrap();
        assert_eq!(s.gateways.len(), 1);
        assert!(!s.gateway("default").unwrap().config.collect_logs);
    }

    #[test]
    fn empty_gateway_token_is_an_error() {
        assert_err_at(
            "[[gateway]]\nauth_tokens = [\"t\", \"\"]",
            "gateway[0].auth_tokens[1]",
        );
    }

    #[test]
    fn listen_addresses() {
        let s =
            load("[server]\nlisten = [\"[::]:8787\", \"0.0.0.0:1\"]\nadmin_listen = \"\"").unwrap();
        assert_eq!(s.listen.len(), 2);
        assert!(s.listen[0].is_ipv6());
        assert_eq!(s.admin_listen, None);
        assert_err_at(
            "[server]\nlisten = [\"[::]:1\", \"localhost:80\"]",
            "server.listen[1]",
        );
        assert_err_at("[server]\nlisten = []", "server.listen");
        assert_err_at("[server]\nadmin_listen = \"8788\"", "server.admin_listen");
    }

    #[test]
    fn server_limits_and_account() {
        assert_err_at("[server]\nmax_header_bytes = 0", "server.max_header_bytes");
        assert_err_at("[server]\nmax_body_bytes = 0", "server.max_body_bytes");
        assert_err_at("[server]\naccount_id = \"a/b\"", "server.account_id");
        assert_err_at("[server]\naccount_id = \"\"", "server.account_id");
        assert_eq!(
            load("[server]\naccount_id = \"abc123\"")
                .unwrap()
                .server
                .account_id,
            "abc123"
        );
        assert_err_at(
            "[upstream]\nconnect_timeout_ms = 0",
            "upstream.connect_timeout_ms",
        );
    }

    #[test]
    fn timeouts_default_safe_and_bounded_to_a_year() {
        let s = load("").unwrap();
        let (server, upstream) = (&s.server, &s.upstream);
        assert_eq!(server.client_header_timeout_s, 60);
        assert_eq!(server.client_body_timeout_s, 60);
        assert_eq!(server.client_send_timeout_s, 60);
        assert_eq!(upstream.first_byte_timeout_s, 600);
        assert_eq!(upstream.stream_idle_timeout_s, 600);
        for key in [
            "server.client_header_timeout_s",
            "server.client_body_timeout_s",
            "server.client_send_timeout_s",
            "server.client_idle_timeout_s",
            "server.shutdown_grace_s",
            "upstream.first_byte_timeout_s",
            "upstream.stream_idle_timeout_s",
            "upstream.pool_idle_timeout_s",
        ] {
            let (section, name) = key.split_once('.').unwrap();
            let text = |v: u64| format!("[{section}]\n{name} = {v}");
            assert!(load(&text(MAX_DURATION_S)).is_ok(), "{key}");
            assert_err_at(&text(MAX_DURATION_S + 1), key);
            assert_err_at(&text(i64::MAX as u64), key);
        }
        for key in ["client_header_timeout_s", "client_send_timeout_s"] {
            assert_err_at(&format!("[server]\n{key} = 0"), &format!("server.{key}"));
        }
        assert_err_at(
            "[upstream]\nfirst_byte_timeout_s = 0",
            "upstream.first_byte_timeout_s",
        );
        assert_err_at(
            "[upstream]\nconnect_timeout_ms = 31536000001",
            "upstream.connect_timeout_ms",
        );
        assert_err_at(
            "[[gateway]]\nrequest_timeout_ms = 31536000001",
            "gateway[0].request_timeout_ms",
        );
    }

    #[test]
    fn body_budget_is_sized_or_holds_one_largest_body() {
        let s = load("").unwrap();
        assert!(s.server.max_buffered_body_bytes >= 256 * 1024 * 1024);
        let s = load("[server]\nmax_buffered_body_bytes = 26214400").unwrap();
        assert_eq!(s.server.max_buffered_body_bytes, 26_214_400);
        assert_err_at(
            "[server]\nmax_body_bytes = 1000\nmax_buffered_body_bytes = 999",
            "server.max_buffered_body_bytes",
        );
    }

    #[test]
    fn retry_and_rate_limit_bounds() {
        for bad in [0, 6] {
            let text = format!("[[gateway]]\nretry = {{ max_attempts = {bad} }}");
            assert_err_at(&text, "gateway[0].retry.max_attempts");
        }
        assert!(load("[[gateway]]\nretry = { max_attempts = 5, delay_ms = 60000 }").is_ok());
        assert_err_at(
            "[[gateway]]\nretry = { delay_ms = 60001 }",
            "gateway[0].retry.delay_ms",
        );
        assert_err_at(
            "[[gateway]]\nrate_limit = { limit = 10, interval_s = 0 }",
            "gateway[0].rate_limit.interval_s",
        );
        assert!(load("[[gateway]]\nrate_limit = { limit = 0, interval_s = 0 }").is_ok());
    }

    #[test]
    fn default_provider_resolves_to_a_slug() {
        let text = |name: &str| {
            format!(
                "[provider.local]\nbase_url = \"http://127.0.0.1:9/v1\"\n\
                 [[gateway]]\ndefault_provider = \"{name}\""
            )
        };
        for (name, slug) in [
            ("openai", "openai"),
            ("perplexity", "perplexity-ai"),
            ("perplexity-ai", "perplexity-ai"),
            ("local", "local"),
            ("custom-local", "local"),
        ] {
            let s = load(&text(name)).unwrap();
            let g = s.gateway("default").unwrap();
            assert_eq!(g.default_provider.as_deref(), Some(slug), "{name}");
        }
        assert_err_at(&text("nope"), "gateway[0].default_provider");
        assert_err_at(&text("custom-openai"), "gateway[0].default_provider");
    }

    #[test]
    fn ca_files_must_exist_at_load() {
        assert_err_at(
            "[upstream]\nca_file = \"/nonexistent/sluice-ca.pem\"",
            "upstream.ca_file",
        );
        assert_err_at(
            "[provider.openai]\nca_file = \"/nonexistent/sluice-ca.pem\"",
            "provider.openai.ca_file",
        );
        assert_err_at(
            "[server.tls]\ncert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"",
            "server.tls.cert",
        );
        let dir = tempfile::tempdir().unwrap();
        let text = format!("[upstream]\nca_file = {:?}", dir.path().to_str().unwrap());
        assert!(err(&text).contains("not a regular file"));
        let ca = tempfile::NamedTempFile::new().unwrap();
        let text = format!(
            "[provider.openai]\nca_file = {:?}",
            ca.path().to_str().unwrap()
        );
        let s = load(&text).unwrap();
        assert_eq!(s.providers["openai"].ca_file.as_deref(), Some(ca.path()));
    }
}
