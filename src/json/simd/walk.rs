//! Stage 2's fast path: validating a nested value by walking the set bits of the
//! structural bitmap with `trailing_zeros`, a token at a time, with a heap stack.

use super::super::grammar::scalar_end;
use super::super::JsonError;
use super::stage1::BLOCK;

/// The structural positions at or after a start, in order.
struct Tokens<'a> {
    bits: &'a [u64],
    block: usize,
    /// The bits of `block` not yet returned.
    word: u64,
}

impl<'a> Tokens<'a> {
    fn from(bits: &'a [u64], pos: usize) -> Self {
        let block = pos / BLOCK;
        let word = bits
            .get(block)
            .map_or(0, |w| w & (u64::MAX << (pos % BLOCK)));
        Tokens { bits, block, word }
    }

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.word == 0 {
            self.block += 1;
            self.word = *self.bits.get(self.block)?;
        }
        let at = self.block * BLOCK + self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(at)
    }
}

/// What may come next inside the value being skipped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    /// Just after `[`: a value or `]`.
    ValueOrEnd,
    Key,
    /// Just after `{`: a key or `}`.
    KeyOrEnd,
    Colon,
    /// After a value inside a container: `,` or its closing bracket.
    CommaOrEnd,
}

/// Validates the value starting at the structural `pos` and returns the index just
/// past it. `open` is scratch space for the containers not yet closed (true: object).
/// The same grammar as `Cursor::skip_value`; stage 1 already validated strings.
pub(super) fn skip_value(
    bits: &[u64],
    buf: &[u8],
    pos: usize,
    open: &mut Vec<bool>,
) -> Result<usize, JsonError> {
    let unterminated = JsonError::Invalid { offset: buf.len() };
    let mut tokens = Tokens::from(bits, pos);
    let mut expect = Expect::Value;
    open.clear();
    loop {
        let at = tokens.next().ok_or(unterminated.clone())?;
        let byte = *buf.get(at).ok_or(unterminated.clone())?;
        let invalid = JsonError::Invalid { offset: at };
        // Where the value this token ends (if it does) stops.
        let end = match (expect, byte) {
            (Expect::Value | Expect::ValueOrEnd, b'{') => {
                open.push(true);
                expect = Expect::KeyOrEnd;
                continue;
            }
            (Expect::Value | Expect::ValueOrEnd, b'[') => {
                open.push(false);
                expect = Expect::ValueOrEnd;
                continue;
            }
            (Expect::Value | Expect::ValueOrEnd, b'"') => closing_quote(&mut tokens, buf)?,
            (Expect::Value | Expect::ValueOrEnd, b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                scalar_end(buf, at)?
            }
            (Expect::Key | Expect::KeyOrEnd, b'"') => {
                closing_quote(&mut tokens, buf)?;
                expect = Expect::Colon;
                continue;
            }
            (Expect::Colon, b':') => {
                expect = Expect::Value;
                continue;
            }
            (Expect::CommaOrEnd, b',') => {
                expect = match open.last() {
                    Some(true) => Expect::Key,
                    _ => Expect::Value,
                };
                continue;
            }
            (Expect::CommaOrEnd, b'}') | (Expect::KeyOrEnd, b'}') if open.last() == Some(&true) => {
                open.pop();
                at + 1
            }
            (Expect::CommaOrEnd, b']') | (Expect::ValueOrEnd, b']')
                if open.last() == Some(&false) =>
            {
                open.pop();
                at + 1
            }
            _ => return Err(invalid),
        };
        if open.is_empty() {
            return Ok(end);
        }
        expect = Expect::CommaOrEnd;
    }
}

/// Inside a string only its closing quote is structural: the next token.
#[inline(always)]
fn closing_quote(tokens: &mut Tokens, buf: &[u8]) -> Result<usize, JsonError> {
    match tokens.next() {
        Some(at) if buf.get(at) == Some(&b'"') => Ok(at + 1),
        _ => Err(JsonError::Invalid { offset: buf.len() }),
    }
}
