//! Block classification on aarch64 with NEON (baseline there): four 16-byte
//! vectors per block, each comparison narrowed to a 64-bit mask.

use std::arch::aarch64::{
    uint8x16_t, vandq_u8, vceqq_u8, vcgeq_u8, vcleq_u8, vdupq_n_u8, vgetq_lane_u64, vld1q_u8,
    vorrq_u8, vpaddq_u8, vreinterpretq_u64_u8,
};

use super::stage1::{structurals, Classes, Classify, BLOCK};
use crate::json::JsonError;

/// 16 bytes at a time with NEON.
pub(super) struct Neon;

impl Classify for Neon {
    #[inline(always)]
    unsafe fn classify(block: &[u8; BLOCK]) -> Classes {
        // SAFETY: each load reads 16 bytes inside `block`; NEON is baseline on aarch64.
        unsafe {
            let p = block.as_ptr();
            let v = [
                vld1q_u8(p),
                vld1q_u8(p.add(16)),
                vld1q_u8(p.add(32)),
                vld1q_u8(p.add(48)),
            ];
            let eq = |byte: u8| v.map(|x| vceqq_u8(x, vdupq_n_u8(byte)));
            let or = |a: [uint8x16_t; 4], b: [uint8x16_t; 4]| {
                [
                    vorrq_u8(a[0], b[0]),
                    vorrq_u8(a[1], b[1]),
                    vorrq_u8(a[2], b[2]),
                    vorrq_u8(a[3], b[3]),
                ]
            };
            let ws = or(or(eq(b' '), eq(b'\t')), or(eq(b'\n'), eq(b'\r')));
            let op = or(
                or(or(eq(b'{'), eq(b'}')), or(eq(b'['), eq(b']'))),
                or(eq(b':'), eq(b',')),
            );
            let u = eq(b'u');
            let escapable = or(
                or(or(eq(b'"'), eq(b'\\')), or(eq(b'/'), eq(b'b'))),
                or(or(eq(b'f'), eq(b'n')), or(or(eq(b'r'), eq(b't')), u)),
            );
            Classes {
                quote: to_bits(eq(b'"')),
                backslash: to_bits(eq(b'\\')),
                control: to_bits(v.map(|x| vcleq_u8(x, vdupq_n_u8(0x1f)))),
                separator: to_bits(or(ws, op)),
                operator: to_bits(op),
                non_ascii: to_bits(v.map(|x| vcgeq_u8(x, vdupq_n_u8(0x80)))),
                escapable: to_bits(escapable),
                letter_u: to_bits(u),
            }
        }
    }
}

/// Four comparison results (0x00 or 0xff per byte) as one bit per byte, as simdjson
/// does it: keep one weight bit per lane, then add neighbouring lanes pairwise.
#[inline(always)]
unsafe fn to_bits(m: [uint8x16_t; 4]) -> u64 {
    const WEIGHTS: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];
    // SAFETY: register operations only; NEON is baseline on aarch64.
    unsafe {
        let w = vld1q_u8(WEIGHTS.as_ptr());
        let s0 = vpaddq_u8(vandq_u8(m[0], w), vandq_u8(m[1], w));
        let s1 = vpaddq_u8(vandq_u8(m[2], w), vandq_u8(m[3], w));
        let s = vpaddq_u8(s0, s1);
        let s = vpaddq_u8(s, s);
        vgetq_lane_u64::<0>(vreinterpretq_u64_u8(s))
    }
}

/// The structural bitmap with NEON.
pub(super) fn structurals_neon(body: &[u8]) -> Result<Vec<u64>, JsonError> {
    // SAFETY: NEON is part of every aarch64 target Rust supports with std.
    unsafe { structurals::<Neon>(body) }
}
