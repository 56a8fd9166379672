//! Per-request behaviour of the mock: the `x-mock-*` request headers, with command-line defaults.
//! Invalid header values are typed errors that the mock answers with a 400.

use std::time::Duration;

/// Most content chunks one stream may ask for.
const MAX_CHUNKS: u64 = 1_000_000;
/// Most embedding dimensions one request may ask for.
const MAX_DIMS: u64 = 65_536;
/// Largest padded completion one request may ask for.
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Longest delay one request may ask for (an hour).
const MAX_DELAY_MS: u64 = 3_600_000;

/// How the mock answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knobs {
    /// Content chunks in a stream (`x-mock-chunks`).
    pub chunks: u32,
    /// Gap between content chunks (`x-mock-chunk-interval-ms`).
    pub chunk_interval: Duration,
    /// Delay before the response head (`x-mock-ttft-ms`).
    pub ttft: Duration,
    /// Error status to answer with instead (`x-mock-status`, 400-599).
    pub status: Option<u16>,
    /// Pad the non-streaming content to about this many bytes (`x-mock-body-bytes`).
    pub body_bytes: Option<usize>,
    /// Echo the request headers as the completion content (`x-mock-echo-headers: true`).
    pub echo_headers: bool,
    /// Floats per embedding (`x-mock-dims`).
    pub dims: usize,
    /// Call an offered tool (`x-mock-tool-call`, default true); false answers text.
    pub tool_calls: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            chunks: 20,
            chunk_interval: Duration::ZERO,
            ttft: Duration::ZERO,
            status: None,
            body_bytes: None,
            echo_headers: false,
            dims: 8,
            tool_calls: true,
        }
    }
}

/// A `x-mock-*` header (or flag) whose value the mock cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for {name}: expected {expected}")]
pub struct KnobError {
    /// The header or flag name.
    pub name: &'static str,
    /// What a valid value looks like.
    pub expected: &'static str,
}

impl Knobs {
    /// Applies one request header if it is a knob; other headers are ignored.
    pub fn apply_header(&mut self, name: &str, value: &[u8]) -> Result<(), KnobError> {
        let Some(knob) = name
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("x-mock-"))
            .and(name.get(7..))
        else {
            return Ok(());
        };
        let value = std::str::from_utf8(crate::wire::trim(value)).unwrap_or("");
        self.apply(&knob.to_ascii_lowercase(), value)
    }

    /// Applies one knob by its short name (`chunks`, `ttft-ms`, ...), as from a header or a flag.
    pub fn apply(&mut self, knob: &str, value: &str) -> Result<(), KnobError> {
        match knob {
            "chunks" => self.chunks = number("x-mock-chunks", value, MAX_CHUNKS)? as u32,
            "chunk-interval-ms" => {
                let ms = number("x-mock-chunk-interval-ms", value, MAX_DELAY_MS)?;
                self.chunk_interval = Duration::from_millis(ms);
            }
            "ttft-ms" => {
                let ms = number("x-mock-ttft-ms", value, MAX_DELAY_MS)?;
                self.ttft = Duration::from_millis(ms);
            }
            "status" => {
                let bad = KnobError {
                    name: "x-mock-status",
                    expected: "200 or a status in 400-599",
                };
                self.status = match number("x-mock-status", value, 599).map_err(|_| bad.clone())? {
                    200 => None,
                    code @ 400..=599 => Some(code as u16),
                    _ => return Err(bad),
                };
            }
            "body-bytes" => {
                self.body_bytes = Some(number("x-mock-body-bytes", value, MAX_BODY_BYTES)? as usize)
            }
            "echo-headers" => self.echo_headers = value.eq_ignore_ascii_case("true"),
            "dims" => self.dims = number("x-mock-dims", value, MAX_DIMS)?.max(1) as usize,
            "tool-call" => {
                self.tool_calls = match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(KnobError {
                            name: "x-mock-tool-call",
                            expected: "true or false",
                        })
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn number(name: &'static str, value: &str, max: u64) -> Result<u64, KnobError> {
    crate::wire::parse_decimal(value.as_bytes())
        .filter(|n| *n <= max)
        .ok_or(KnobError {
            name,
            expected: "a decimal number within limits",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_override_defaults() {
        let mut knobs = Knobs::default();
        knobs.apply_header("X-Mock-Chunks", b" 3 ").unwrap();
        knobs.apply_header("x-mock-ttft-ms", b"15").unwrap();
        knobs.apply_header("x-mock-status", b"429").unwrap();
        knobs.apply_header("x-mock-echo-headers", b"TRUE").unwrap();
        knobs.apply_header("authorization", b"Bearer x").unwrap();
        knobs.apply_header("x-mock-tool-call", b"False").unwrap();
        assert_eq!(knobs.chunks, 3);
        assert_eq!(knobs.ttft, Duration::from_millis(15));
        assert_eq!(knobs.status, Some(429));
        assert!(knobs.echo_headers);
        assert!(!knobs.tool_calls);
        knobs.apply_header("x-mock-status", b"200").unwrap();
        assert_eq!(knobs.status, None);
    }

    #[test]
    fn invalid_values_are_errors() {
        let mut knobs = Knobs::default();
        assert!(knobs.apply_header("x-mock-chunks", b"-1").is_err());
        assert!(knobs.apply_header("x-mock-chunks", b"99999999999").is_err());
        assert!(knobs.apply_header("x-mock-status", b"302").is_err());
        assert!(knobs.apply_header("x-mock-dims", b"").is_err());
        assert!(knobs.apply_header("x-mock-tool-call", b"no").is_err());
        assert_eq!(
            knobs,
            Knobs::default(),
            "failed applications change nothing"
        );
    }
}
