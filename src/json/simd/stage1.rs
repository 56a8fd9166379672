//! Stage 1 of the SIMD scan, as in simdjson: per 64-byte block, bitmasks of quotes,
//! backslashes and controls become a structural bitmap; strings, escapes and UTF-8 are validated.

use std::ops::Range;

use super::super::escape::check_escape;
use super::super::JsonError;

/// Bytes per block: one bit of a `u64` each.
pub(super) const BLOCK: usize = 64;

/// What one block holds, one bit per byte (bit `i` is byte `i`).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(super) struct Classes {
    pub quote: u64,
    pub backslash: u64,
    /// Bytes below 0x20, which must not appear raw inside strings.
    pub control: u64,
    /// `{`, `}`, `[`, `]`, `:` and `,`.
    pub operator: u64,
    /// The operators and whitespace (space, tab, line feed, carriage return): what
    /// ends a number or literal. Combined before the bitmask, which LLVM compiles
    /// better than an OR of two masks.
    pub separator: u64,
    /// Bytes with the high bit set: the only ones UTF-8 validation has to look at.
    pub non_ascii: u64,
    /// What may follow a backslash: `"`, `\`, `/`, `b`, `f`, `n`, `r`, `t` and `u`.
    pub escapable: u64,
    /// `u`, which after a backslash starts a `\uXXXX` escape.
    pub letter_u: u64,
}

/// One instruction set's way to classify a block.
pub(super) trait Classify {
    /// The classes of the 64 bytes of `block`.
    ///
    /// # Safety
    /// The CPU must support the instructions the implementation uses.
    unsafe fn classify(block: &[u8; BLOCK]) -> Classes;

    /// The running parity of `x`'s bits, as [`prefix_xor`] computes it.
    ///
    /// # Safety
    /// As for `classify`.
    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        prefix_xor(x)
    }
}

/// The portable classification: the reference the SIMD ones are tested against.
#[cfg(test)]
pub(super) struct Portable;

#[cfg(test)]
impl Classify for Portable {
    unsafe fn classify(block: &[u8; BLOCK]) -> Classes {
        let mut c = Classes::default();
        for (i, &b) in block.iter().enumerate() {
            let bit = 1u64 << i;
            let set = |mask: &mut u64, yes: bool| *mask |= if yes { bit } else { 0 };
            set(&mut c.quote, b == b'"');
            set(&mut c.backslash, b == b'\\');
            set(&mut c.control, b < 0x20);
            let operator = matches!(b, b'{' | b'}' | b'[' | b']' | b':' | b',');
            set(&mut c.operator, operator);
            set(
                &mut c.separator,
                operator || matches!(b, b' ' | b'\t' | b'\n' | b'\r'),
            );
            set(&mut c.non_ascii, b >= 0x80);
            set(&mut c.escapable, b"\"\\/bfnrtu".contains(&b));
            set(&mut c.letter_u, b == b'u');
        }
        c
    }
}

/// What one block passes to the next.
#[derive(Default)]
struct Carry {
    /// 1 when the next block's first byte is escaped by a backslash before it.
    escaped: u64,
    /// All ones when the next block starts inside a string.
    in_string: u64,
    /// 1 when the last byte was part of a number or literal (or a stray byte).
    scalar: u64,
    /// Escapes before this offset were validated already (a surrogate pair's second half).
    escapes_checked_to: usize,
}

/// The structural bitmap of `body`, one `u64` per block: a bit for each `{}[]:,`
/// outside strings, each unescaped quote (both ends of every string) and the first
/// byte of each other run outside strings (a number, a literal or a stray byte).
/// Everything the state machine does not look at is validated here: UTF-8, raw
/// control bytes inside strings and every escape sequence.
///
/// # Safety
/// The CPU must support the instructions `C` uses.
#[inline(always)]
pub(super) unsafe fn structurals<C: Classify>(body: &[u8]) -> Result<Vec<u64>, JsonError> {
    let mut bits = Vec::with_capacity(body.len().div_ceil(BLOCK));
    // One bit per block that holds non-ASCII bytes, set without a branch: in chat
    // text such blocks come irregularly. They are checked as UTF-8 afterwards.
    let mut non_ascii = NonAsciiBlocks::with_capacity(body.len());
    let mut carry = Carry::default();
    let mut blocks = body.chunks_exact(BLOCK);
    let mut base = 0;
    for block in blocks.by_ref() {
        let block: &[u8; BLOCK] = block.try_into().unwrap_or(&[b' '; BLOCK]);
        // SAFETY: the caller vouches for the CPU.
        let classes = unsafe { C::classify(block) };
        // SAFETY: as above.
        bits.push(unsafe { index_block::<C>(body, base, classes, &mut carry) }?);
        non_ascii.note(classes.non_ascii != 0);
        base += BLOCK;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        // Padded with spaces, which are neither structural nor part of a token.
        let mut last = [b' '; BLOCK];
        last[..tail.len()].copy_from_slice(tail);
        // SAFETY: as above.
        let classes = unsafe { C::classify(&last) };
        // SAFETY: as above.
        bits.push(unsafe { index_block::<C>(body, base, classes, &mut carry) }?);
        non_ascii.note(classes.non_ascii != 0);
    }
    non_ascii.check_utf8(body)?;
    // A backslash escaping nothing at the very end needs no check of its own: it is
    // inside a string that never closes, or outside strings, and stage 2 refuses both.
    Ok(bits)
}

/// The structural bits of the block at `base`, validating what lies inside it.
///
/// # Safety
/// As for `C::prefix_xor`.
#[inline(always)]
unsafe fn index_block<C: Classify>(
    body: &[u8],
    base: usize,
    c: Classes,
    carry: &mut Carry,
) -> Result<u64, JsonError> {
    let escaped = escaped_bytes(c.backslash, &mut carry.escaped);
    let quote = c.quote & !escaped;
    // Opening quote and content are in the string; the closing quote is not.
    // SAFETY: the caller vouches for the CPU.
    let in_string = unsafe { C::prefix_xor(quote) } ^ carry.in_string;
    carry.in_string = ((in_string as i64) >> 63) as u64;
    // Escapes are checked outside strings too: a backslash there is invalid anyway.
    let raw_control = c.control & in_string;
    let bad_escape = escaped & !c.escapable;
    if raw_control | bad_escape != 0 {
        let bit = (raw_control | bad_escape).trailing_zeros();
        // A bad escape is reported at its backslash, as `check_escape` does.
        let back = usize::from(raw_control >> bit & 1 == 0);
        return Err(JsonError::Invalid {
            offset: (base + bit as usize).saturating_sub(back),
        });
    }
    let mut unicode = escaped & c.letter_u;
    while unicode != 0 {
        // The backslash before the `u`; the second half of a surrogate pair was
        // checked with the first.
        let at = (base + unicode.trailing_zeros() as usize).saturating_sub(1);
        unicode &= unicode - 1;
        if at >= carry.escapes_checked_to {
            carry.escapes_checked_to = check_escape(body, at)?;
        }
    }
    let scalar = !(c.separator | quote | in_string);
    let scalar_starts = scalar & !((scalar << 1) | carry.scalar);
    carry.scalar = scalar >> 63;
    Ok((c.operator & !in_string) | quote | scalar_starts)
}

/// Which blocks hold non-ASCII bytes, one bit each.
struct NonAsciiBlocks {
    words: Vec<u64>,
    /// The bits of the blocks since the last full word.
    current: u64,
    count: usize,
}

impl NonAsciiBlocks {
    fn with_capacity(body_len: usize) -> Self {
        NonAsciiBlocks {
            words: Vec::with_capacity(body_len.div_ceil(BLOCK * 64) + 1),
            current: 0,
            count: 0,
        }
    }

    #[inline(always)]
    fn note(&mut self, non_ascii: bool) {
        self.current |= u64::from(non_ascii) << (self.count % 64);
        self.count += 1;
        if self.count % 64 == 0 {
            self.words.push(std::mem::take(&mut self.current));
        }
    }

    /// Checks each run of flagged blocks as UTF-8. A run starts after an all-ASCII
    /// block (or at the body's start) and ends before one (or at its end), so it
    /// starts and stops on character boundaries of any valid body.
    fn check_utf8(mut self, body: &[u8]) -> Result<(), JsonError> {
        self.words.push(self.current);
        let mut run: Option<Range<usize>> = None;
        for (i, &word) in self.words.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let block = i * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                match &mut run {
                    Some(r) if r.end == block => r.end += 1,
                    _ => {
                        if let Some(done) = run.replace(block..block + 1) {
                            check_utf8(body, done)?;
                        }
                    }
                }
            }
        }
        match run {
            Some(done) => check_utf8(body, done),
            None => Ok(()),
        }
    }
}

/// Checks the blocks `blocks` (the last one may be short) as UTF-8.
fn check_utf8(body: &[u8], blocks: Range<usize>) -> Result<(), JsonError> {
    let start = blocks.start * BLOCK;
    let end = (blocks.end * BLOCK).min(body.len());
    let bytes = body.get(start..end).unwrap_or_default();
    // The SIMD check first; only an invalid run is read again for where it breaks.
    if simdutf8::basic::from_utf8(bytes).is_ok() {
        return Ok(());
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => Err(JsonError::Invalid {
            offset: start + e.valid_up_to(),
        }),
    }
}

/// simdjson's escape scanner: the escaped bytes of a block (those right after a
/// backslash that begins an escape), from its backslashes and whether its first byte
/// is escaped. In a run of backslashes every other one escapes the next, so the
/// parity of the run decides whether the byte after it is escaped. No branch: in chat
/// text, blocks with and without backslashes alternate unpredictably.
#[inline(always)]
pub(super) fn escaped_bytes(backslash: u64, next_is_escaped: &mut u64) -> u64 {
    const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;
    let potential_escape = backslash & !*next_is_escaped;
    // Subtracting each run from the odd bits flips the odd-aligned runs, so that
    // after the xor every escape and every escaped byte is set, in turn.
    let maybe_escaped = potential_escape << 1;
    let escape_and_terminal =
        ((maybe_escaped | ODD_BITS).wrapping_sub(potential_escape)) ^ ODD_BITS;
    let escaped = escape_and_terminal ^ (backslash | *next_is_escaped);
    let escape = escape_and_terminal & backslash;
    *next_is_escaped = escape >> 63;
    escaped
}

/// Bit `i` of the result is the parity of bits `0..=i` of `x`.
#[inline(always)]
pub(super) fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}
