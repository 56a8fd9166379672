//! The scanner on every recorded provider stream in tests/fixtures: same events
//! whole, split in two at every byte, and one byte at a time.

use std::path::PathBuf;

use super::tests::scan;
use super::SseScanner;

type Events = Vec<(Option<String>, Vec<u8>, Option<String>)>;

fn fixture(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for provider in ["openai", "anthropic", "gemini"] {
        for entry in std::fs::read_dir(root.join(provider)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sse") {
                let name = format!("{provider}/{}", path.file_name().unwrap().to_string_lossy());
                out.push((name.clone(), fixture(&name)));
            }
        }
    }
    out.sort();
    out
}

fn whole(text: &[u8]) -> Events {
    scan(&mut SseScanner::new(), text, text.len())
}

#[test]
fn every_fixture_scans_the_same_however_split() {
    let fixtures = all_fixtures();
    assert_eq!(fixtures.len(), 17, "expected every recorded .sse fixture");
    for (name, text) in &fixtures {
        let want = whole(text);
        // Each recorded event has exactly one data line: an independent count.
        let data_lines = text
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"data:"))
            .count();
        assert_eq!(want.len(), data_lines, "{name}");
        for (_, data, _) in &want {
            if data != b"[DONE]" {
                serde_json::from_slice::<serde_json::Value>(data)
                    .unwrap_or_else(|e| panic!("{name}: event data is not JSON: {e}"));
            }
        }
        assert_eq!(
            scan(&mut SseScanner::new(), text, 1),
            want,
            "{name} byte by byte"
        );
        for cut in 0..=text.len() {
            let mut scanner = SseScanner::new();
            let mut got = scan(&mut scanner, &text[..cut], cut.max(1));
            got.extend(scan(&mut scanner, &text[cut..], text.len()));
            assert_eq!(got, want, "{name} split at {cut}");
        }
    }
}

#[test]
fn openai_stream_ends_with_done_and_carries_usage() {
    let events = whole(&fixture("openai/chat-stream-include-usage-text.sse"));
    let (last, usage) = (events.len() - 1, events.len() - 2);
    assert_eq!(events[last].1, b"[DONE]");
    let chunk: serde_json::Value = serde_json::from_slice(&events[usage].1).unwrap();
    assert!(chunk["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert!(events
        .iter()
        .all(|(event, _, id)| event.is_none() && id.is_none()));
    assert_eq!(
        whole(&fixture("openai/chat-stream-text.sse"))
            .last()
            .unwrap()
            .1,
        b"[DONE]"
    );
}

#[test]
fn anthropic_event_names_in_order() {
    let events = whole(&fixture("anthropic/stream-text.sse"));
    let names: Vec<_> = events
        .iter()
        .map(|(e, _, _)| e.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    // The padding after the JSON is kept: the scanner only observes.
    assert!(events[1].1.ends_with(b"}               }"));
}

#[test]
fn gemini_crlf_events_have_no_stray_cr() {
    let events = whole(&fixture("gemini/stream-sse-text.sse"));
    assert_eq!(events.len(), 3);
    for (event, data, _) in &events {
        assert!(event.is_none());
        assert!(!data.contains(&b'\r'), "CR leaked into data");
        assert!(data.starts_with(b"{\"candidates\""));
    }
}
