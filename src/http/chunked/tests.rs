//! Tests of the chunked decoder (split anywhere, extensions, trailers, bad input)
//! and of the chunk encoding helpers.

use super::*;

/// Decodes all of `input` in one call; returns the body and the progress.
fn decode(input: &[u8]) -> Result<(Vec<u8>, ChunkProgress), HttpError> {
    let mut body = Vec::new();
    let progress = ChunkedDecoder::new().feed(input, |d| body.extend_from_slice(d))?;
    Ok((body, progress))
}

/// Feeds `input` in pieces of `step` bytes, checking that every byte before the end is consumed.
fn decode_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, usize), HttpError> {
    let mut decoder = ChunkedDecoder::new();
    let mut body = Vec::new();
    let mut consumed = 0;
    for piece in input.chunks(step) {
        let progress = decoder.feed(piece, |d| body.extend_from_slice(d))?;
        consumed += progress.consumed;
        if progress.done {
            return Ok((body, consumed));
        }
        assert_eq!(
            progress.consumed,
            piece.len(),
            "bytes left over before the end"
        );
    }
    Err(HttpError::BadChunk("input ended before the last chunk"))
}

fn encode(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces {
        write_chunk_header(piece.len(), &mut out);
        out.extend_from_slice(piece);
        out.extend_from_slice(CHUNK_END);
    }
    out.extend_from_slice(LAST_CHUNK);
    out
}

fn bad(input: &[u8]) {
    assert!(
        matches!(decode(input), Err(HttpError::BadChunk(_))),
        "expected BadChunk for {:?}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn simple_body() {
    let (body, progress) = decode(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n").unwrap();
    assert_eq!(body, b"Wikipedia");
    assert_eq!(
        progress,
        ChunkProgress {
            consumed: 24,
            done: true
        }
    );
}

#[test]
fn empty_body() {
    let (body, progress) = decode(b"0\r\n\r\n").unwrap();
    assert!(body.is_empty());
    assert!(progress.done);
}

#[test]
fn bytes_after_the_end_are_not_consumed() {
    let input = b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
    let mut decoder = ChunkedDecoder::new();
    let progress = decoder.feed(input, |_| {}).unwrap();
    assert_eq!(
        progress,
        ChunkProgress {
            consumed: 13,
            done: true
        }
    );
    assert!(decoder.is_done());
    // Once done, nothing more is taken.
    assert_eq!(
        decoder.feed(b"more", |_| {}).unwrap(),
        ChunkProgress {
            consumed: 0,
            done: true
        }
    );
}

#[test]
fn incomplete_input_is_consumed_and_not_done() {
    let mut decoder = ChunkedDecoder::new();
    let mut body = Vec::new();
    let progress = decoder
        .feed(b"a\r\n01234", |d| body.extend_from_slice(d))
        .unwrap();
    assert_eq!(
        progress,
        ChunkProgress {
            consumed: 8,
            done: false
        }
    );
    assert_eq!(body, b"01234");
    let progress = decoder
        .feed(b"56789\r\n0\r\n\r\n", |d| body.extend_from_slice(d))
        .unwrap();
    assert!(progress.done);
    assert_eq!(body, b"0123456789");
}

#[test]
fn sse_fixture_one_byte_at_a_time_equals_whole() {
    let sse = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/openai/chat-stream-include-usage-text.sse"
    ));
    // Chunk it the way an upstream might: uneven pieces that split events.
    let pieces: Vec<&[u8]> = sse.chunks(97).collect();
    let encoded = encode(&pieces);
    let (whole, progress) = decode(&encoded).unwrap();
    assert_eq!(whole, sse);
    assert_eq!(progress.consumed, encoded.len());
    for step in [1, 2, 3, 7, 64, 1000] {
        let (body, consumed) = decode_in_steps(&encoded, step).unwrap();
        assert_eq!(body, whole, "step {step}");
        assert_eq!(consumed, encoded.len(), "step {step}");
    }
}

#[test]
fn every_split_point_gives_the_same_body() {
    let input = b"5;name=\"va;l\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\n\r\n";
    let (whole, _) = decode(input).unwrap();
    assert_eq!(whole, b"helloabcdefghijklmnopqrstuvwxyz");
    for cut in 0..=input.len() {
        let mut decoder = ChunkedDecoder::new();
        let mut body = Vec::new();
        let first = decoder
            .feed(&input[..cut], |d| body.extend_from_slice(d))
            .unwrap();
        assert_eq!(first.consumed, cut);
        let second = decoder
            .feed(&input[cut..], |d| body.extend_from_slice(d))
            .unwrap();
        assert!(second.done, "cut {cut}");
        assert_eq!(body, whole, "cut {cut}");
    }
}

#[test]
fn extensions_and_whitespace_before_them() {
    let (body, _) = decode(b"3 ;ext\r\nabc\r\n2\t; a=b ;c=\"d\"\r\nde\r\n0;last\r\n\r\n").unwrap();
    assert_eq!(body, b"abcde");
}

#[test]
fn uppercase_hex_and_leading_zeros() {
    let data = vec![b'x'; 0x1F];
    let mut input = b"001F\r\n".to_vec();
    input.extend_from_slice(&data);
    input.extend_from_slice(b"\r\n00000\r\n\r\n");
    assert_eq!(decode(&input).unwrap().0, data);
}

#[test]
fn trailers_are_consumed() {
    let input = b"2\r\nok\r\n0\r\nX-Checksum: abc\r\nX-Other: \t1\r\n\r\nNEXT";
    let (body, progress) = decode(input).unwrap();
    assert_eq!(body, b"ok");
    assert_eq!(progress.consumed, input.len() - 4);
    assert!(progress.done);
}

#[test]
fn bad_chunk_sizes() {
    bad(b"\r\n");
    bad(b"g\r\n");
    bad(b"-1\r\n");
    bad(b"+1\r\n");
    bad(b"0x5\r\n");
    bad(b"5 5\r\nhello\r\n");
    bad(b"5x\r\nhello\r\n");
    bad(b"5\n");
    bad(b"5\rx");
    bad(b"5;a\0b\r\n");
    bad(b"1\r\nab\r\n");
    bad(b"1\r\na\n0\r\n\r\n");
    bad(b"1\r\naXX");
    bad(b"10000000000000000\r\n");
    bad(b"0\r\n\n");
    bad(b"0\r\nX-A: b\n\r\n");
    bad(b"0\r\nX-A: b\rc\r\n\r\n");
    bad(b"0\r\nX-A: \x01\r\n\r\n");
}

#[test]
fn largest_chunk_size_fits() {
    let mut decoder = ChunkedDecoder::new();
    let mut seen = 0;
    let progress = decoder
        .feed(b"ffffffffffffffff\r\nabc", |d| seen += d.len())
        .unwrap();
    assert_eq!((progress.consumed, progress.done, seen), (21, false, 3));
}

#[test]
fn size_line_is_bounded() {
    let mut line = b"1;".to_vec();
    line.resize(MAX_SIZE_LINE + 10, b'a');
    assert_eq!(
        decode(&line),
        Err(HttpError::BadChunk("chunk size line too long"))
    );
    // Just under the bound is fine.
    let mut line = b"1;".to_vec();
    line.resize(MAX_SIZE_LINE - 2, b'a');
    line.extend_from_slice(b"\r\nz\r\n0\r\n\r\n");
    assert_eq!(decode(&line).unwrap().0, b"z");
}

#[test]
fn trailer_section_is_bounded() {
    let mut input = b"0\r\n".to_vec();
    while input.len() < MAX_TRAILER_BYTES + 100 {
        input.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_eq!(
        decode(&input),
        Err(HttpError::BadChunk("trailer section too large"))
    );
}

#[test]
fn chunk_header_encoding() {
    for (len, want) in [
        (1usize, "1\r\n"),
        (15, "f\r\n"),
        (16, "10\r\n"),
        (4096, "1000\r\n"),
        (0xabcdef, "abcdef\r\n"),
    ] {
        let mut out = b"prefix".to_vec();
        write_chunk_header(len, &mut out);
        assert_eq!(&out[6..], want.as_bytes());
    }
    let mut out = Vec::new();
    write_chunk_header(usize::MAX, &mut out);
    assert_eq!(out, format!("{:x}\r\n", usize::MAX).as_bytes());
}

#[test]
fn encode_then_decode_round_trips() {
    let pieces: [&[u8]; 3] = [b"data: {\"a\":1}\n\n", &[0u8; 300], b"x"];
    let (body, _) = decode(&encode(&pieces)).unwrap();
    assert_eq!(body, pieces.concat());
}
