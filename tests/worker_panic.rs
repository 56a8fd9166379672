//! A request that panics (a bug injected through the controls' clock) closes its own
//! connection only: the worker goes on serving and counts it. (A worker that dies outside
//! any request stops the process: tests/shutdown.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sluice::proxy::{Clock, ControlState};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The real clock, but the next reading after `arm` panics the worker that reads it.
#[derive(Default)]
struct TrapClock {
    armed: AtomicBool,
}

impl Clock for TrapClock {
    fn now(&self) -> Instant {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("injected worker panic");
        }
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[test]
fn a_panicking_request_costs_only_its_connection() {
    let up = Upstream::fixed(200, "application/json", br#"{"ok":true}"#);
    let clock = Arc::new(TrapClock::default());
    let trap = clock.clone();
    // One worker: what answers after the panic is the same worker.
    let config = config_for(&up, "[server]\nworkers = 1\n");
    let gw = Gateway::start_with(&config, move |s| Some(ControlState::new(s, clock)));
    let request = post("/v1/chat/completions", "", r#"{"model":"mock/m"}"#);
    assert_eq!(gw.send(&request).status, 200);

    trap.armed.store(true, Ordering::SeqCst);
    let mut conn = TcpStream::connect(gw.addr).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    conn.write_all(&request).unwrap();
    let mut answer = Vec::new();
    // Closed at once, without an answer (a read timeout would be an Err here).
    conn.read_to_end(&mut answer).unwrap();
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));

    for _ in 0..3 {
        assert_eq!(gw.send(&request).status, 200);
    }
    let readiness = gw.server().readiness();
    assert_eq!(readiness.panics(), 1);
    assert!(readiness.is_ready());
}
