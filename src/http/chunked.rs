//! Chunked transfer coding: an incremental decoder that is safe to feed split at any byte,
//! and the few bytes needed to encode a chunked body.

use super::HttpError;

/// The terminating chunk of a body with no trailers.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
/// Written after each chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";

/// Longest chunk-size line (size, extensions and CRLF) accepted; bounds work on hostile input.
const MAX_SIZE_LINE: usize = 4096;
/// Most trailer bytes accepted after the last chunk.
const MAX_TRAILER_BYTES: usize = 16384;

/// Appends a chunk header for `len` data bytes: `{len in hex}\r\n`.
/// The caller writes the data and then [`CHUNK_END`]; `len` 0 is not a data chunk (use [`LAST_CHUNK`]).
pub fn write_chunk_header(len: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut n = len;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
    out.extend_from_slice(b"\r\n");
}

/// What one `feed` call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkProgress {
    /// Bytes of the input consumed. Less than the input only when `done`: the rest belongs
    /// to the next message on the connection.
    pub consumed: usize,
    /// The last chunk and the trailer section have been read.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size {
        value: u64,
        digits: usize,
    },
    /// After the size: whitespace, then `;` extensions, up to CR; `in_ext` once `;` was seen.
    Extension {
        value: u64,
        in_ext: bool,
    },
    /// Saw the CR ending a size line, expect LF.
    SizeLf {
        value: u64,
    },
    /// Inside chunk data, this many bytes left.
    Data {
        remaining: u64,
    },
    /// After chunk data, expect CR then LF.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Saw CR in a trailer line, expect LF; `empty` if the line had no content (end of body).
    TrailerLf {
        empty: bool,
    },
    Done,
}

/// Decodes a chunked body incrementally. It keeps no copy of the input: data is handed to
/// the callback as slices of what was fed, and every byte before the end is consumed.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// Bytes of the current size line, or of the trailer section, seen so far.
    line_bytes: usize,
    trailer_bytes: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::Size {
                value: 0,
                digits: 0,
            },
            line_bytes: 0,
            trailer_bytes: 0,
        }
    }

    /// Bytes of the current chunk not yet seen: its size line announced them. Lets a
    /// reader refuse a chunk over its limit as soon as the size is known.
    pub fn announced_remaining(&self) -> u64 {
        match self.state {
            State::Data { remaining } => remaining,
            _ => 0,
        }
    }

    /// Whether the whole body, trailers included, has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes `input`, calling `on_data` with each run of body bytes in order.
    pub fn feed(
        &mut self,
        input: &[u8],
        mut on_data: impl FnMut(&[u8]),
    ) -> Result<ChunkProgress, HttpError> {
        let mut pos = 0;
        while pos < input.len() {
            if let State::Data { remaining } = self.state {
                let available = input.len() - pos;
                let take = usize::try_from(remaining).map_or(available, |r| r.min(available));
                on_data(&input[pos..pos + take]);
                pos += take;
                let remaining = remaining - take as u64;
                self.state = if remaining == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining }
                };
                continue;
            }
            if self.state == State::Done {
                break;
            }
            self.advance(input[pos])?;
            pos += 1;
        }
        Ok(ChunkProgress {
            consumed: pos,
            done: self.state == State::Done,
        })
    }

    /// Advances the framing state by one byte (everything except chunk data).
    fn advance(&mut self, b: u8) -> Result<(), HttpError> {
        if matches!(
            self.state,
            State::Size { .. } | State::Extension { .. } | State::SizeLf { .. }
        ) {
            self.line_bytes += 1;
            if self.line_bytes > MAX_SIZE_LINE {
                return Err(HttpError::BadChunk("chunk size line too long"));
            }
        }
        if matches!(
            self.state,
            State::TrailerStart | State::TrailerLine | State::TrailerLf { .. }
        ) {
            self.trailer_bytes += 1;
            if self.trailer_bytes > MAX_TRAILER_BYTES {
                return Err(HttpError::BadChunk("trailer section too large"));
            }
        }
        self.state = match self.state {
            State::Size { value, digits } => match hex_value(b) {
                Some(d) => {
                    let value = value
                        .checked_mul(16)
                        .map(|v| v | u64::from(d))
                        .ok_or(HttpError::BadChunk("chunk size overflows"))?;
                    State::Size {
                        value,
                        digits: digits + 1,
                    }
                }
                None if digits == 0 => return Err(HttpError::BadChunk("missing chunk size")),
                None => Self::after_size(value, false, b)?,
            },
            State::Extension { value, in_ext } => Self::after_size(value, in_ext, b)?,
            State::SizeLf { value } => {
                if b != b'\n' {
                    return Err(HttpError::BadChunk("CR without LF in size line"));
                }
                self.line_bytes = 0;
                if value == 0 {
                    State::TrailerStart
                } else {
                    State::Data { remaining: value }
                }
            }
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => State::Size {
                value: 0,
                digits: 0,
            },
            State::DataCr | State::DataLf => {
                return Err(HttpError::BadChunk("chunk data not followed by CRLF"))
            }
            State::TrailerStart | State::TrailerLine => match b {
                b'\r' => State::TrailerLf {
                    empty: self.state == State::TrailerStart,
                },
                b'\n' => return Err(HttpError::BadChunk("bare LF in trailer")),
                b'\t' => State::TrailerLine,
                c if c < 0x20 || c == 0x7f => {
                    return Err(HttpError::BadChunk("control character in trailer"))
                }
                _ => State::TrailerLine,
            },
            State::TrailerLf { empty } => match (b, empty) {
                (b'\n', true) => State::Done,
                (b'\n', false) => State::TrailerStart,
                _ => return Err(HttpError::BadChunk("CR without LF in trailer")),
            },
            // `feed` handles Data and stops at Done before calling `advance`.
            State::Data { .. } | State::Done => self.state,
        };
        Ok(())
    }

    /// A byte after the size digits: `BWS` before the first `;`, extension text after it,
    /// until CR. Extensions are skipped, not interpreted.
    fn after_size(value: u64, in_ext: bool, b: u8) -> Result<State, HttpError> {
        match b {
            b'\r' => Ok(State::SizeLf { value }),
            b'\n' => Err(HttpError::BadChunk("bare LF in size line")),
            b' ' | b'\t' => Ok(State::Extension { value, in_ext }),
            b';' => Ok(State::Extension {
                value,
                in_ext: true,
            }),
            c if c < 0x20 || c == 0x7f => {
                Err(HttpError::BadChunk("control character in size line"))
            }
            _ if in_ext => Ok(State::Extension { value, in_ext }),
            _ => Err(HttpError::BadChunk("invalid character after chunk size")),
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
