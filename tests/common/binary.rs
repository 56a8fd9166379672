//! The built `sluice` binary run as a process (`sluice serve` on loopback port 0, two
//! workers), its startup line waited for; killed and reaped on drop.

use super::{listening_addr, WAIT};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

/// A running `sluice serve`.
pub struct ServedBinary {
    pub child: Child,
    /// The data plane's address, from the startup line.
    pub addr: SocketAddr,
    /// The line that says where it listens.
    pub startup: String,
    /// Its later stderr lines, as they come.
    pub stderr: mpsc::Receiver<String>,
}

impl ServedBinary {
    /// `sluice serve --config config` with these extra environment variables.
    pub fn start(config: &Path, env: &[(&str, &str)]) -> ServedBinary {
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
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let startup = loop {
            let line = rx.recv_timeout(WAIT).expect("no startup line");
            if line.contains("listening on") {
                break line;
            }
        };
        ServedBinary {
            child,
            addr: listening_addr(&startup),
            startup,
            stderr: rx,
        }
    }

    /// The admin listener's address, from the startup line (`...; admin ADDR ...`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.startup
            .split("; admin ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|a| a.trim_end_matches(';').parse().ok())
            .unwrap_or_else(|| panic!("no admin address: {}", self.startup))
    }
}

impl Drop for ServedBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
