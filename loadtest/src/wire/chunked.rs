//! Chunked transfer encoding: an incremental decoder that copes with frames split at any byte,
//! and the encoder the mock uses to send one SSE event per chunk.

use crate::error::WireError;

/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

/// What the decoder did with the front of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkStep {
    /// Not enough bytes to go on; read more and call again with them appended.
    NeedMore,
    /// The first `n` bytes were framing; consume them.
    Skip(usize),
    /// The first `n` bytes are body data; consume them.
    Data(usize),
    /// The last chunk and trailers ended after the first `n` bytes; consume them.
    Done(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
    Done,
}

/// Decodes one chunked body step by step.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self { state: State::Size }
    }
}

impl ChunkedDecoder {
    /// Whether the terminating chunk and trailers have been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Looks at the unconsumed input and says what its front is.
    pub fn step(&mut self, input: &[u8]) -> Result<ChunkStep, WireError> {
        match self.state {
            State::Size => {
                let Some(line_len) = line_length(input)? else {
                    return Ok(ChunkStep::NeedMore);
                };
                let size = parse_chunk_size(&input[..line_len])?;
                self.state = if size == 0 {
                    State::Trailer
                } else {
                    State::Data(size)
                };
                Ok(ChunkStep::Skip(line_len + 2))
            }
            State::Data(remaining) => {
                if input.is_empty() {
                    return Ok(ChunkStep::NeedMore);
                }
                let n = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
                let left = remaining - n as u64;
                self.state = if left == 0 {
                    State::DataEnd
                } else {
                    State::Data(left)
                };
                Ok(ChunkStep::Data(n))
            }
            State::DataEnd => match input {
                [b'\r', b'\n', ..] => {
                    self.state = State::Size;
                    Ok(ChunkStep::Skip(2))
                }
                [] | [b'\r'] => Ok(ChunkStep::NeedMore),
                _ => Err(WireError::BadChunk("chunk data not followed by CRLF")),
            },
            State::Trailer => {
                let Some(line_len) = line_length(input)? else {
                    return Ok(ChunkStep::NeedMore);
                };
                if line_len == 0 {
                    self.state = State::Done;
                    Ok(ChunkStep::Done(2))
                } else {
                    Ok(ChunkStep::Skip(line_len + 2))
                }
            }
            State::Done => Ok(ChunkStep::Done(0)),
        }
    }
}

/// Length of the first CRLF-terminated line (without the CRLF), if complete.
fn line_length(input: &[u8]) -> Result<Option<usize>, WireError> {
    match input.windows(2).position(|w| w == b"\r\n") {
        Some(pos) if pos <= MAX_LINE => Ok(Some(pos)),
        Some(_) => Err(WireError::BadChunk("line too long")),
        None if input.len() > MAX_LINE => Err(WireError::BadChunk("line too long")),
        None => Ok(None),
    }
}

/// Parses `1a;ext=1` as 0x1a, refusing empty sizes, non-hex digits and overflow.
fn parse_chunk_size(line: &[u8]) -> Result<u64, WireError> {
    let digits = line.split(|b| *b == b';').next().unwrap_or_default();
    let digits = super::trim(digits);
    if digits.is_empty() || digits.len() > 15 {
        return Err(WireError::BadChunk("bad chunk size"));
    }
    digits.iter().try_fold(0u64, |acc, b| {
        let digit = (*b as char)
            .to_digit(16)
            .ok_or(WireError::BadChunk("bad chunk size"))?;
        Ok(acc * 16 + u64::from(digit))
    })
}

/// Appends `payload` to `out` as one chunk (nothing for an empty payload, which would end the body).
pub fn encode_chunk(out: &mut Vec<u8>, payload: &[u8]) {
    if payload.is_empty() {
        return;
    }
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{:x}\r\n", payload.len());
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed in pieces of `piece` bytes; returns body and whether it ended.
    fn decode_in_pieces(wire: &[u8], piece: usize) -> Result<(Vec<u8>, bool), WireError> {
        let mut decoder = ChunkedDecoder::default();
        let mut pending = Vec::new();
        let mut body = Vec::new();
        for part in wire.chunks(piece) {
            pending.extend_from_slice(part);
            loop {
                match decoder.step(&pending)? {
                    ChunkStep::NeedMore => break,
                    ChunkStep::Skip(n) => drop(pending.drain(..n)),
                    ChunkStep::Data(n) => body.extend(pending.drain(..n)),
                    ChunkStep::Done(n) => {
                        pending.drain(..n);
                        return Ok((body, true));
                    }
                }
            }
        }
        Ok((body, decoder.is_done()))
    }

    #[test]
    fn decodes_split_at_every_byte() {
        let wire =
            b"5;ext=x\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-trailer: 1\r\n\r\n";
        for piece in 1..wire.len() {
            let (body, done) = decode_in_pieces(wire, piece).unwrap();
            assert_eq!(body, b"helloabcdefghijklmnopqrstuvwxyz", "piece {piece}");
            assert!(done);
        }
    }

    #[test]
    fn encoder_round_trips() {
        let mut wire = Vec::new();
        encode_chunk(&mut wire, b"data: x\n\n");
        encode_chunk(&mut wire, b"");
        encode_chunk(&mut wire, &[b'y'; 300]);
        assert!(wire.starts_with(b"9\r\ndata: x\n\n\r\n12c\r\n"));
        wire.extend_from_slice(b"0\r\n\r\n");
        let (body, done) = decode_in_pieces(&wire, 7).unwrap();
        assert_eq!(body.len(), 9 + 300);
        assert!(done);
    }

    #[test]
    fn rejects_malformed_frames() {
        assert!(decode_in_pieces(b"zz\r\n", 4).is_err());
        assert!(decode_in_pieces(b"\r\n", 2).is_err());
        assert!(decode_in_pieces(b"2\r\nabX\r\n", 9).is_err());
        assert!(decode_in_pieces(b"fffffffffffffffff\r\n", 30).is_err());
        assert!(decode_in_pieces(&[b'1'; 5000], 5000).is_err());
        let (_, done) = decode_in_pieces(b"3\r\nab", 5).unwrap();
        assert!(!done, "a truncated body is not complete");
    }
}
