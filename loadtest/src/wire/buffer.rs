//! `InBuf`: an accumulating read buffer over monoio's rent-style reads.
//! Consumed bytes are skipped by an offset and compacted lazily, so parsing never shifts memory per message.

use std::io;

use monoio::buf::IoBufMut;
use monoio::io::AsyncReadRent;

/// Smallest free space offered to one read.
const READ_SPACE: usize = 16 * 1024;

/// Bytes read from a socket and not yet consumed.
#[derive(Debug, Default)]
pub struct InBuf {
    bytes: Vec<u8>,
    start: usize,
}

impl InBuf {
    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(capacity),
            start: 0,
        }
    }

    /// The unconsumed bytes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// Marks the first `n` unconsumed bytes as used (clamped to what is there).
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.bytes.len());
        if self.start == self.bytes.len() {
            self.bytes.clear();
            self.start = 0;
        }
    }

    /// Reads once more from `stream`, appending; returns the number of new bytes, 0 at EOF.
    /// After an error or a cancelled read the buffer may be empty: close the connection then.
    pub async fn fill<S: AsyncReadRent>(&mut self, stream: &mut S) -> io::Result<usize> {
        if self.start > 0 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        if self.bytes.capacity() - self.bytes.len() < READ_SPACE {
            self.bytes.reserve(READ_SPACE);
        }
        let buffer = std::mem::take(&mut self.bytes);
        let len = buffer.len();
        let capacity = buffer.capacity();
        let (result, slice) = stream.read(buffer.slice_mut(len..capacity)).await;
        self.bytes = slice.into_inner();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_clamps_and_resets() {
        let mut buf = InBuf::with_capacity(8);
        buf.bytes.extend_from_slice(b"hello");
        buf.consume(2);
        assert_eq!(buf.data(), b"llo");
        buf.consume(10);
        assert_eq!(buf.data(), b"");
        assert_eq!(buf.start, 0);
    }

    #[monoio::test_all]
    async fn fill_appends_after_consumed_bytes() {
        let listener = monoio::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"abcdef").unwrap();
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = InBuf::with_capacity(0);
        while buf.data().len() < 6 {
            assert!(buf.fill(&mut stream).await.unwrap() > 0);
        }
        buf.consume(3);
        assert_eq!(buf.data(), b"def");
        writer.join().unwrap();
        assert_eq!(buf.fill(&mut stream).await.unwrap(), 0);
        assert_eq!(buf.data(), b"def");
    }
}
