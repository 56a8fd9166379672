//! Runs the real `sluice-load` binary for the tests and hands back what a user sees: the exit
//! code, stdout (the report), stderr, and the `--json` report.
#![allow(dead_code, reason = "each test file uses a different part")]

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// One finished run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The `--json` report; `Null` when none was written.
    pub json: serde_json::Value,
}

/// Runs `sluice-load ARGS --json TMP` with stdout and stderr captured (so not a terminal).
pub fn sluice_load(args: &[&str]) -> Run {
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("sluice-load-{}-{n}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-load"))
        .args(args)
        .args(["--json", path.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let json = match std::fs::read(&path) {
        Ok(bytes) => {
            std::fs::remove_file(&path).unwrap();
            serde_json::from_slice(&bytes).unwrap()
        }
        Err(_) => serde_json::Value::Null,
    };
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        json,
    }
}
