//! `sluice check` output: the resolved config written back as TOML that loads again,
//! with every secret (provider keys, gateway tokens, admin token) shown as "[redacted]".

use super::{Gateway, Settings};
use crate::providers::Provider;
use crate::redact::Secret;
use std::path::Path;
use toml::{Table, Value};

const REDACTED: &str = "[redacted]";

impl Settings {
    /// The resolved config as TOML; no secret value appears in it.
    pub fn render_redacted(&self) -> String {
        let mut ids: Vec<&String> = self.gateways.keys().collect();
        ids.sort();
        let gateways = ids
            .into_iter()
            .filter_map(|id| self.gateways.get(id))
            .map(|g| Value::Table(gateway_table(g)))
            .collect();
        let providers = self
            .providers
            .iter()
            .map(|(slug, p)| (slug.clone(), Value::Table(provider_table(p))))
            .collect();
        let mut sections = vec![
            ("server", Value::Table(self.server_table())),
            ("upstream", Value::Table(self.upstream_table())),
            ("gateway", Value::Array(gateways)),
            ("provider", Value::Table(providers)),
        ];
        if !self.prices.is_empty() {
            let prices = self
                .prices
                .iter()
                .map(|(k, t)| (k.clone(), Value::Table(t.clone())))
                .collect();
            sections.push(("price", Value::Table(prices)));
        }
        // One table per section: a single table would print its keys alphabetically.
        let rendered: Vec<String> = sections
            .into_iter()
            .map(|(name, value)| {
                let mut section = Table::new();
                section.insert(name.into(), value);
                section.to_string()
            })
            .collect();
        rendered.join("\n")
    }

    fn server_table(&self) -> Table {
        let s = &self.server;
        let mut t = Table::new();
        let listen = self.listen.iter().map(|a| string(a.to_string())).collect();
        t.insert("listen".into(), Value::Array(listen));
        let admin = self.admin_listen.map(|a| a.to_string()).unwrap_or_default();
        t.insert("admin_listen".into(), string(admin));
        t.insert("workers".into(), int(s.workers as u64));
        t.insert("account_id".into(), string(&s.account_id));
        t.insert("max_header_bytes".into(), int(s.max_header_bytes as u64));
        t.insert("max_body_bytes".into(), int(s.max_body_bytes as u64));
        t.insert("client_idle_timeout_s".into(), int(s.client_idle_timeout_s));
        let timers = [
            ("client_header_timeout_s", s.client_header_timeout_s),
            ("client_body_timeout_s", s.client_body_timeout_s),
            ("client_send_timeout_s", s.client_send_timeout_s),
        ];
        for (key, value) in timers {
            t.insert(key.into(), int(value));
        }
        let budget = s.max_buffered_body_bytes;
        t.insert("max_buffered_body_bytes".into(), int(budget));
        t.insert("shutdown_grace_s".into(), int(s.shutdown_grace_s));
        t.insert("data_dir".into(), string(&s.data_dir));
        t.insert("admin_token".into(), secret(&s.admin_token));
        let tokens = s.admin_tokens.iter().map(|a| {
            let mut entry = Table::new();
            entry.insert("token".into(), secret(&a.token));
            let role = match a.role {
                super::AdminRole::Read => "read",
                super::AdminRole::Edit => "edit",
            };
            entry.insert("role".into(), string(role));
            Value::Table(entry)
        });
        t.insert("admin_tokens".into(), Value::Array(tokens.collect()));
        t.insert("secrets_key".into(), secret(&s.secrets_key));
        t.insert("cache_max_bytes".into(), int(s.cache_max_bytes));
        t.insert("log_queue_entries".into(), int(s.log_queue_entries as u64));
        t.insert("access_log".into(), Value::Boolean(s.access_log));
        if let Some(tls) = &s.tls {
            let mut tls_table = Table::new();
            tls_table.insert("cert".into(), path(&tls.cert));
            tls_table.insert("key".into(), path(&tls.key));
            t.insert("tls".into(), Value::Table(tls_table));
        }
        t
    }

    fn upstream_table(&self) -> Table {
        let u = &self.upstream;
        let mut t = Table::new();
        t.insert("connect_timeout_ms".into(), int(u.connect_timeout_ms));
        t.insert("pool_idle_timeout_s".into(), int(u.pool_idle_timeout_s));
        t.insert(
            "pool_max_idle_per_host".into(),
            int(u.pool_max_idle_per_host as u64),
        );
        t.insert("first_byte_timeout_s".into(), int(u.first_byte_timeout_s));
        t.insert("stream_idle_timeout_s".into(), int(u.stream_idle_timeout_s));
        if let Some(ca) = &u.ca_file {
            t.insert("ca_file".into(), path(ca));
        }
        t
    }
}

fn gateway_table(g: &Gateway) -> Table {
    let c = &g.config;
    let mut t = Table::new();
    t.insert("id".into(), string(&g.id));
    let tokens = g.auth_tokens.iter().map(secret).collect();
    t.insert("auth_tokens".into(), Value::Array(tokens));
    let default_provider = g.default_provider.clone().unwrap_or_default();
    t.insert("default_provider".into(), string(default_provider));
    t.insert("collect_logs".into(), Value::Boolean(c.collect_logs));
    t.insert("client_keys".into(), string(c.client_keys.as_str()));
    t.insert("cache_ttl_s".into(), int(c.cache_ttl_s));
    let mut rate = Table::new();
    rate.insert("limit".into(), int(c.rate_limit.limit));
    rate.insert("interval_s".into(), int(c.rate_limit.interval_s));
    rate.insert("technique".into(), string(c.rate_limit.technique.as_str()));
    t.insert("rate_limit".into(), Value::Table(rate));
    let mut retry = Table::new();
    retry.insert("max_attempts".into(), int(u64::from(c.retry.max_attempts)));
    retry.insert("delay_ms".into(), int(c.retry.delay_ms));
    retry.insert("backoff".into(), string(c.retry.backoff.as_str()));
    t.insert("retry".into(), Value::Table(retry));
    t.insert("request_timeout_ms".into(), int(c.request_timeout_ms));
    t.insert("log_max_entries".into(), int(c.log_max_entries));
    t.insert("log_max_bytes".into(), int(c.log_max_bytes));
    // Routes, aliases and spend limits as written (they hold no secret).
    if !c.route.is_empty() {
        t.extend(written("route", &c.route));
    }
    if !c.alias.is_empty() {
        t.extend(written("alias", &c.alias));
    }
    if let Some(limits) = &c.spend_limits {
        t.extend(written("spend_limits", limits));
    }
    t
}

/// `key = value` for a part of the config kept as written; none if TOML cannot hold it
/// (a JSON `null` inside a route's elements).
fn written(key: &str, value: &impl serde::Serialize) -> Option<(String, Value)> {
    Value::try_from(value).ok().map(|v| (key.to_owned(), v))
}

fn provider_table(p: &Provider) -> Table {
    let mut t = Table::new();
    t.insert("base_url".into(), string(p.base.to_string()));
    t.insert("api".into(), string(p.api.as_str()));
    if let Some(ca) = &p.ca_file {
        t.insert("ca_file".into(), path(ca));
    }
    if !p.models.is_empty() {
        let models = p.models.iter().map(string).collect();
        t.insert("models".into(), Value::Array(models));
    }
    t.insert("responses_api".into(), Value::Boolean(p.responses_api));
    if !p.keys.is_empty() {
        let keys = p
            .keys
            .iter()
            .map(|(alias, key)| (alias.clone(), secret(key)))
            .collect();
        t.insert("keys".into(), Value::Table(keys));
    }
    t
}

/// An empty secret means "none" (e.g. no admin token) and is shown as such.
fn secret(value: &Secret) -> Value {
    string(if value.is_empty() { "" } else { REDACTED })
}

fn string(value: impl AsRef<str>) -> Value {
    Value::String(value.as_ref().to_string())
}

/// TOML integers are i64; config values came from TOML, so they fit.
fn int(value: u64) -> Value {
    Value::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

fn path(value: &Path) -> Value {
    string(value.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::providers::Api;

    fn load(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_toml_str(text, "test")
    }

    const SECRET_CONFIG: &str = r#"
        [server]
        admin_token = "env:SLUICE_T_RENDER_ADMIN"
        [[gateway]]
        id = "team"
        auth_tokens = ["env:SLUICE_T_RENDER_TOKEN", "literal-gw-token-Q7"]
        default_provider = "perplexity"
        [provider.openai]
        keys = { default = "env:SLUICE_T_RENDER_KEY", b = "literal-key-Z9" }
        [provider.local]
        base_url = "http://[::1]:9000/v1"
        keys = { default = "env:SLUICE_T_RENDER_KEY2" }
        models = ["m1"]
    "#;

    #[test]
    fn render_redacts_every_secret() {
        let values = [
            ("SLUICE_T_RENDER_ADMIN", "admin-3f9c1e7a"),
            ("SLUICE_T_RENDER_TOKEN", "gwtok-8b2d4f60"),
            ("SLUICE_T_RENDER_KEY", "sk-render-51ac9e"),
            ("SLUICE_T_RENDER_KEY2", "sk-custom-07e4bd"),
        ];
        for (var, value) in values {
            std::env::set_var(var, value);
        }
        let s = Settings::from_toml_str(SECRET_CONFIG, "test").unwrap();
        assert_eq!(s.server.admin_token.expose(), "admin-3f9c1e7a");
        let out = s.render_redacted();
        for (_, value) in values {
            assert!(!out.contains(value), "{value} leaked:\n{out}");
        }
        for literal in ["literal-gw-token-Q7", "literal-key-Z9"] {
            assert!(!out.contains(literal), "{literal} leaked:\n{out}");
        }
        assert_eq!(out.matches("[redacted]").count(), 6, "{out}");
        assert!(out.contains("[[gateway]]"), "{out}");
        assert!(out.contains("perplexity-ai"), "{out}");
    }

    #[test]
    fn rendered_config_loads_again_to_the_same_rendering() {
        let s = load(
            r#"
            [server]
            listen = ["[::]:8787"]
            admin_token = "a"
            [[gateway]]
            id = "g1"
            auth_tokens = ["t"]
            rate_limit = { limit = 5, interval_s = 10, technique = "fixed" }
            retry = { max_attempts = 3, delay_ms = 100, backoff = "exponential" }
            spend_limits = { rules = [{ id = "daily", limit = 25.0, limitType = "cost", window = 86400 }] }
            [[gateway.alias]]
            name = "fast"
            models = ["openai/gpt-4o-mini", "groq/llama-3.3-70b-versatile"]
            [[gateway.route]]
            name = "support"
            elements = [
              { id = "s", type = "start", outputs = { next = { elementId = "m" } } },
              { id = "m", type = "model", properties = { provider = "openai", model = "gpt-4o-mini" }, outputs = { success = { elementId = "e" } } },
              { id = "e", type = "end", outputs = {} },
            ]
            [provider.local]
            base_url = "http://localhost:8000/v1"
            api = "google"
            models = ["a", "b"]
            [price.openai]
            "gpt-4o-mini" = { in = 1.5e-7, out = 6e-7 }
            "#,
        )
        .unwrap();
        let first = s.render_redacted();
        let again = load(&first).unwrap();
        assert_eq!(again.render_redacted(), first);
        let g = again.gateway("g1").unwrap();
        assert_eq!(
            g.config.rate_limit.technique,
            crate::config::RateTechnique::Fixed
        );
        assert_eq!(g.config.retry.backoff, crate::config::Backoff::Exponential);
        assert_eq!(again.providers["local"].api, Api::Google);
        assert!(again.listen[0].is_ipv6());
        assert_eq!(g.config.route.len(), 1);
        assert_eq!(g.config.alias[0].models.len(), 2);
        assert_eq!(
            g.config.spend_limits,
            s.gateway("g1").unwrap().config.spend_limits
        );
        assert!(first.contains("elementId"), "{first}");
    }
}
