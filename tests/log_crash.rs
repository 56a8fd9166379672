//! The request log across a `kill -9`: the real binary under load from a few threads,
//! killed, restarted on the same data_dir; every listed entry's bodies read back whole or absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::binary::ServedBinary as Sluice;
use common::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn spawn(dir: &Path, upstream: &Upstream) -> Sluice {
    let path = dir.join("sluice.toml");
    let config = format!(
        "[server]\nadmin_listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{}",
        dir.display(),
        config_for(upstream, "")
    );
    std::fs::write(&path, config).unwrap();
    Sluice::start(&path, &[])
}

/// Request `n`'s body: large enough to span pages and writes, distinct per `n`, with
/// messages shared by many requests (the log stores those once).
fn request_for(n: u64) -> String {
    let pad: String = (0..(8 * 1024 + (n % 7) * 3000))
        .map(|i| char::from(b'a' + ((i + n) % 26) as u8))
        .collect();
    let shared = format!("{} {}", n % 3, "s".repeat(2000));
    format!(
        r#"{{"model":"mock/m","n":{n},"messages":[{{"role":"system","content":"{shared}"}},{{"role":"user","content":"{pad}"}}]}}"#
    )
}

/// The upstream's answer to request `n`.
fn response_for(n: u64) -> String {
    let pad = "z".repeat(4 * 1024 + (n as usize % 5) * 2000);
    format!(
        r#"{{"id":"r{n}","object":"chat.completion","n":{n},"choices":[{{"index":0,"message":{{"role":"assistant","content":"{pad}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}}}"#
    )
}

/// The `"n":` number in a body made by `request_for` or `response_for`.
fn n_of(body: &[u8]) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("a torn body ({e}): {}", String::from_utf8_lossy(body)));
    value["n"].as_u64().unwrap()
}

/// One request on its own connection; `None` once the gateway is gone.
fn send(addr: SocketAddr, n: u64) -> Option<(u16, Option<String>)> {
    let body = request_for(n);
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(WAIT)).ok()?;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.get(9..12)?.parse().ok()?;
    let log_id = head
        .lines()
        .find_map(|l| l.strip_prefix("cf-aig-log-id: "))
        .map(str::to_string);
    Some((status, log_id))
}

fn admin_get(addr: SocketAddr, target: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&raw[9..12]).parse().unwrap();
    (status, raw[split + 4..].to_vec())
}

/// Every log id the admin API lists for gateway "default".
fn listed(admin: SocketAddr) -> Vec<String> {
    let mut ids = Vec::new();
    for page in 1.. {
        let target = format!("/api/v1/gateways/default/logs?per_page=1000&page={page}");
        let (status, body) = admin_get(admin, &target);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let result = list["result"].as_array().unwrap();
        ids.extend(result.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        if result.len() < 1000 {
            break;
        }
    }
    ids
}

/// Reads entry `id`'s `part`: `Some(body)` when stored, `None` when reported absent.
fn stored(admin: SocketAddr, id: &str, part: &str) -> Option<Vec<u8>> {
    let (status, body) = admin_get(admin, &format!("/api/v1/gateways/default/logs/{id}/{part}"));
    match status {
        200 => Some(body),
        404 => None,
        other => panic!("{part} of {id}: {other} {}", String::from_utf8_lossy(&body)),
    }
}

#[test]
fn after_a_kill_9_every_listed_entry_has_whole_bodies_or_none() {
    let up = Upstream::start(|seen, w| {
        write_json(w, 200, &response_for(n_of(&seen.body)));
        After::KeepAlive
    });
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = spawn(dir.path(), &up);
    let next = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // Log id -> n, for the answers that came back before the kill.
    let seen_ids = Arc::new(Mutex::new(HashMap::new()));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (next, answered, stop, seen_ids) = (
                next.clone(),
                answered.clone(),
                stop.clone(),
                seen_ids.clone(),
            );
            let addr = sluice.addr;
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some((status, id)) = send(addr, n) else {
                        return;
                    };
                    assert_eq!(status, 200);
                    seen_ids.lock().unwrap().insert(id.unwrap(), n);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Mid-load: once several commits' worth of entries were answered.
    let deadline = Instant::now() + WAIT;
    while answered.load(Ordering::Relaxed) < 400 {
        assert!(Instant::now() < deadline, "load too slow");
        std::thread::yield_now();
    }
    // SAFETY: a signal to our own child process.
    unsafe { libc::kill(sluice.child.id() as i32, libc::SIGKILL) };
    sluice.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for thread in load {
        thread.join().unwrap();
    }

    let sluice = spawn(dir.path(), &up);
    let ids = listed(sluice.admin_addr());
    assert!(
        !ids.is_empty(),
        "entries committed before the kill are listed"
    );
    let seen_ids = seen_ids.lock().unwrap();
    let (mut whole, mut absent) = (0, 0);
    for id in &ids {
        let request = stored(sluice.admin_addr(), id, "request");
        let response = stored(sluice.admin_addr(), id, "response");
        // The body's own number says which request it was; the client's record agrees.
        let n = request.as_deref().or(response.as_deref()).map(n_of);
        if let (Some(n), Some(known)) = (n, seen_ids.get(id)) {
            assert_eq!(n, *known, "entry {id}");
        }
        match (&request, n) {
            (Some(body), Some(n)) => assert_eq!(body, request_for(n).as_bytes(), "{id}"),
            _ => absent += 1,
        }
        match (&response, n) {
            (Some(body), Some(n)) => assert_eq!(body, response_for(n).as_bytes(), "{id}"),
            _ => absent += 1,
        }
        whole += usize::from(request.is_some()) + usize::from(response.is_some());
    }
    assert!(whole > 0, "{} entries, every body absent", ids.len());
    eprintln!(
        "{} entries listed: {whole} bodies whole, {absent} absent",
        ids.len()
    );

    // The gateway serves again, and logs.
    let (status, id) = send(sluice.addr, 1_000_000).unwrap();
    assert_eq!(status, 200);
    let id = id.unwrap();
    let deadline = Instant::now() + WAIT;
    let request = loop {
        if let Some(body) = stored(sluice.admin_addr(), &id, "request") {
            break body;
        }
        assert!(Instant::now() < deadline, "new entry never logged");
        std::thread::yield_now();
    };
    assert_eq!(request, request_for(1_000_000).as_bytes());
}
