//! Appending to a body segment past the page cache: bytes are gathered in one aligned
//! buffer and written in whole blocks with `O_DIRECT`, the partial last block again next time.
//!
//! Why: copying bodies into the page cache costs the writer far more than the copy (each
//! new page is allocated, zeroed, tracked and written back; on a virtual machine every
//! first touch of a fresh page is also a trap to the host), while a direct write lets the
//! disk read the buffer itself. The log is written once and seldom read, so keeping it out
//! of the page cache also leaves a small host's memory to the rest. Where the filesystem
//! refuses `O_DIRECT` (tmpfs and others), the same blocks go through the page cache.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// The unit of a direct write: buffer address, length and file offset are multiples of it
/// (4096 covers disks of 512- and 4096-byte sectors).
const BLOCK: usize = 4096;
/// The buffer starts this small (most drains hold small bodies) and grows to `MAX_BLOCKS`.
const FIRST_BLOCKS: usize = 16;
/// 4 MiB: past this much, the full buffer is written out and filling starts again.
const MAX_BLOCKS: usize = 1024;

/// One aligned block of the buffer (`align` makes the `Vec` of them aligned).
#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Block([u8; BLOCK]);

/// An append-only file written in whole blocks.
pub(super) struct BlockAppender {
    file: File,
    /// The bytes of the file that count: where the next byte goes.
    len: u64,
    /// The block-aligned file offset the buffer's first byte belongs at; the buffer holds
    /// the file's bytes from there to `len` (those of a partial block already written too).
    start: u64,
    buffer: Vec<Block>,
    direct: bool,
}

impl BlockAppender {
    /// Creates `path` (which must not exist) for appending.
    pub fn create(path: &Path) -> io::Result<BlockAppender> {
        let file = OpenOptions::new().create_new(true).write(true).open(path)?;
        let direct = match set_direct(&file, true) {
            Ok(()) => true,
            Err(e) => {
                log::debug!("request log: body segments go through the page cache: {e}");
                false
            }
        };
        Ok(BlockAppender {
            file,
            len: 0,
            start: 0,
            buffer: Vec::new(),
            direct,
        })
    }

    /// Bytes appended so far (written or still in the buffer): the next byte's offset.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends `bytes` to the buffer (writing the buffer out whenever it is full).
    pub fn push(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let used = self.buffered();
            if used == self.buffer.len() * BLOCK && !self.grow(used + bytes.len()) {
                self.write_out(used)?;
                self.start += used as u64;
                continue;
            }
            let room = self.buffer.len() * BLOCK - used;
            let n = room.min(bytes.len());
            self.bytes_mut()[used..used + n].copy_from_slice(&bytes[..n]);
            self.len += n as u64;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// The CRC-32 of the last `n` bytes appended, when they are all still in the buffer
    /// (one pass over bytes pushed in many small pieces, a request's skeleton).
    pub fn crc_of_last(&self, n: usize) -> Option<u32> {
        let used = self.buffered();
        let from = used.checked_sub(n)?;
        Some(crc32fast::hash(&as_bytes(&self.buffer)[from..used]))
    }

    /// Writes what the buffer holds, its last block padded with zeros past `len` (the
    /// next write puts the following bytes there); keeps that partial block in the buffer.
    pub fn flush(&mut self) -> io::Result<()> {
        let used = self.buffered();
        if used == 0 {
            return Ok(());
        }
        let padded = used.div_ceil(BLOCK) * BLOCK;
        self.bytes_mut()[used..padded].fill(0);
        self.write_out(padded)?;
        let whole = used / BLOCK * BLOCK;
        self.bytes_mut().copy_within(whole..used, 0);
        self.start += whole as u64;
        Ok(())
    }

    /// `fdatasync`: what was flushed survives a power cut.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn buffered(&self) -> usize {
        // At most the buffer's size, which is a usize.
        (self.len - self.start) as usize
    }

    /// Makes room for `wanted` bytes if the buffer may still grow; `false` at its most.
    fn grow(&mut self, wanted: usize) -> bool {
        let blocks = self.buffer.len();
        if blocks >= MAX_BLOCKS {
            return false;
        }
        let target = wanted
            .div_ceil(BLOCK)
            .max(blocks * 2)
            .clamp(FIRST_BLOCKS, MAX_BLOCKS);
        self.buffer.resize(target, Block([0; BLOCK]));
        true
    }

    /// Writes the buffer's first `len` bytes (a multiple of `BLOCK`) at `start`. A direct
    /// write refused as invalid (a device whose blocks are larger than `BLOCK`, a
    /// filesystem that took the flag but not the write) is made again through the page
    /// cache, which the file then keeps using.
    fn write_out(&mut self, len: usize) -> io::Result<()> {
        let bytes = &as_bytes(&self.buffer)[..len];
        match self.file.write_all_at(bytes, self.start) {
            Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
                log::warn!("request log: direct writes refused ({e}), using the page cache");
                self.direct = false;
                set_direct(&self.file, false)?;
                self.file.write_all_at(bytes, self.start)
            }
            written => written,
        }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.buffer.len() * BLOCK;
        // SAFETY: `Block` is a `repr(C)` wrapper of a byte array with no padding (its size
        // is its alignment), so the blocks are `len` initialised, contiguous bytes, borrowed
        // mutably through `self` for the slice's lifetime; any byte value is a valid `Block`.
        unsafe { std::slice::from_raw_parts_mut(self.buffer.as_mut_ptr().cast::<u8>(), len) }
    }
}

/// The bytes of `blocks`.
fn as_bytes(blocks: &[Block]) -> &[u8] {
    // SAFETY: as in `bytes_mut`, shared this time.
    unsafe { std::slice::from_raw_parts(blocks.as_ptr().cast::<u8>(), blocks.len() * BLOCK) }
}

impl std::fmt::Debug for BlockAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockAppender")
            .field("len", &self.len)
            .field("direct", &self.direct)
            .finish()
    }
}

/// Turns `O_DIRECT` on or off for `file` (on fails where its filesystem does not have it).
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this `File` owns and keeps open for the call; only
    // its status flags are read and set, no memory is handed over.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        let wanted = if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        };
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, wanted) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(pieces: &[Vec<u8>], flush_after_each: bool) -> (Vec<u8>, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        let mut file = BlockAppender::create(&path).unwrap();
        for piece in pieces {
            file.push(piece).unwrap();
            if flush_after_each {
                file.flush().unwrap();
            }
        }
        file.flush().unwrap();
        file.sync().unwrap();
        (std::fs::read(&path).unwrap(), file.len())
    }

    #[test]
    fn appended_bytes_read_back_in_order_across_flushes_and_a_full_buffer() {
        let pieces: Vec<Vec<u8>> = [1, 4095, 4096, 4097, 100_000, 5 << 20, 3, 70_000]
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|b| (b * 7 + i) as u8).collect())
            .collect();
        let whole: Vec<u8> = pieces.concat();
        for flush_after_each in [false, true] {
            let (file, len) = appended(&pieces, flush_after_each);
            assert_eq!(len, whole.len() as u64);
            // The file ends in the padding of its last block.
            assert_eq!(file.len(), whole.len().div_ceil(BLOCK) * BLOCK);
            assert!(
                file[..whole.len()] == whole[..],
                "flushes: {flush_after_each}"
            );
            assert!(file[whole.len()..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn the_crc_of_the_last_bytes_is_there_while_they_are_buffered() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = BlockAppender::create(&dir.path().join("seg")).unwrap();
        file.push(b"head").unwrap();
        file.flush().unwrap();
        // The partial block stays buffered across a flush.
        file.push(b"ab").unwrap();
        file.push(b"cd").unwrap();
        assert_eq!(file.crc_of_last(4), Some(crc32fast::hash(b"abcd")));
        assert_eq!(file.crc_of_last(8), Some(crc32fast::hash(b"headabcd")));
        assert_eq!(file.crc_of_last(0), Some(crc32fast::hash(b"")));
        // Past a full buffer, what was written out is no longer there.
        file.push(&vec![1; MAX_BLOCKS * BLOCK + 10]).unwrap();
        assert_eq!(file.crc_of_last(10), Some(crc32fast::hash(&[1; 10])));
        assert_eq!(file.crc_of_last(MAX_BLOCKS * BLOCK + 10), None);
    }
}
