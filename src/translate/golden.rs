//! Shared fixture reading for the translators' golden tests: recorded provider bodies in
//! `tests/fixtures/` and the hand-written expected outputs beside them.

use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn fixtures_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture by its path under `tests/fixtures/`.
pub fn fixture(relative: &str) -> Vec<u8> {
    read(&fixtures_root().join(relative))
}

/// Files in `dir` named `{prefix}*{suffix}`, sorted, as (name without suffix, path).
pub fn fixtures(dir: &str, prefix: &str, suffix: &str) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(fixtures_root().join(dir))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            let stem = name.strip_prefix(prefix)?.strip_suffix(suffix)?.to_owned();
            Some((format!("{prefix}{stem}"), path))
        })
        .collect();
    out.sort();
    out
}

pub fn json(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"))
}
