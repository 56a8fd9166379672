//! The real binary: startup line, `sluice check`, SIGTERM draining (listeners close,
//! idle connections close, an in-flight stream runs to its end, exit 0), and SIGHUP reloads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::binary::ServedBinary as Sluice;
use common::*;
use std::process::Command;
use std::sync::mpsc;
use std::sync::Mutex;

fn spawn(config: &str) -> (Sluice, tempfile::TempDir) {
    spawn_with_env(config, &[])
}

fn spawn_with_env(config: &str, env: &[(&str, &str)]) -> (Sluice, tempfile::TempDir) {
    spawn_full("", config, env)
}

/// `server_lines` go into the `[server]` table.
fn spawn_full(
    server_lines: &str,
    config: &str,
    env: &[(&str, &str)],
) -> (Sluice, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    // No fixed admin port, and the log database in the temp dir.
    let server = format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{server_lines}",
        dir.path().display()
    );
    std::fs::write(&path, server + config).unwrap();
    let sluice = Sluice::start(&path, env);
    let startup = &sluice.startup;
    assert!(startup.contains("with 2 workers"), "{startup}");
    assert!(
        startup.contains("io_uring") || startup.contains("epoll"),
        "{startup}"
    );
    (sluice, dir)
}

#[test]
fn sigterm_drains_in_flight_streams_then_exits_zero() {
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let ack_rx = Mutex::new(ack_rx);
    let up = Upstream::start(move |_, w| {
        w.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n").unwrap();
        w.write_all(b"7\r\ndata: 1\r\n").unwrap();
        w.flush().unwrap();
        ack_rx.lock().unwrap().recv_timeout(WAIT).unwrap();
        w.write_all(b"7\r\ndata: 2\r\n0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let (mut sluice, _dir) = spawn(&config_for(&up, ""));
    let mut idle = Client::connect(sluice.addr);
    idle.write(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(idle.response().status, 200);

    let mut streaming = Client::connect(sluice.addr);
    streaming.write(&post(
        "/v1/chat/completions",
        "",
        r#"{"model":"mock/m","stream":true}"#,
    ));
    let head = streaming.response_head();
    assert_eq!(head.status, 200);
    assert_eq!(streaming.chunk().unwrap(), b"data: 1");

    unsafe { libc::kill(sluice.child.id() as i32, libc::SIGTERM) };
    // The idle keep-alive connection is closed at once.
    assert!(idle.is_closed());
    // New connections are refused once the listeners are closed.
    // Polls a condition with a deadline (every worker closes its own listener).
    let deadline = std::time::Instant::now() + WAIT;
    let refused = loop {
        if std::net::TcpStream::connect(sluice.addr).is_err() {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    assert!(refused, "listener still open after SIGTERM");
    // The in-flight stream runs to its end.
    ack_tx.send(()).unwrap();
    assert_eq!(streaming.chunk().unwrap(), b"data: 2");
    assert_eq!(streaming.chunk().unwrap(), b"");
    let status = sluice.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let lines: Vec<String> = sluice.stderr.try_iter().collect();
    assert!(lines.iter().any(|l| l.contains("draining")), "{lines:?}");
}

/// The gateway's data-plane config after `spawn_full`'s `[server]` table.
fn rewrite_config(dir: &tempfile::TempDir, config: &str) {
    let server = format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n",
        dir.path().display()
    );
    std::fs::write(dir.path().join("sluice.toml"), server + config).unwrap();
}

/// Waits for a stderr line containing `needle`; returns it with the lines before it.
fn wait_for_line(sluice: &Sluice, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = sluice
            .stderr
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no line with {needle:?} in {seen:?}"));
        let found = line.contains(needle);
        seen.push(line);
        if found {
            return seen;
        }
    }
}

#[test]
fn sighup_applies_the_file_live_and_a_broken_file_changes_nothing() {
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let ack_rx = Mutex::new(ack_rx);
    let up = Upstream::start(move |seen, w| {
        if !String::from_utf8_lossy(&seen.body).contains("\"stream\":true") {
            write_json(w, 200, r#"{"ok":true}"#);
            return After::KeepAlive;
        }
        w.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n").unwrap();
        w.write_all(b"7\r\ndata: 1\r\n").unwrap();
        w.flush().unwrap();
        ack_rx.lock().unwrap().recv_timeout(WAIT).unwrap();
        w.write_all(b"7\r\ndata: 2\r\n0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let (sluice, dir) = spawn(&config_for(&up, ""));
    let team = post(
        "/v1/acct/team/compat/chat/completions",
        "",
        r#"{"model":"mock/m"}"#,
    );
    // A keep-alive connection from before the reload.
    let mut kept = Client::connect(sluice.addr);
    kept.write(&team);
    let refused = kept.response();
    assert_eq!(refused.status, 404);
    assert!(
        refused.text().contains(r#""code":2001"#),
        "{}",
        refused.text()
    );
    let mut streaming = Client::connect(sluice.addr);
    streaming.write(&post(
        "/v1/chat/completions",
        "",
        r#"{"model":"mock/m","stream":true}"#,
    ));
    assert_eq!(streaming.response_head().status, 200);
    assert_eq!(streaming.chunk().unwrap(), b"data: 1");

    rewrite_config(&dir, &config_for(&up, "[[gateway]]\nid = \"team\"\n"));
    let sent = std::time::Instant::now();
    unsafe { libc::kill(sluice.child.id() as i32, libc::SIGHUP) };
    // Polls a condition with a deadline: workers pick the new config up on their next tick.
    let served = loop {
        kept.write(&team);
        let status = kept.response().status;
        if status == 200 || sent.elapsed() > WAIT {
            break status;
        }
    };
    assert_eq!(served, 200);
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(1),
        "applied after {:?}",
        sent.elapsed()
    );
    wait_for_line(&sluice, "config reloaded from");
    // The stream in flight across the reload runs to its end on the same connection.
    ack_tx.send(()).unwrap();
    assert_eq!(streaming.chunk().unwrap(), b"data: 2");
    assert_eq!(streaming.chunk().unwrap(), b"");

    // Three errors in three places: the reload names them all and changes nothing.
    let broken = config_for(
        &up,
        "[upstream]\nconnect_timeout_ms = 0\n[[gateway]]\nid = \"team\"\nretry = { max_attempts = 99 }\n\
         [[gateway]]\nid = \"other\"\ncolour = \"blue\"\n",
    );
    rewrite_config(&dir, &broken);
    unsafe { libc::kill(sluice.child.id() as i32, libc::SIGHUP) };
    let lines = wait_for_line(&sluice, "config reload refused: 3 error(s)");
    let lines = [
        lines,
        (0..3)
            .map(|_| sluice.stderr.recv_timeout(WAIT).unwrap())
            .collect(),
    ]
    .concat();
    for path in [
        "upstream.connect_timeout_ms",
        "gateway[0].retry.max_attempts",
        "gateway[1].colour",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(path)),
            "{path} in {lines:?}"
        );
    }
    kept.write(&team);
    assert_eq!(kept.response().status, 200, "the running config stays");
    let mut other = Client::connect(sluice.addr);
    other.write(&post(
        "/v1/acct/other/compat/chat/completions",
        "",
        r#"{"model":"mock/m"}"#,
    ));
    assert_eq!(other.response().status, 404);
}

#[test]
fn the_startup_line_names_the_keyed_providers_and_lines_carry_rfc3339_times() {
    let up = Upstream::start(|_, w| {
        write_json(w, 200, "{}");
        After::KeepAlive
    });
    let config = config_for(
        &up,
        "[provider.groq]\nkeys = { default = \"gsk-SECRET-1\" }\n",
    );
    let (sluice, _dir) = spawn(&config);
    let line = &sluice.startup;
    assert!(line.ends_with("; stored keys: groq, mock"), "{line}");
    assert!(
        !line.contains("SECRET") && !line.contains("sk-stored"),
        "{line}"
    );
    // 2026-12-02T19:04:05.123Z INFO ...
    let (time, rest) = line.split_once(' ').unwrap();
    assert!(rest.starts_with("INFO "), "{line}");
    let shape: String = time
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.dddZ", "{line}");
}

#[test]
fn access_log_writes_one_line_per_request_and_never_a_key() {
    let up = Upstream::start(|_, w| {
        let usage = r#"{"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}"#;
        write_json(w, 200, usage);
        After::KeepAlive
    });
    let (sluice, _dir) = spawn_full("access_log = true\n", &config_for(&up, ""), &[]);
    let mut gw = Client::connect(sluice.addr);
    gw.write(&post(
        "/v1/chat/completions?key=QUERY-SECRET",
        "authorization: Bearer sk-client-SECRET\r\n",
        r#"{"model":"mock/m"}"#,
    ));
    let resp = gw.response();
    assert_eq!(resp.status, 200);
    let id = resp.header("cf-aig-event-id").unwrap().to_string();
    gw.write(b"GET /nosuch HTTP/1.1\r\nhost: gw\r\n\r\n");
    assert_eq!(gw.response().status, 404);

    let mut access = Vec::new();
    while access.len() < 2 {
        let line = sluice.stderr.recv_timeout(WAIT).expect("no access line");
        assert!(
            !line.contains("SECRET") && !line.contains("sk-stored"),
            "{line}"
        );
        if line.contains(" INFO access ") {
            access.push(line);
        }
    }
    let (_, first) = access[0].split_once(" INFO ").unwrap();
    assert_eq!(
        first,
        format!(
            "access method=POST path=/v1/chat/completions gateway=default provider=mock \
             model=m status=200 duration_ms={} ttft_ms={} tokens_in=7 tokens_out=3 \
             cache=none log_id={id}",
            field(first, "duration_ms"),
            field(first, "ttft_ms"),
        )
    );
    let (_, second) = access[1].split_once(" INFO ").unwrap();
    assert!(
        second
            .starts_with("access method=GET path=/nosuch gateway=- provider=- model=- status=404 "),
        "{second}"
    );
}

/// The value of `name=` in a logfmt line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(&format!(" {name}=")).unwrap() + name.len() + 2;
    line[start..].split(' ').next().unwrap()
}

#[test]
fn check_prints_the_config_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "[provider.openai]\nkeys = { default = \"sk-very-secret-1\" }\n[[gateway]]\nid = \"g\"\nauth_tokens = [\"tok-very-secret-2\"]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("very-secret"), "{text}");
    assert!(text.contains("redacted"), "{text}");

    // Every error in the file, not only the first.
    std::fs::write(
        &path,
        "[server]\nlisten_typo = 1\n[upstream]\nconnect_timeout_ms = 0\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(errors.contains("server.listen_typo"), "{errors}");
    assert!(errors.contains("upstream.connect_timeout_ms"), "{errors}");
}

#[test]
fn a_dead_worker_stops_the_process_with_exit_70() {
    let (mut sluice, _dir) = spawn_with_env("", &[("SLUICE_FAULT_INJECT", "worker-panic")]);
    let mut saw_panic = false;
    while let Ok(line) = sluice.stderr.recv_timeout(WAIT) {
        saw_panic |= line.contains("panicked") && line.contains("exit 70");
    }
    assert!(saw_panic, "no log line about the dead worker");
    let status = sluice.child.wait().unwrap();
    assert_eq!(status.code(), Some(70));
}
