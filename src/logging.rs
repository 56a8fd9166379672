//! The stderr logger: one line per event, RFC 3339 UTC time first, level from `SLUICE_LOG`.
//! Secrets never reach it: callers log `Secret` values only through their redacting `Display`.

use crate::rfc3339::format_rfc3339_ms;
use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let mut line = String::with_capacity(128);
        push_line(&mut line, now_ms(), level, record.args());
        // One write per line so lines from several workers never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Milliseconds since the Unix epoch, for [`push_line`].
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Appends one log line as the logger writes it: `{RFC 3339 time} {LEVEL} {message}\n`
/// (also used by the access log, which writes its lines in batches).
pub fn push_line(out: &mut String, at_ms: i64, level: &str, message: &dyn std::fmt::Display) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "{} {level} {message}", format_rfc3339_ms(at_ms));
}

/// Installs the logger; `SLUICE_LOG` is error, warn, info (default) or debug.
pub fn init() {
    let level = match std::env::var("SLUICE_LOG").as_deref() {
        Ok("error") => LevelFilter::Error,
        Ok("warn") => LevelFilter::Warn,
        Ok("debug") => LevelFilter::Debug,
        Ok("trace") => LevelFilter::Trace,
        _ => LevelFilter::Info,
    };
    if log::set_logger(&StderrLogger).is_ok() {
        log::set_max_level(level);
    }
}
