//! Block classification on x86_64: SSE2 (every x86_64 CPU) and AVX2 (detected at
//! run time), each compiled into its own copy of the stage 1 loop.

use std::arch::x86_64::{
    __m128i, __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8,
    _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8, _mm256_setr_epi8,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm_clmulepi64_si128,
    _mm_cmpeq_epi8, _mm_cvtsi128_si64, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
    _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
};

use super::stage1::{structurals, Classes, Classify, BLOCK};
use crate::json::JsonError;

/// 16 bytes at a time with SSE2, part of the x86_64 baseline.
pub(super) struct Sse2;

impl Classify for Sse2 {
    #[inline(always)]
    unsafe fn classify(block: &[u8; BLOCK]) -> Classes {
        let mut c = Classes::default();
        for (i, chunk) in block.chunks_exact(16).enumerate() {
            // SAFETY: `chunk` is 16 readable bytes; unaligned loads are allowed.
            let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
            // SAFETY: SSE2 is part of every x86_64 CPU.
            let part = unsafe { classify16(v) };
            let shift = 16 * i;
            c.quote |= part.quote << shift;
            c.backslash |= part.backslash << shift;
            c.control |= part.control << shift;
            c.separator |= part.separator << shift;
            c.operator |= part.operator << shift;
            c.non_ascii |= part.non_ascii << shift;
            c.escapable |= part.escapable << shift;
            c.letter_u |= part.letter_u << shift;
        }
        c
    }
}

/// The classes of 16 bytes, in the low 16 bits of each mask.
#[inline(always)]
unsafe fn classify16(v: __m128i) -> Classes {
    // SAFETY: SSE2 intrinsics on register values; SSE2 is baseline on x86_64.
    unsafe {
        let eq = |byte: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8));
        let bits = |m: __m128i| u64::from(_mm_movemask_epi8(m) as u16);
        let ws = _mm_or_si128(
            _mm_or_si128(eq(b' '), eq(b'\t')),
            _mm_or_si128(eq(b'\n'), eq(b'\r')),
        );
        // `[` and `]` are `{` and `}` with bit 5 clear.
        let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let braces = _mm_or_si128(
            _mm_cmpeq_epi8(folded, _mm_set1_epi8(b'{' as i8)),
            _mm_cmpeq_epi8(folded, _mm_set1_epi8(b'}' as i8)),
        );
        let op = _mm_or_si128(braces, _mm_or_si128(eq(b':'), eq(b',')));
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        let u = eq(b'u');
        let escapable = b"\"\\/bfnrt"
            .iter()
            .fold(u, |m, &byte| _mm_or_si128(m, eq(byte)));
        Classes {
            quote: bits(eq(b'"')),
            backslash: bits(eq(b'\\')),
            control: bits(control),
            separator: bits(_mm_or_si128(ws, op)),
            operator: bits(op),
            non_ascii: bits(v),
            escapable: bits(escapable),
            letter_u: bits(u),
        }
    }
}

/// 32 bytes at a time with AVX2, and PCLMULQDQ for the in-string mask.
pub(super) struct Avx2;

impl Classify for Avx2 {
    #[inline(always)]
    unsafe fn classify(block: &[u8; BLOCK]) -> Classes {
        // SAFETY: the caller checked that the CPU has AVX2.
        unsafe { classify_avx2(block) }
    }

    #[inline(always)]
    unsafe fn prefix_xor(x: u64) -> u64 {
        // SAFETY: the caller checked that the CPU has PCLMULQDQ (with AVX2).
        unsafe { prefix_xor_clmul(x) }
    }
}

#[target_feature(enable = "avx2")]
#[inline]
unsafe fn classify_avx2(block: &[u8; BLOCK]) -> Classes {
    // SAFETY: both halves are 32 readable bytes of `block`; unaligned loads are allowed.
    let (lo, hi) = unsafe {
        (
            _mm256_loadu_si256(block.as_ptr().cast::<__m256i>()),
            _mm256_loadu_si256(block.as_ptr().add(32).cast::<__m256i>()),
        )
    };
    // SAFETY: the caller checked that the CPU has AVX2.
    let (lo, hi) = unsafe { (classify32(lo), classify32(hi)) };
    Classes {
        quote: lo.quote | hi.quote << 32,
        backslash: lo.backslash | hi.backslash << 32,
        control: lo.control | hi.control << 32,
        separator: lo.separator | hi.separator << 32,
        operator: lo.operator | hi.operator << 32,
        non_ascii: lo.non_ascii | hi.non_ascii << 32,
        escapable: lo.escapable | hi.escapable << 32,
        letter_u: lo.letter_u | hi.letter_u << 32,
    }
}

/// The classes of 32 bytes, in the low 32 bits of each mask.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn classify32(v: __m256i) -> Classes {
    let eq = |byte: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(byte as i8));
    let bits = |m: __m256i| u64::from(_mm256_movemask_epi8(m) as u32);
    // Whitespace by table: a byte is whitespace iff the entry at its low nibble is
    // itself (bytes with the high bit set look up 0, which no such byte equals).
    let table = _mm256_setr_epi8(
        0x20, -1, -1, -1, -1, -1, -1, -1, -1, 0x09, 0x0a, -1, -1, 0x0d, -1, -1, //
        0x20, -1, -1, -1, -1, -1, -1, -1, -1, 0x09, 0x0a, -1, -1, 0x0d, -1, -1,
    );
    let ws = _mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v), v);
    // `[` and `]` are `{` and `}` with bit 5 clear.
    let folded = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
    let braces = _mm256_or_si256(
        _mm256_cmpeq_epi8(folded, _mm256_set1_epi8(b'{' as i8)),
        _mm256_cmpeq_epi8(folded, _mm256_set1_epi8(b'}' as i8)),
    );
    let op = _mm256_or_si256(braces, _mm256_or_si256(eq(b':'), eq(b',')));
    let control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v);
    // What may follow a backslash, by nibble tables: the low-nibble entry says which
    // high nibbles (one bit each: 2, 5, 6, 7) make an escapable byte with it.
    let by_low = _mm256_setr_epi8(
        0, 0, 0x0d, 0, 0x08, 0x08, 0x04, 0, 0, 0, 0, 0, 0x02, 0, 0x04, 0x01, //
        0, 0, 0x0d, 0, 0x08, 0x08, 0x04, 0, 0, 0, 0, 0, 0x02, 0, 0x04, 0x01,
    );
    let by_high = _mm256_setr_epi8(
        0, 0, 0x01, 0, 0, 0x02, 0x04, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, //
        0, 0, 0x01, 0, 0, 0x02, 0x04, 0x08, 0, 0, 0, 0, 0, 0, 0, 0,
    );
    let high = _mm256_and_si256(_mm256_srli_epi16::<4>(v), _mm256_set1_epi8(0x0f));
    let both = _mm256_and_si256(
        _mm256_shuffle_epi8(by_low, v),
        _mm256_shuffle_epi8(by_high, high),
    );
    let not_escapable = _mm256_cmpeq_epi8(both, _mm256_setzero_si256());
    Classes {
        quote: bits(eq(b'"')),
        backslash: bits(eq(b'\\')),
        control: bits(control),
        separator: bits(_mm256_or_si256(ws, op)),
        operator: bits(op),
        non_ascii: bits(v),
        escapable: !bits(not_escapable) & 0xffff_ffff,
        letter_u: bits(eq(b'u')),
    }
}

/// Carry-less multiplication by all ones: the running parity in one instruction.
#[target_feature(enable = "pclmulqdq")]
#[inline]
unsafe fn prefix_xor_clmul(x: u64) -> u64 {
    let product = _mm_clmulepi64_si128::<0>(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1));
    _mm_cvtsi128_si64(product) as u64
}

/// The structural bitmap with SSE2.
pub(super) fn structurals_sse2(body: &[u8]) -> Result<Vec<u64>, JsonError> {
    // SAFETY: SSE2 is part of every x86_64 CPU.
    unsafe { structurals::<Sse2>(body) }
}

/// The structural bitmap with AVX2: the whole loop is compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2 and PCLMULQDQ.
#[target_feature(enable = "avx2,pclmulqdq")]
pub(super) unsafe fn structurals_avx2(body: &[u8]) -> Result<Vec<u64>, JsonError> {
    // SAFETY: the caller checked that the CPU has AVX2 and PCLMULQDQ.
    unsafe { structurals::<Avx2>(body) }
}
