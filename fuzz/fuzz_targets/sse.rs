//! `sse::SseScanner::feed` on arbitrary bytes: it never panics, and splitting the
//! input anywhere (once, at every byte, or in random pieces) yields the same events.
//! With a limit smaller than the input the scanner may drop events, but still must
//! not panic, and dispatches nothing over the limit.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sluice::sse::SseScanner;

type Event = (Option<String>, Vec<u8>, Option<String>);

fn scan(scanner: &mut SseScanner, pieces: &[&[u8]]) -> Vec<Event> {
    let mut events = Vec::new();
    for piece in pieces {
        scanner.feed(piece, |e| {
            events.push((
                e.event.map(str::to_owned),
                e.data.to_vec(),
                e.id.map(str::to_owned),
            ))
        });
    }
    events
}

fuzz_target!(|data: &[u8]| {
    let mut rng = common::Rng::for_input(data);

    let mut scanner = SseScanner::new();
    let whole = scan(&mut scanner, &[data]);
    assert!(
        !scanner.overflowed(),
        "the input is far below the default limit"
    );
    for (_, event_data, _) in &whole {
        assert!(event_data.len() <= data.len());
        assert!(!event_data.contains(&b'\r'));
    }
    for pieces in common::splittings(data, &mut rng, 96) {
        let mut scanner = SseScanner::new();
        let got = scan(&mut scanner, &pieces);
        assert!(
            got == whole,
            "pieces {:?} give other events",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
    }

    // A limit that the input may exceed: whatever is dispatched fits in it, and a
    // limit no smaller than the input changes nothing.
    let limit = rng.below(data.len() + 64);
    let mut small = SseScanner::with_max_event_bytes(limit);
    let max_piece = 1 + rng.below(32);
    let pieces = common::random_pieces(data, &mut rng, max_piece);
    let got = scan(&mut small, &pieces);
    for (_, event_data, _) in &got {
        assert!(
            event_data.len() <= limit,
            "{} bytes over a limit of {limit}",
            event_data.len()
        );
    }
    if limit >= data.len() {
        assert!(
            got == whole,
            "a limit of {limit} for {} bytes changed the events",
            data.len()
        );
        assert!(!small.overflowed());
    }
});
