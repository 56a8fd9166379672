//! The SIMD scan: stage 1 builds a structural bitmap of the body, then the shared
//! state machine visits only those bytes. Also which instruction set runs it.

// Without a SIMD path for the target, stage 1 is compiled but never called.
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
mod stage1;
#[cfg(test)]
mod tests;
mod walk;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

use super::grammar::{self, Lexer};
use super::{scanner, JsonError, RequestScan};
use stage1::BLOCK;

/// Which implementation scans a body. [`Path::best`] is what `scan_request` uses;
/// tests and benchmarks force one with [`scan_request_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// The byte-stepping scanner (`scanner.rs`), the reference for the others.
    Scalar,
    /// x86_64 baseline, 16 bytes per instruction.
    Sse2,
    /// x86_64 with AVX2 and PCLMULQDQ (detected at run time), 32 bytes per instruction.
    Avx2,
    /// aarch64 baseline, 16 bytes per instruction.
    Neon,
}

impl Path {
    /// Every path this CPU can run, scalar first.
    pub fn available() -> Vec<Path> {
        [Path::Scalar, Path::Sse2, Path::Avx2, Path::Neon]
            .into_iter()
            .filter(|p| p.is_available())
            .collect()
    }

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            Path::Scalar => true,
            Path::Sse2 => cfg!(target_arch = "x86_64"),
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("pclmulqdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Path::Avx2 => false,
            Path::Neon => cfg!(target_arch = "aarch64"),
        }
    }

    /// The fastest available path, detected once.
    pub fn best() -> Path {
        static BEST: OnceLock<Path> = OnceLock::new();
        *BEST.get_or_init(|| {
            [Path::Avx2, Path::Neon, Path::Sse2]
                .into_iter()
                .find(|p| p.is_available())
                .unwrap_or(Path::Scalar)
        })
    }
}

/// `scan_request_for` on a chosen path; an unavailable one runs the scalar scanner.
/// An `Invalid` offset is where that path noticed the fault, which can differ between
/// paths (stage 1 finds some faults before the walk reaches earlier ones).
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(unreachable_code)
)]
pub fn scan_request_with(
    body: &[u8],
    wanted: &[String],
    path: Path,
) -> Result<RequestScan, JsonError> {
    let bits = match path {
        #[cfg(target_arch = "x86_64")]
        Path::Sse2 => x86::structurals_sse2(body)?,
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 if path.is_available() => {
            // SAFETY: AVX2 and PCLMULQDQ were just detected (cached atomic loads in std).
            unsafe { x86::structurals_avx2(body)? }
        }
        #[cfg(target_arch = "aarch64")]
        Path::Neon => neon::structurals_neon(body)?,
        _ => return scanner::scan_request_for(body, wanted),
    };
    grammar::scan(
        body,
        wanted,
        Structurals {
            bits,
            open: Vec::new(),
        },
    )
}

/// The best path, and on an invalid body the scalar scanner's verdict, so that the
/// error offset does not depend on the CPU. Invalid bodies are refused anyway, so the
/// second pass costs only requests that fail.
pub(super) fn scan_request_for(body: &[u8], wanted: &[String]) -> Result<RequestScan, JsonError> {
    match Path::best() {
        Path::Scalar => scanner::scan_request_for(body, wanted),
        path => match scan_request_with(body, wanted, path) {
            Err(JsonError::Invalid { .. }) => scanner::scan_request_for(body, wanted),
            result => result,
        },
    }
}

/// Moves along the structural bitmap of stage 1: whitespace and string contents
/// are never looked at, as stage 1 validated them.
struct Structurals {
    bits: Vec<u64>,
    /// Scratch stack for `walk::skip_value`, kept between values.
    open: Vec<bool>,
}

impl Lexer for Structurals {
    fn next_token(&mut self, buf: &[u8], pos: usize) -> usize {
        let mut block = pos / BLOCK;
        let Some(&first) = self.bits.get(block) else {
            return buf.len();
        };
        let mut bits = first & (u64::MAX << (pos % BLOCK));
        while bits == 0 {
            block += 1;
            match self.bits.get(block) {
                Some(&next) => bits = next,
                None => return buf.len(),
            }
        }
        block * BLOCK + bits.trailing_zeros() as usize
    }

    fn skip_string(&mut self, buf: &[u8], pos: usize) -> Result<usize, JsonError> {
        // Inside a string only its closing quote is structural.
        let close = self.next_token(buf, pos + 1);
        match buf.get(close) {
            Some(b'"') => Ok(close + 1),
            _ => Err(JsonError::Invalid { offset: buf.len() }),
        }
    }

    fn skip_value(&mut self, buf: &[u8], pos: usize) -> Option<Result<usize, JsonError>> {
        Some(walk::skip_value(&self.bits, buf, pos, &mut self.open))
    }
}
