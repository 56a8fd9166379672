//! The access log (`server.access_log = true`): one info line per finished request,
//! formatted on the worker and written to stderr by its own thread, so no worker waits.

use crate::logging::{now_ms, push_line};
use std::fmt::{self, Display, Write as _};
use std::io::Write as _;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Lines joined into one write to stderr, at most (one syscall per batch, not per line).
const BATCH_BYTES: usize = 64 * 1024;

/// How often the writer wakes to write what is queued. Workers never wake it: a wake
/// per line (a futex call and a switch on a shared core) cost more than the line.
const DRAIN_EVERY: Duration = Duration::from_millis(10);

/// A formatted line and when its request finished.
struct Queued {
    at_ms: i64,
    text: String,
}

/// The workers' end of the access log: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: SyncSender<Queued>,
}

impl AccessLog {
    /// Starts the writer thread with a queue of `queue_lines`; lines beyond it are
    /// dropped (the caller counts them), as the request log does. The thread ends, with
    /// every queued line written, once the last `AccessLog` is dropped: join it then.
    pub fn start(queue_lines: usize) -> std::io::Result<(AccessLog, JoinHandle<()>)> {
        let (tx, rx) = sync_channel::<Queued>(queue_lines.max(1));
        let writer = std::thread::Builder::new()
            .name("sluice-access".into())
            .spawn(move || write_batches(&rx))?;
        Ok((AccessLog { tx }, writer))
    }

    /// Queues one request's line; `false` when the queue was full and it was dropped.
    pub fn write(&self, line: &AccessLine<'_>) -> bool {
        let mut text = String::with_capacity(192);
        let _ = write!(text, "{line}");
        let at_ms = now_ms();
        self.tx.try_send(Queued { at_ms, text }).is_ok()
    }
}

/// The access-log thread: every `DRAIN_EVERY`, what is queued goes out in writes of up
/// to `BATCH_BYTES`, as the logger would print each line (`INFO`, so `SLUICE_LOG=warn`
/// silences them too).
fn write_batches(rx: &Receiver<Queued>) {
    let mut batch = String::with_capacity(BATCH_BYTES);
    loop {
        std::thread::sleep(DRAIN_EVERY);
        let open = loop {
            match rx.try_recv() {
                Ok(line) => {
                    push_line(&mut batch, line.at_ms, "INFO", &line.text);
                    if batch.len() >= BATCH_BYTES {
                        flush(&mut batch);
                    }
                }
                Err(TryRecvError::Empty) => break true,
                Err(TryRecvError::Disconnected) => break false,
            }
        };
        flush(&mut batch);
        if !open {
            return;
        }
    }
}

fn flush(batch: &mut String) {
    if !batch.is_empty() && log::log_enabled!(log::Level::Info) {
        let _ = std::io::stderr().lock().write_all(batch.as_bytes());
    }
    batch.clear();
}

/// What one access line says. Nothing from a request's headers but the gateway's own
/// ids goes in, so no key can.
#[derive(Debug)]
pub struct AccessLine<'a> {
    /// Request method.
    pub method: &'a str,
    /// Request path, without its query string.
    pub path: &'a str,
    /// Gateway id.
    pub gateway: &'a str,
    /// Provider slug ("" when none was chosen).
    pub provider: &'a str,
    /// Model as sent upstream.
    pub model: &'a str,
    /// Status written to the client (0: none).
    pub status: u16,
    /// From the request's first byte to its last response byte.
    pub duration: Duration,
    /// Time to the first response body byte.
    pub ttft: Option<Duration>,
    /// Input tokens, when the response said.
    pub tokens_in: Option<u64>,
    /// Output tokens, when the response said.
    pub tokens_out: Option<u64>,
    /// Cache status label (`hit`, `miss`, `none`).
    pub cache: &'a str,
    /// The `cf-aig-log-id` sent back.
    pub log_id: &'a str,
}

impl Display for AccessLine<'_> {
    /// logfmt: `access method=POST path=/v1/chat/completions gateway=default ...`;
    /// an unknown value is `-`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "access method={}", Value(self.method))?;
        write!(f, " path={}", Value(self.path))?;
        write!(f, " gateway={}", Value(self.gateway))?;
        write!(f, " provider={}", Value(self.provider))?;
        write!(f, " model={}", Value(self.model))?;
        write!(f, " status={}", self.status)?;
        write!(f, " duration_ms={}", millis(self.duration))?;
        write!(f, " ttft_ms={}", Maybe(self.ttft.map(millis)))?;
        write!(f, " tokens_in={}", Maybe(self.tokens_in))?;
        write!(f, " tokens_out={}", Maybe(self.tokens_out))?;
        write!(f, " cache={}", Value(self.cache))?;
        write!(f, " log_id={}", Value(self.log_id))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

struct Maybe(Option<u64>);

impl Display for Maybe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("-"),
        }
    }
}

/// A logfmt value: bare when it is plain, else quoted with `"`, `\` and control
/// characters escaped, so a client's model name can never forge a line or a field.
struct Value<'a>(&'a str);

impl Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s.is_empty() {
            return f.write_str("-");
        }
        let plain = s
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && c != '"' && c != '=' && c != '\\');
        if plain {
            return f.write_str(s);
        }
        f.write_char('"')?;
        for c in s.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{{{:04x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(model: &str) -> String {
        AccessLine {
            method: "POST",
            path: "/v1/chat/completions",
            gateway: "default",
            provider: "openai",
            model,
            status: 200,
            duration: Duration::from_millis(1234),
            ttft: Some(Duration::from_millis(56)),
            tokens_in: Some(10),
            tokens_out: None,
            cache: "MISS",
            log_id: "01ABC",
        }
        .to_string()
    }

    #[test]
    fn a_line_is_logfmt_with_dashes_for_unknowns() {
        assert_eq!(
            line("gpt-4o-mini"),
            "access method=POST path=/v1/chat/completions gateway=default provider=openai \
             model=gpt-4o-mini status=200 duration_ms=1234 ttft_ms=56 tokens_in=10 \
             tokens_out=- cache=MISS log_id=01ABC"
        );
        assert!(line("").contains(" model=- "));
    }

    #[test]
    fn a_hostile_value_cannot_forge_a_line_or_field() {
        let got = line("x status=500\nINFO access model=\"y\\");
        assert!(!got.contains('\n'));
        assert!(
            got.contains(r#" model="x status=500\nINFO access model=\"y\\" status=200 "#),
            "{got}"
        );
    }
}
