//! Helpers of `tests/secrets.rs`: unique secrets and the search for them, a mock
//! upstream that never echoes, the binary at debug level with its output captured.

use super::common::{self, After, Seen, Upstream, WAIT};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// A unique, random-looking secret: `kind-` and 24 hex digits (the part searched for).
pub struct Secret {
    kind: &'static str,
    value: String,
}

impl Secret {
    pub fn new(kind: &'static str) -> Secret {
        let random = |salt: &str| {
            let mut h = RandomState::new().build_hasher();
            h.write(salt.as_bytes());
            h.finish()
        };
        let value = format!("{kind}-{:016x}{:08x}", random(kind), random("tail") as u32);
        Secret { kind, value }
    }

    /// The random part: found even if only it was kept.
    fn mark(&self) -> &str {
        &self.value[self.kind.len() + 1..]
    }
}

/// Every secret of the run, by kind (SPEC section 9: provider keys stored or sent by a
/// client, gateway tokens valid or not, the admin token).
pub struct Secrets(pub Vec<Secret>);

impl Secrets {
    pub fn get(&self, kind: &str) -> &str {
        let found = self.0.iter().find(|s| s.kind == kind);
        &found.unwrap_or_else(|| panic!("no secret {kind}")).value
    }

    /// Fails naming each secret `bytes` (from `place`) holds.
    pub fn assert_absent(&self, place: &str, bytes: &[u8]) {
        for secret in &self.0 {
            let mark = secret.mark().as_bytes();
            let at = bytes.windows(mark.len()).position(|w| w == mark);
            if let Some(at) = at {
                let around = &bytes[at.saturating_sub(120)..(at + 120).min(bytes.len())];
                panic!(
                    "secret {} found in {place}: ...{}...",
                    secret.kind,
                    String::from_utf8_lossy(around)
                );
            }
        }
    }
}

const CHAT: &[u8] = include_bytes!("../fixtures/openai/chat-completion-text.json");
const CHAT_STREAM: &[u8] = include_bytes!("../fixtures/openai/chat-stream-text.sse");
const MESSAGE: &[u8] = include_bytes!("../fixtures/translate/anthropic/message-text.json");

/// OpenAI answers (JSON, or a stream when asked), Anthropic ones on `/v1/messages`, and a
/// 500 for a body holding `FAIL`. It never echoes what it got.
pub fn upstream() -> Upstream {
    Upstream::start(|seen: &Seen, w: &mut dyn Write| {
        let body = String::from_utf8_lossy(&seen.body);
        let path = seen.target.split('?').next().unwrap_or_default();
        if body.contains("FAIL") {
            common::write_json(w, 500, r#"{"error":{"message":"down"}}"#);
        } else if body.contains("\"stream\":true") && !path.ends_with("/messages") {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n";
            write!(w, "{head}content-length: {}\r\n\r\n", CHAT_STREAM.len()).unwrap();
            w.write_all(CHAT_STREAM).unwrap();
        } else {
            let answer = if path.ends_with("/messages") {
                MESSAGE
            } else {
                CHAT
            };
            let answer = String::from_utf8_lossy(answer);
            common::write_json(w, 200, &answer);
        }
        After::KeepAlive
    })
}

/// The binary at debug level, with its stdout and stderr captured line by line.
pub struct Sluice {
    pub child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    /// The lines up to the startup line, then the rest as they come.
    pub early: Vec<String>,
    pub output: mpsc::Receiver<String>,
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn(config: &Path) -> Sluice {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "2",
            "--config",
        ])
        .arg(config)
        .env("SLUICE_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, output) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let pipes: [Box<dyn Read + Send>; 2] = [Box::new(stderr), Box::new(stdout)];
    for pipe in pipes {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
    }
    let mut early = Vec::new();
    let startup = loop {
        let line = output.recv_timeout(WAIT).expect("no startup line");
        early.push(line.clone());
        if line.contains("listening on") {
            break line;
        }
    };
    let after = |marker: &str| -> SocketAddr {
        let text = startup.split(marker).nth(1).unwrap();
        text.split([' ', ',', ';']).next().unwrap().parse().unwrap()
    };
    Sluice {
        child,
        addr: after("listening on "),
        admin: after("; admin "),
        early,
        output,
    }
}

/// Polls `f` until it gives a value (the log writer commits on its own schedule).
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// Every file under `dir`, read raw.
pub fn files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            // A file may be gone between listing and reading (SQLite's journal).
            out.push((path.display().to_string(), bytes));
        }
    }
}
