//! Out of file descriptors: the real binary under a low RLIMIT_NOFILE. Accepts fail,
//! the gateway backs off and logs at most a line a second with a count, and once
//! descriptors are free again it serves new connections by itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{listening_addr, Client, WAIT};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// Descriptors the gateway may hold: enough to start, few enough to run out fast.
const NOFILE: libc::rlim_t = 64;
/// More connections than that.
const CONNECTIONS: usize = 100;

struct Sluice {
    child: Child,
    addr: SocketAddr,
    stderr: mpsc::Receiver<(Instant, String)>,
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_limited(dir: &std::path::Path) -> Sluice {
    let path = dir.join("sluice.toml");
    let config = format!(
        "[server]\nadmin_listen = \"\"\ndata_dir = \"{}\"\n",
        dir.display()
    );
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--config",
        ])
        .arg(&path)
        .env("SLUICE_LOG", "info")
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child's limits; the
    // closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: NOFILE,
                rlim_max: NOFILE,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            let _ = tx.send((Instant::now(), line));
        }
    });
    let startup = loop {
        let (_, line) = rx.recv_timeout(WAIT).expect("no startup line");
        if line.contains("listening on") {
            break line;
        }
    };
    let addr = listening_addr(&startup);
    Sluice {
        child,
        addr,
        stderr: rx,
    }
}

impl Sluice {
    /// The next stderr line containing `needle`, with when it arrived.
    fn line_with(&self, needle: &str) -> (Instant, String) {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, line) = self
                .stderr
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return (at, line);
            }
        }
    }
}

/// The count in "... (N failed accepts since the last report ...".
fn reported(line: &str) -> u64 {
    line.split_once(" failed accepts since")
        .and_then(|(before, _)| before.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line:?}"))
}

#[test]
fn out_of_descriptors_accept_backs_off_logs_a_line_a_second_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let sluice = spawn_limited(dir.path());
    // Each accepted connection holds a descriptor; the kernel queues the rest.
    let held: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| {
            let mut s = TcpStream::connect(sluice.addr).unwrap();
            s.write_all(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    let (first_at, first) = sluice.line_with("accept failed");
    assert_eq!(reported(&first), 1, "{first}");
    // Failures go on (the queued connections), but the next line waits a second and
    // counts them all.
    let (second_at, second) = sluice.line_with("accept failed");
    assert!(
        second_at - first_at >= std::time::Duration::from_millis(900),
        "{:?} between\n{first}\n{second}",
        second_at - first_at
    );
    assert!(reported(&second) >= 2, "{second}");
    // Descriptors come back: the gateway serves again, with no help.
    drop(held);
    let mut c = Client::connect(sluice.addr);
    c.write(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(c.response().status, 200);
}
