//! Access tokens of a gateway (made through the management API): each a hashed bearer
//! token with a name, and optionally the models it may use and its own rate and spend limits.

use sha2::{Digest, Sha256};

/// One access token as the data plane checks it. Its value is never kept, only its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    /// Its id: what the log records, never the token.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// The models it may ask for (`provider/model`, `dynamic/NAME`, `custom/NAME`, or a bare
    /// model name); empty: any.
    pub models: Vec<String>,
    /// At most `limit` requests per `interval_s`.
    pub rate: Option<TokenRate>,
    /// At most `limit` dollars per `window_s`.
    pub spend: Option<TokenSpend>,
}

/// An access token's request rate limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenRate {
    /// Requests per interval.
    pub limit: u64,
    /// The window in seconds.
    pub interval_s: u64,
}

/// An access token's spend limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenSpend {
    /// Dollars per window.
    pub limit: f64,
    /// The window in seconds.
    pub window_s: u64,
}

/// The hash a token is kept and matched by.
pub fn token_hash(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl AccessToken {
    /// Whether the token may ask for `model` (as the client wrote it).
    pub fn allows(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|m| m == model)
    }
}
