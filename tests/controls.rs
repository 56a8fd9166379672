//! The [controls] stage end to end on loopback: cache (hit/miss header, key separation by
//! credential, TTL on a manual clock, LRU eviction under the byte bound, streamed bodies)
//! and rate limits exact over several workers. Retries and timeouts: tests/retry_timeout.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sluice::controls::ResponseCache;
use sluice::proxy::ControlState;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CHAT: &str = r#"{"model":"mock/m","messages":[{"role":"user","content":"hi"}]}"#;

/// An upstream answering `{"n":i}` to its i-th request (0-based); the count is shared.
fn counting() -> (Upstream, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| {
        let i = seen.fetch_add(1, Ordering::SeqCst);
        write_json(w, 200, &format!("{{\"n\":{i}}}"));
        After::KeepAlive
    });
    (up, count)
}

fn gateway_settings(settings: &str) -> String {
    format!("[[gateway]]\nid = \"default\"\n{settings}\n")
}

fn chat(gw: &Gateway, headers: &str, body: &str) -> Response {
    gw.send(&post("/v1/chat/completions", headers, body))
}

#[test]
fn miss_then_hit_with_header_and_no_upstream_connection() {
    let (up, count) = counting();
    let gw = Gateway::start(&config_for(&up, &gateway_settings("cache_ttl_s = 60")));
    let first = chat(&gw, "", CHAT);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("cf-aig-cache-status"), Some("MISS"));
    assert_eq!(first.body, br#"{"n":0}"#);
    let second = chat(&gw, "", CHAT);
    assert_eq!(second.status, 200);
    assert_eq!(second.header("cf-aig-cache-status"), Some("HIT"));
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_eq!(second.body, br#"{"n":0}"#);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(up.accept_count(), 1, "a hit opens no upstream connection");
    // A different body is another entry.
    let other = chat(&gw, "", r#"{"model":"mock/m","messages":[]}"#);
    assert_eq!(other.header("cf-aig-cache-status"), Some("MISS"));
    assert_eq!(other.body, br#"{"n":1}"#);
}

#[test]
fn no_cache_status_when_the_cache_is_off_or_skipped() {
    let (up, count) = counting();
    let gw = Gateway::start(&config_for(&up, &gateway_settings("cache_ttl_s = 60")));
    for _ in 0..2 {
        let resp = chat(&gw, "cf-aig-skip-cache: true\r\n", CHAT);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("cf-aig-cache-status"), None);
    }
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let (up, count) = counting();
    let gw = Gateway::start(&config_for(&up, ""));
    for _ in 0..2 {
        assert_eq!(chat(&gw, "", CHAT).header("cf-aig-cache-status"), None);
    }
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn default_key_separates_credentials() {
    let (up, count) = counting();
    let gw = Gateway::start(&config_for(
        &up,
        &gateway_settings("cache_ttl_s = 60\nclient_keys = \"client-first\""),
    ));
    let a = chat(&gw, "authorization: Bearer sk-a\r\n", CHAT);
    let b = chat(&gw, "authorization: Bearer sk-b\r\n", CHAT);
    assert_eq!(a.header("cf-aig-cache-status"), Some("MISS"));
    assert_eq!(b.header("cf-aig-cache-status"), Some("MISS"));
    assert_eq!(
        (a.body.as_slice(), b.body.as_slice()),
        (&br#"{"n":0}"#[..], &br#"{"n":1}"#[..])
    );
    let a_again = chat(&gw, "authorization: Bearer sk-a\r\n", CHAT);
    assert_eq!(a_again.header("cf-aig-cache-status"), Some("HIT"));
    assert_eq!(a_again.body, br#"{"n":0}"#);
    // The stored key is a third credential.
    assert_eq!(chat(&gw, "", CHAT).body, br#"{"n":2}"#);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn custom_key_opts_in_and_is_shared_across_bodies() {
    let (up, count) = counting();
    let gw = Gateway::start(&config_for(&up, ""));
    let first = chat(&gw, "cf-aig-cache-key: greeting\r\n", CHAT);
    assert_eq!(first.header("cf-aig-cache-status"), Some("MISS"));
    let other_body = r#"{"model":"mock/m","messages":[]}"#;
    let second = chat(&gw, "cf-aig-cache-key: greeting\r\n", other_body);
    assert_eq!(second.header("cf-aig-cache-status"), Some("HIT"));
    assert_eq!(second.body, br#"{"n":0}"#);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn ttl_expires_on_the_clock() {
    let (up, count) = counting();
    let clock = ManualClock::at(SystemTime::now());
    let injected = clock.clone();
    let gw = Gateway::start_with(&config_for(&up, ""), move |s| {
        Some(ControlState::new(s, injected))
    });
    let ttl = "cf-aig-cache-ttl: 60\r\n";
    assert_eq!(
        chat(&gw, ttl, CHAT).header("cf-aig-cache-status"),
        Some("MISS")
    );
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        chat(&gw, ttl, CHAT).header("cf-aig-cache-status"),
        Some("HIT")
    );
    clock.advance(Duration::from_secs(1));
    let expired = chat(&gw, ttl, CHAT);
    assert_eq!(expired.header("cf-aig-cache-status"), Some("MISS"));
    assert_eq!(expired.body, br#"{"n":1}"#);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn least_recently_used_is_evicted_under_the_byte_bound() {
    // Bodies of ~1000 bytes: two entries fit in 3000 bytes, three do not.
    let big = "x".repeat(1000);
    let up = Upstream::start(move |_, w| {
        write_json(w, 200, &format!("\"{big}\""));
        After::KeepAlive
    });
    let gw = Gateway::start_with(
        &config_for(&up, &gateway_settings("cache_ttl_s = 60")),
        |s| {
            Some(ControlState::with_cache(
                s,
                Some(ResponseCache::with_shards(3000, 1)),
                Arc::new(sluice::proxy::SystemClock),
            ))
        },
    );
    let body = |name: &str| format!(r#"{{"model":"mock/m","messages":[],"user":"{name}"}}"#);
    let status = |name: &str| {
        chat(&gw, "", &body(name))
            .header("cf-aig-cache-status")
            .map(str::to_owned)
    };
    for name in ["a", "b", "c"] {
        assert_eq!(status(name).as_deref(), Some("MISS"), "{name}");
    }
    // Storing c pushed out a, the least recently used; b and c remain.
    assert_eq!(status("c").as_deref(), Some("HIT"));
    assert_eq!(status("b").as_deref(), Some("HIT"));
    assert_eq!(status("a").as_deref(), Some("MISS"));
    // Storing a again pushed out c (b was used more recently).
    assert_eq!(status("b").as_deref(), Some("HIT"));
    assert_eq!(status("c").as_deref(), Some("MISS"));
}

const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn chunk(w: &mut dyn Write, data: &[u8]) {
    write!(w, "{:x}\r\n", data.len()).unwrap();
    w.write_all(data).unwrap();
    w.write_all(b"\r\n").unwrap();
    w.flush().unwrap();
}

#[test]
fn streamed_response_is_replayed_as_the_same_bytes() {
    let fixture: &'static [u8] = include_bytes!("fixtures/openai/chat-stream-text.sse");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| {
        seen.fetch_add(1, Ordering::SeqCst);
        w.write_all(SSE_HEAD).unwrap();
        for piece in fixture.chunks(97) {
            chunk(w, piece);
        }
        w.write_all(b"0\r\n\r\n").unwrap();
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, &gateway_settings("cache_ttl_s = 60")));
    let stream = r#"{"model":"mock/m","stream":true,"messages":[]}"#;
    let first = chat(&gw, "", stream);
    assert_eq!(first.header("cf-aig-cache-status"), Some("MISS"));
    assert!(first.complete);
    assert_eq!(first.body, fixture);
    let second = chat(&gw, "", stream);
    assert_eq!(second.header("cf-aig-cache-status"), Some("HIT"));
    assert_eq!(second.header("content-type"), Some("text/event-stream"));
    assert_eq!(second.body, fixture);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn only_successful_responses_are_stored() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let up = Upstream::start(move |_, w| {
        seen.fetch_add(1, Ordering::SeqCst);
        write_json(w, 500, r#"{"error":"boom"}"#);
        After::KeepAlive
    });
    let gw = Gateway::start(&config_for(&up, &gateway_settings("cache_ttl_s = 60")));
    for _ in 0..2 {
        let resp = chat(&gw, "", CHAT);
        assert_eq!(resp.status, 500);
        assert_eq!(resp.header("cf-aig-cache-status"), Some("MISS"));
        assert_eq!(resp.body, br#"{"error":"boom"}"#);
    }
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn bad_control_headers_are_400_2003_naming_the_header() {
    let (up, count) = counting();
    let gw = Gateway::start(&config_for(&up, ""));
    for (name, value) in [
        ("cf-aig-cache-ttl", "59"),
        ("cf-aig-cache-ttl", "abc"),
        ("cf-aig-skip-cache", "yes"),
        ("cf-aig-cache-key", ""),
        ("cf-aig-request-timeout", "0"),
        ("cf-aig-max-attempts", "6"),
        ("cf-aig-retry-delay", "60001"),
        ("cf-aig-backoff", "quadratic"),
    ] {
        let resp = chat(&gw, &format!("{name}: {value}\r\n"), CHAT);
        assert_eq!(resp.status, 400, "{name}: {value}");
        assert_eq!(resp.code(), 2003);
        let message = resp.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(name), "{message}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

/// Sends `n` requests at once, each on its own connection, to `path`; returns the statuses
/// and every 429's (code, Retry-After).
fn burst(gw: &Gateway, path: &str, n: usize) -> (usize, Vec<(i64, u64)>) {
    let barrier = Barrier::new(n);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for i in 0..n {
            let (barrier, results) = (&barrier, &results);
            s.spawn(move || {
                let mut c = gw.connect();
                let body = format!(r#"{{"model":"m","i":{i}}}"#);
                barrier.wait();
                c.write(&post(path, "", &body));
                let resp = c.response();
                results.lock().unwrap().push(resp);
            });
        }
    });
    let results = results.into_inner().unwrap();
    let ok = results.iter().filter(|r| r.status == 200).count();
    let refused = results
        .iter()
        .filter(|r| r.status != 200)
        .map(|r| {
            assert_eq!(r.status, 429);
            (r.code(), r.header("retry-after").unwrap().parse().unwrap())
        })
        .collect();
    (ok, refused)
}

#[test]
fn rate_limits_are_exact_across_workers_for_both_techniques() {
    let (up, _) = counting();
    let extra = "[server]\nworkers = 4\n\
        [[gateway]]\nid = \"fixed\"\nrate_limit = { limit = 7, interval_s = 60, technique = \"fixed\" }\n\
        [[gateway]]\nid = \"sliding\"\nrate_limit = { limit = 7, interval_s = 60, technique = \"sliding\" }\n";
    // 59 s into a fixed window, so the next one starts after one second.
    let window_start = 60
        * (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 60);
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(window_start + 59));
    let injected = clock.clone();
    let gw = Gateway::start_with(&config_for(&up, extra), move |s| {
        Some(ControlState::new(s, injected))
    });
    let fixed = "/v1/acct/fixed/mock/chat/completions";
    let sliding = "/v1/acct/sliding/mock/chat/completions";
    // Retry-After: the fixed window ends in 1 s; the sliding one frees its oldest in 60 s.
    for (path, retry_after) in [(fixed, 1), (sliding, 60)] {
        let (ok, refused) = burst(&gw, path, 24);
        assert_eq!(ok, 7, "{path}: exactly the limit passes");
        assert_eq!(refused.len(), 17);
        assert!(
            refused.iter().all(|&r| r == (2012, retry_after)),
            "{path}: {refused:?}"
        );
    }
    // One second later: a new fixed window; the sliding window still holds all 7.
    clock.advance(Duration::from_secs(1));
    assert_eq!(burst(&gw, fixed, 10).0, 7);
    let (ok, refused) = burst(&gw, sliding, 10);
    assert_eq!(ok, 0);
    assert!(
        refused
            .iter()
            .all(|&(code, after)| code == 2012 && after == 59),
        "{refused:?}"
    );
    // A full interval after the first burst the sliding window is empty again.
    clock.advance(Duration::from_secs(59));
    assert_eq!(burst(&gw, sliding, 10).0, 7);
    // The default gateway has no limit.
    assert_eq!(
        burst(&gw, "/v1/acct/default/mock/chat/completions", 10).0,
        10
    );
}

#[test]
fn cache_hits_do_not_count_against_the_rate_limit() {
    let (up, count) = counting();
    let gw = Gateway::start(&config_for(
        &up,
        &gateway_settings("cache_ttl_s = 60\nrate_limit = { limit = 1, interval_s = 3600 }"),
    ));
    assert_eq!(
        chat(&gw, "", CHAT).header("cf-aig-cache-status"),
        Some("MISS")
    );
    for _ in 0..3 {
        let hit = chat(&gw, "", CHAT);
        assert_eq!(hit.status, 200);
        assert_eq!(hit.header("cf-aig-cache-status"), Some("HIT"));
    }
    let other = chat(&gw, "", r#"{"model":"mock/m","messages":[]}"#);
    assert_eq!(other.status, 429);
    assert_eq!(other.code(), 2012);
    assert!(other.header("retry-after").is_some());
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
