//! `http::ChunkedDecoder::feed` on arbitrary bytes fed in arbitrary splits: it never
//! panics, and the data, the error and the end it finds do not depend on the split.
//! The input is also encoded as a chunked body (with `write_chunk_header`) and must
//! decode back to itself.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sluice::http::{write_chunk_header, ChunkedDecoder, HttpError, CHUNK_END, LAST_CHUNK};

/// What decoding `pieces` in order gave: the body bytes, the bytes consumed (0 on an
/// error), and whether the body ended (or why it failed).
#[derive(Debug, PartialEq)]
struct Outcome {
    data: Vec<u8>,
    consumed: usize,
    end: Result<bool, HttpError>,
}

fn decode(pieces: &[&[u8]]) -> Outcome {
    let mut decoder = ChunkedDecoder::new();
    let mut data = Vec::new();
    let mut consumed = 0;
    for piece in pieces {
        match decoder.feed(piece, |d| data.extend_from_slice(d)) {
            Ok(progress) => {
                assert!(progress.consumed <= piece.len());
                assert_eq!(progress.done, decoder.is_done());
                consumed += progress.consumed;
                if progress.done {
                    return Outcome {
                        data,
                        consumed,
                        end: Ok(true),
                    };
                }
                assert_eq!(progress.consumed, piece.len(), "stopped before the end");
            }
            Err(e) => {
                assert_eq!(e.status(), 400);
                // `feed` reports no position on an error: the bytes before it count as
                // consumed only when they came in earlier pieces, so none are counted.
                return Outcome {
                    data,
                    consumed: 0,
                    end: Err(e),
                };
            }
        }
    }
    Outcome {
        data,
        consumed,
        end: Ok(false),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = common::Rng::for_input(data);

    let whole = decode(&[data]);
    assert!(whole.data.len() <= data.len());
    for pieces in common::splittings(data, &mut rng, 128) {
        assert_eq!(
            decode(&pieces),
            whole,
            "split {:?}",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
    }

    // Round trip: the input as the data of a chunked body, cut into random chunks.
    let mut body = Vec::new();
    for chunk in common::random_pieces(data, &mut rng, 300) {
        if chunk.is_empty() {
            continue; // a zero-size chunk would be the last one
        }
        write_chunk_header(chunk.len(), &mut body);
        body.extend_from_slice(chunk);
        body.extend_from_slice(CHUNK_END);
    }
    body.extend_from_slice(LAST_CHUNK);
    let encoded_len = body.len();
    body.extend_from_slice(b"GET / HTTP/1.1\r\n"); // the next request: not consumed
    for pieces in common::splittings(&body, &mut rng, 0) {
        let got = decode(&pieces);
        assert_eq!(got.end, Ok(true));
        assert_eq!(got.consumed, encoded_len);
        assert_eq!(got.data, data);
    }
});
