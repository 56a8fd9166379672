//! The machine's physical memory (sysconf) and the default sizing it gives:
//! `server.max_buffered_body_bytes` when the file leaves it at 0.

/// The default budget is this share of physical memory...
const SHARE_DIVISOR: u64 = 4;
/// ...but never less than this (a small VM still takes a few large bodies at once)...
const MIN_DEFAULT: u64 = 256 * 1024 * 1024;
/// ...nor more than this (bodies are not where a big machine's memory should go).
const MAX_DEFAULT: u64 = 64 * 1024 * 1024 * 1024;
/// Where sysconf cannot tell.
const UNKNOWN_MEMORY: u64 = 4 * 1024 * 1024 * 1024;

/// Physical memory in bytes, `None` when sysconf does not know.
pub fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf reads a system value; it takes no pointers.
    let (pages, page_size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let pages = u64::try_from(pages).ok().filter(|&p| p > 0)?;
    let page_size = u64::try_from(page_size).ok().filter(|&p| p > 0)?;
    pages.checked_mul(page_size)
}

/// A quarter of `memory` (or of a guess), within 256 MiB..64 GiB, and at least one
/// largest body (`max_body_bytes`).
pub fn default_body_budget(memory: Option<u64>, max_body_bytes: u64) -> u64 {
    let share = memory.unwrap_or(UNKNOWN_MEMORY) / SHARE_DIVISOR;
    share.clamp(MIN_DEFAULT, MAX_DEFAULT).max(max_body_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_memory_within_bounds() {
        const GIB: u64 = 1024 * 1024 * 1024;
        assert_eq!(default_body_budget(Some(16 * GIB), 0), 4 * GIB);
        assert_eq!(default_body_budget(Some(512 * 1024 * 1024), 0), MIN_DEFAULT);
        assert_eq!(default_body_budget(Some(1024 * GIB), 0), MAX_DEFAULT);
        assert_eq!(default_body_budget(None, 0), GIB);
        assert_eq!(default_body_budget(Some(GIB), 2 * GIB), 2 * GIB);
        assert!(physical_memory().is_some_and(|m| m > 0));
    }
}
