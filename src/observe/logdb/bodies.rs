//! Where a row's bodies lie in the segment files (its location columns) and reading
//! them back: a body whose bytes are missing or fail their checksum reads as absent.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rusqlite::{Row, Statement};

use super::entry::MAX_LOGGED_BODY_BYTES;
use super::segments::segment_path;

/// One stored body: its length and CRC-32 (the request's at the row's offset, the
/// response's right after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StoredBody {
    pub len: u64,
    pub crc: u32,
}

impl StoredBody {
    /// The length and checksum of `body`.
    pub fn of(body: &[u8]) -> StoredBody {
        StoredBody {
            len: body.len() as u64,
            crc: crc32fast::hash(body),
        }
    }
}

/// Where one row's bodies are: `segment` and `offset` of the first, each body's length
/// and checksum (`None`: not stored). The two are contiguous, request first. A request
/// whose messages are stored as chunks (`chunks.rs`) is stored as its skeleton: `request`
/// is the skeleton's, `parts` the range of its parts in the writer's parts buffer,
/// `chunked` the bytes they add back, and `parts_segment` the segment before `segment`
/// when some of them are there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BodyPlace {
    pub segment: i64,
    pub offset: u64,
    pub request: Option<StoredBody>,
    pub response: Option<StoredBody>,
    pub parts: Option<(usize, usize)>,
    pub chunked: u64,
    pub parts_segment: Option<i64>,
}

/// Parameters `bind` sets: `body_segment, body_offset, request_len, request_crc,
/// response_len, response_crc, request_parts, request_chunked, parts_segment`, in that order.
pub(super) const PLACE_PARAMS: usize = 9;

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl BodyPlace {
    /// No body stored (all its columns NULL).
    pub const NONE: BodyPlace = BodyPlace {
        segment: 0,
        offset: 0,
        request: None,
        response: None,
        parts: None,
        chunked: 0,
        parts_segment: None,
    };

    /// The body bytes it stands for, shared chunks included (counted against
    /// `log_max_bytes`, as SQL sums them: `request_len + request_chunked + response_len`).
    pub fn bytes(&self) -> u64 {
        self.request.map_or(0, |b| b.len) + self.chunked + self.response.map_or(0, |b| b.len)
    }

    /// Holds a body at all.
    pub fn is_some(&self) -> bool {
        self.request.is_some() || self.response.is_some()
    }

    /// Binds its columns as parameters `first + 1` to `first + PLACE_PARAMS`; `parts`
    /// is the buffer `self.parts` points into.
    pub fn bind(
        &self,
        insert: &mut Statement<'_>,
        first: usize,
        parts: &[u8],
    ) -> rusqlite::Result<()> {
        let some = self.is_some();
        insert.raw_bind_parameter(first + 1, some.then_some(self.segment))?;
        insert.raw_bind_parameter(first + 2, some.then_some(int(self.offset)))?;
        insert.raw_bind_parameter(first + 3, self.request.map(|b| int(b.len)))?;
        insert.raw_bind_parameter(first + 4, self.request.map(|b| b.crc))?;
        insert.raw_bind_parameter(first + 5, self.response.map(|b| int(b.len)))?;
        insert.raw_bind_parameter(first + 6, self.response.map(|b| b.crc))?;
        let parts = self
            .parts
            .and_then(|(start, len)| parts.get(start..start + len));
        insert.raw_bind_parameter(first + 7, parts)?;
        insert.raw_bind_parameter(first + 8, parts.map(|_| int(self.chunked)))?;
        insert.raw_bind_parameter(first + 9, parts.and(self.parts_segment))?;
        Ok(())
    }

    /// The place read from `PLACE_COLUMNS` starting at column `first`; `None` when the
    /// row keeps no body in a segment (an older row's are in its blob columns). A value
    /// out of range (a damaged file) reads as no body, never as an error.
    pub fn from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Option<BodyPlace>> {
        let Some(segment) = row.get::<_, Option<i64>>(first)? else {
            return Ok(None);
        };
        let unsigned = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
        let Some(offset) = unsigned(row.get(first + 1)?) else {
            return Ok(None);
        };
        let body = |i: usize| -> rusqlite::Result<Option<StoredBody>> {
            let len = unsigned(row.get(i)?);
            let crc = row
                .get::<_, Option<i64>>(i + 1)?
                .and_then(|c| u32::try_from(c).ok());
            Ok(len.zip(crc).map(|(len, crc)| StoredBody { len, crc }))
        };
        Ok(Some(BodyPlace {
            segment,
            offset,
            request: body(first + 2)?,
            response: body(first + 4)?,
            // Read by `LogStore::get` itself, and only there.
            parts: None,
            chunked: 0,
            parts_segment: None,
        }))
    }

    /// Reads both bodies from their segment in `dir`; each is `None` when its bytes are
    /// gone (the segment deleted or cut short by a crash) or do not match their checksum.
    pub fn read(&self, dir: &Path) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let path = segment_path(dir, self.segment);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::warn!("request log: cannot read {}: {e}", path.display());
                }
                return (None, None);
            }
        };
        let request_len = self.request.map_or(0, |b| b.len);
        let request = self.request.and_then(|b| read_one(&file, self.offset, b));
        let response = self
            .response
            .and_then(|b| read_one(&file, self.offset.checked_add(request_len)?, b));
        (request, response)
    }
}

/// The `body.len` bytes at `offset` of `file`, if they are there and match `body.crc`.
pub(super) fn read_one(file: &File, offset: u64, body: StoredBody) -> Option<Vec<u8>> {
    let len = usize::try_from(body.len)
        .ok()
        .filter(|len| *len <= MAX_LOGGED_BODY_BYTES)?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, offset).ok()?;
    (crc32fast::hash(&bytes) == body.crc).then_some(bytes)
}
