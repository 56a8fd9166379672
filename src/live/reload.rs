//! A reload of the config file (SIGHUP): read and validated off the workers, then published
//! whole. A file with errors changes nothing; keys fixed at start keep their running values.

use super::LiveConfig;
use crate::config::{ConfigError, Settings};
use std::path::Path;

/// What a reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// In force for new requests. These keys differ in the file but are bound at start
    /// (listeners, threads, sizes of shared stores), so they keep their running values.
    Applied {
        /// The keys, by path.
        needs_restart: Vec<&'static str>,
        /// API gateways whose id the file now declares (the file's win).
        shadowed: Vec<String>,
    },
    /// Nothing changed: every error found in the file.
    Refused(Vec<ConfigError>),
}

/// Reads the config at `path` (`None`: the embedded default) and publishes it to `live`.
pub fn reload_file(live: &LiveConfig, path: Option<&Path>) -> ReloadOutcome {
    let mut settings = match Settings::load_reporting_all(path) {
        Ok(settings) => settings,
        Err(errors) => return ReloadOutcome::Refused(errors),
    };
    let needs_restart = keep_start_bound(&mut settings, &live.file_settings());
    match live.set_file(settings) {
        Ok(shadowed) => ReloadOutcome::Applied {
            needs_restart,
            shadowed,
        },
        // The file is valid alone but an API gateway no longer is over it.
        Err(error) => ReloadOutcome::Refused(vec![error]),
    }
}

/// Sets the keys bound at start back to `running`'s values (the command line's `--listen`
/// and `--workers` included) and names those the new file had changed.
fn keep_start_bound(next: &mut Settings, running: &Settings) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let (to, from) = (&mut next.server, &running.server);
    macro_rules! keep {
        ($($field:ident),*) => {$(
            if to.$field != from.$field {
                changed.push(concat!("server.", stringify!($field)));
                to.$field = from.$field.clone();
            }
        )*};
    }
    keep!(
        listen,
        admin_listen,
        workers,
        data_dir,
        cache_max_bytes,
        max_buffered_body_bytes,
        log_queue_entries,
        access_log
    );
    let secrets = |tokens: Vec<(crate::redact::Secret, _)>| -> Vec<(String, _)> {
        tokens
            .into_iter()
            .map(|(t, role)| (t.expose().to_string(), role))
            .collect()
    };
    if secrets(to.admin_tokens()) != secrets(from.admin_tokens()) {
        changed.push("server.admin_token(s)");
        to.admin_token = from.admin_token.clone();
        to.admin_tokens = from.admin_tokens.clone();
    }
    if to.secrets_key.expose() != from.secrets_key.expose() {
        changed.push("server.secrets_key");
        to.secrets_key = from.secrets_key.clone();
    }
    if to.tls.is_some() != from.tls.is_some() {
        changed.push("server.tls");
        to.tls = from.tls.clone();
    }
    if next.upstream != running.upstream {
        changed.push("upstream");
        next.upstream = running.upstream.clone();
    }
    next.listen = running.listen.clone();
    next.admin_listen = running.admin_listen;
    changed
}
