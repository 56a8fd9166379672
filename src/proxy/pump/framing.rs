//! A response body's framing taken off (the upstream's: length, chunked, close) and put
//! back on (the client's: chunked, or as is), for the pump and whole-body reads.

use crate::http::{write_chunk_header, ChunkedDecoder, HttpError, ResponseFraming};
use crate::http::{CHUNK_END, LAST_CHUNK};

/// Finds the body in upstream bytes and where it ends.
#[derive(Debug)]
pub enum Decoder {
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Ended by the upstream closing: never reusable.
    Close,
}

/// What one [`Decoder::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Bytes of the input that belong to this body (all of it until `done`).
    pub used: usize,
    pub done: bool,
}

impl Decoder {
    pub fn new(framing: ResponseFraming) -> Decoder {
        match framing {
            ResponseFraming::Empty => Decoder::Length(0),
            ResponseFraming::Length(n) => Decoder::Length(n),
            ResponseFraming::Chunked => Decoder::Chunked(ChunkedDecoder::new()),
            ResponseFraming::Close => Decoder::Close,
        }
    }

    /// Passes the body bytes of `input` to `on_data`, in order.
    pub fn feed(&mut self, input: &[u8], mut on_data: impl FnMut(&[u8])) -> Result<Fed, HttpError> {
        match self {
            Decoder::Length(remaining) => {
                let used = usize::try_from(*remaining).map_or(input.len(), |r| r.min(input.len()));
                if used > 0 {
                    on_data(&input[..used]);
                }
                *remaining -= used as u64;
                Ok(Fed {
                    used,
                    done: *remaining == 0,
                })
            }
            Decoder::Chunked(decoder) => decoder.feed(input, on_data).map(|p| Fed {
                used: p.consumed,
                done: p.done,
            }),
            Decoder::Close => {
                on_data(input);
                Ok(Fed {
                    used: input.len(),
                    done: false,
                })
            }
        }
    }

    /// A body of no bytes: done before any read.
    pub fn done_at_start(&self) -> bool {
        matches!(self, Decoder::Length(0))
    }

    /// The body ends at the upstream's EOF, so the connection cannot be reused.
    pub fn ends_by_close(&self) -> bool {
        matches!(self, Decoder::Close)
    }
}

/// How the client's body is framed when the pump writes decoded bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoder {
    /// Each write is one chunk; the end is the last chunk.
    Chunked,
    /// The bytes as they are: the client knows the end by a length or by the close.
    Raw,
}

impl Encoder {
    /// Appends `data` framed for the client (nothing for no data).
    pub fn frame(self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        match self {
            Encoder::Chunked => {
                write_chunk_header(data.len(), out);
                out.extend_from_slice(data);
                out.extend_from_slice(CHUNK_END);
            }
            Encoder::Raw => out.extend_from_slice(data),
        }
    }

    /// Appends the end of the body.
    pub fn end(self, out: &mut Vec<u8>) {
        if self == Encoder::Chunked {
            out.extend_from_slice(LAST_CHUNK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_body_stops_at_its_length_and_leaves_the_rest() {
        let mut d = Decoder::new(ResponseFraming::Length(5));
        let mut got = Vec::new();
        let fed = d.feed(b"abcdefg", |x| got.extend_from_slice(x)).unwrap();
        assert_eq!(
            fed,
            Fed {
                used: 5,
                done: true
            }
        );
        assert_eq!(got, b"abcde");
    }

    #[test]
    fn chunked_body_is_decoded_across_reads() {
        let mut d = Decoder::new(ResponseFraming::Chunked);
        let mut got = Vec::new();
        let first = d.feed(b"3\r\nab", |x| got.extend_from_slice(x)).unwrap();
        assert!(!first.done);
        let second = d
            .feed(b"c\r\n0\r\n\r\nX", |x| got.extend_from_slice(x))
            .unwrap();
        assert_eq!(
            second,
            Fed {
                used: 8,
                done: true
            }
        );
        assert_eq!(got, b"abc");
    }

    #[test]
    fn close_body_takes_everything_and_never_ends_by_itself() {
        let mut d = Decoder::new(ResponseFraming::Close);
        let fed = d.feed(b"xyz", |_| {}).unwrap();
        assert_eq!(
            fed,
            Fed {
                used: 3,
                done: false
            }
        );
        assert!(d.ends_by_close());
        assert!(Decoder::new(ResponseFraming::Empty).done_at_start());
    }

    #[test]
    fn encoders_frame_and_end() {
        let mut out = Vec::new();
        Encoder::Chunked.frame(b"hello", &mut out);
        Encoder::Chunked.frame(b"", &mut out);
        Encoder::Chunked.end(&mut out);
        assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
        let mut raw = Vec::new();
        Encoder::Raw.frame(b"hello", &mut raw);
        Encoder::Raw.end(&mut raw);
        assert_eq!(raw, b"hello");
    }
}
