//! `sluice-load` as a user sees it: exit codes, the text and JSON reports, oha's flags, the
//! progress line, against sluice-mock and a raw recording server, all on loopback port 0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::load::{sluice_load, Run};
use common::raw::Raw;
use common::Mock;

fn chat(mock: &Mock) -> String {
    format!("http://{}/v1/chat/completions", mock.addr)
}

fn count(run: &Run, pointer: &str) -> u64 {
    run.json
        .pointer(pointer)
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| panic!("{pointer} missing in {}", run.json))
}

#[test]
fn a_default_run_succeeds_with_real_latencies_and_a_timeline() {
    let mock = Mock::start(&[]);
    let run = sluice_load(&["-n", "50", "-c", "2", &chat(&mock)]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(count(&run, "/ok"), 50);
    assert_eq!(count(&run, "/status_codes/200"), 50);
    assert!(count(&run, "/latency_us/min") > 0);
    assert!(count(&run, "/latency_us/p50") > 0);
    assert!(run.json["failed_us"].is_null());
    assert!(count(&run, "/bytes_received") > 50 * 100);
    let timeline = run.json["timeline"].as_array().unwrap();
    assert!(!timeline.is_empty());
    let requests: u64 = timeline
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(requests, 50);
    assert!(timeline
        .iter()
        .any(|s| s["p99_us"].as_u64().is_some_and(|p| p > 0)));
    let bars: u64 = run.json["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(bars, 50);
    for shown in [
        "50 ok, 0 errors",
        "Latency histogram",
        "[200] 50 responses",
        "received ",
    ] {
        assert!(
            run.stdout.contains(shown),
            "{shown:?} not in\n{}",
            run.stdout
        );
    }
    assert!(
        run.stderr.is_empty(),
        "no progress line off a terminal: {:?}",
        run.stderr
    );
}

#[test]
fn failures_exit_non_zero_with_status_counts_and_a_sample_body() {
    let body = format!(
        r#"{{"error":{{"message":"upstream broke","pad":"{}"}}}}"#,
        "x".repeat(1000)
    );
    let raw = Raw::answering(500, &body);
    let run = sluice_load(&["-n", "10", "-c", "2", &raw.url("/v1/chat/completions")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("10 of 10 requests failed"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("[500] 10 responses"), "{}", run.stdout);
    assert!(
        run.stdout.contains("First error response: status 500"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains(r#"{"error":{"message":"upstream broke""#));
    assert!(run.stdout.contains("no request succeeded"));
    assert_eq!(count(&run, "/errors/status/500"), 10);
    let sample = &run.json["errors"]["sample"];
    assert_eq!(sample["body"].as_str().unwrap().len(), 512);
    assert_eq!(
        (&sample["truncated"], sample["body_bytes"].as_u64()),
        (&true.into(), Some(body.len() as u64))
    );
    assert!(
        run.json["latency_us"].is_null(),
        "no latency of 0 for requests that never succeeded"
    );
    assert_eq!(count(&run, "/failed_us/count"), 10);
    assert!(count(&run, "/failed_us/min") > 0);
    let timeline = run.json["timeline"].as_array().unwrap();
    let errors: u64 = timeline.iter().map(|s| s["errors"].as_u64().unwrap()).sum();
    assert_eq!(errors, 10);
    assert!(timeline.iter().all(|s| s["p50_us"].is_null()));
}

#[test]
fn max_error_rate_decides_the_exit_code() {
    // Every second request fails; one connection makes it exactly half.
    let raw = Raw::start(|i, _| {
        Some(if i % 2 == 1 {
            (503, "{}".to_owned())
        } else {
            (200, "{}".to_owned())
        })
    });
    let url = raw.url("/");
    let allowed = sluice_load(&["-n", "10", "-c", "1", "--max-error-rate", "0.5", &url]);
    assert_eq!(allowed.code, 0, "{}{}", allowed.stdout, allowed.stderr);
    assert_eq!(
        (count(&allowed, "/ok"), count(&allowed, "/errors/total")),
        (5, 5)
    );
    assert!(
        allowed.stdout.contains("[200] 5 responses")
            && allowed.stdout.contains("[503] 5 responses")
    );
    let strict = sluice_load(&["-n", "10", "-c", "1", "--max-error-rate", "0.4", &url]);
    assert_eq!(strict.code, 1);
    assert!(
        strict.stderr.contains("5 of 10 requests failed (50.00%)"),
        "{}",
        strict.stderr
    );
}

#[test]
fn an_unreachable_target_fails_clearly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
    for extra in [&[][..], &["--max-error-rate", "1"]] {
        let mut args = vec!["-n", "5", "-c", "1", url.as_str()];
        args.extend_from_slice(extra);
        let run = sluice_load(&args);
        assert_eq!(run.code, 1, "{extra:?}: {}", run.stdout);
        assert!(run.stderr.contains("no response from"), "{}", run.stderr);
        assert!(run.stderr.contains("connection refused"), "{}", run.stderr);
        assert_eq!(count(&run, "/errors/kinds/connect: connection refused"), 5);
        assert!(run.json["latency_us"].is_null());
        assert!(
            !run.stdout.contains("  ok "),
            "no latency row for successes: {}",
            run.stdout
        );
    }
}

#[test]
fn oha_flags_are_honoured() {
    let raw = Raw::answering(200, r#"{"ok":true}"#);
    let run = sluice_load(&[
        "-n",
        "7",
        "-c",
        "3",
        "-m",
        "put",
        "-d",
        r#"{"model":"x","n":1}"#,
        "--model",
        "groq/llama",
        "-H",
        "X-One: 1",
        "-H",
        "X-Two: two",
        &raw.url("/v1/x?y=1"),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let seen = raw.requests();
    assert_eq!(seen.len(), 7);
    assert_eq!(raw.connections(), 3, "-c 3 is three keep-alive connections");
    for request in &seen {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("PUT", "/v1/x?y=1")
        );
        assert_eq!(
            (request.header("x-one"), request.header("x-two")),
            (Some("1"), Some("two"))
        );
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            (&body["model"], &body["n"]),
            (&"groq/llama".into(), &1.into())
        );
    }
    let timed = sluice_load(&["-z", "300ms", "-c", "1", &raw.url("/")]);
    assert_eq!(timed.code, 0);
    assert_eq!(timed.json["config"]["bound"]["duration"], 0.3);
    assert!(timed.json["elapsed_s"].as_f64().unwrap() >= 0.3);
}

#[test]
fn the_default_body_names_a_provider_model() {
    let raw = Raw::answering(200, "{}");
    let run = sluice_load(&["-n", "1", &raw.url("/compat/chat/completions")]);
    assert_eq!(run.code, 0);
    let request = &raw.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["model"], "openai/mock-gpt");
    let other = sluice_load(&["-n", "1", "--model", "anthropic/claude-x", &raw.url("/")]);
    assert_eq!(other.code, 0);
    let body: serde_json::Value = serde_json::from_slice(&raw.requests()[1].body).unwrap();
    assert_eq!(body["model"], "anthropic/claude-x");
}

#[test]
fn a_connection_closed_mid_exchange_is_an_error_with_its_kind() {
    let raw = Raw::start(|_, _| None);
    let run = sluice_load(&["-n", "4", "-c", "1", &raw.url("/")]);
    assert_eq!(run.code, 1);
    assert_eq!(count(&run, "/errors/io"), 4);
    assert!(
        run.stdout
            .contains("connection closed before the response ended"),
        "{}",
        run.stdout
    );
}

#[test]
fn help_version_and_usage_errors() {
    let help = sluice_load(&["--help"]);
    assert_eq!(help.code, 0);
    for flag in [
        "-c, --concurrency",
        "-n, --requests",
        "-z, --duration",
        "-m, --method",
        "-d, --data",
        "-H, --header",
        "--model",
        "--insecure",
        "--cacert",
        "--max-error-rate",
        "Exit status",
    ] {
        assert!(help.stdout.contains(flag), "{flag} not in --help");
    }
    assert!(sluice_load(&["-V"]).stdout.starts_with("sluice-load "));
    let bad = sluice_load(&["--bogus", "http://127.0.0.1:1/"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--bogus"), "{}", bad.stderr);
    assert_eq!(sluice_load(&["-n", "1"]).code, 2, "a URL is required");
}

/// Runs sluice-load with stderr on a pseudo-terminal; returns what the terminal got.
fn on_a_terminal(args: &[&str]) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: out-pointers to two locals; null name, termios and winsize are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors were just opened by openpty and are owned here alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sluice-load"));
    command
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(slave);
    let mut child = command.spawn().unwrap();
    drop(command); // the parent's copy of the slave: the master reads EOF once the child exits
    let reader = std::thread::spawn(move || {
        let mut file = std::fs::File::from(master);
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        // Linux answers EIO once no slave is open: the end of the output.
        while let Ok(n @ 1..) = file.read(&mut chunk) {
            out.extend_from_slice(&chunk[..n]);
        }
        out
    });
    assert!(child.wait().unwrap().success());
    String::from_utf8_lossy(&reader.join().unwrap()).into_owned()
}

#[test]
fn the_progress_line_is_drawn_on_a_terminal_only() {
    let mock = Mock::start(&[]);
    let url = chat(&mock);
    // One second of load spans four 250 ms ticks of the progress line.
    let drawn = on_a_terminal(&["-z", "1s", "-c", "1", &url]);
    assert!(drawn.contains("\r["), "{drawn:?}");
    assert!(
        drawn.contains("s left] ") && drawn.contains(" req/s"),
        "{drawn:?}"
    );
    let quiet = on_a_terminal(&["-z", "1s", "-c", "1", "--quiet", &url]);
    assert!(!quiet.contains("req/s"), "{quiet:?}");
    let piped = sluice_load(&["-z", "1s", "-c", "1", &url]);
    assert_eq!(piped.code, 0);
    assert!(
        !piped.stderr.contains('\r') && !piped.stderr.contains("req/s"),
        "{:?}",
        piped.stderr
    );
}
