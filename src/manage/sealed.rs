//! Provider keys sealed at rest: AES-256-GCM (ring) under `server.secrets_key`, or under a
//! key file made with mode 0600 in `data_dir` on first start when none is set.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The key file's name in `data_dir`.
pub const KEY_FILE: &str = "secrets.key";

/// Why secrets could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file could not be read or made.
    #[error("secrets key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No randomness from the system.
    #[error("the system gave no random bytes")]
    Random,
    /// A sealed value does not open under this key: another `secrets_key`, or damage.
    #[error("a stored secret does not open under this secrets key (was server.secrets_key or {KEY_FILE} changed?)")]
    Open,
}

/// The sealing key.
pub struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    /// From `secrets_key` (any string, hashed to 256 bits) or, when it is empty, the key file
    /// in `data_dir` (32 random bytes, made with mode 0600 if absent).
    pub fn load(secrets_key: &str, data_dir: &Path) -> Result<Sealer, SealError> {
        let random = SystemRandom::new();
        let material: [u8; 32] = match secrets_key {
            "" => key_file(&data_dir.join(KEY_FILE), &random)?,
            text => Sha256::digest(text.as_bytes()).into(),
        };
        let unbound = UnboundKey::new(&AES_256_GCM, &material).map_err(|_| SealError::Random)?;
        Ok(Sealer {
            key: LessSafeKey::new(unbound),
            random,
        })
    }

    /// `secret` sealed, bound to `context` (the object it belongs to): nonce then ciphertext.
    pub fn seal(&self, secret: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut sealed = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| SealError::Random)?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// The secret `sealed` holds, if it was sealed under this key for `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<String, SealError> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN).ok_or(SealError::Open)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Open)
    }
}

/// The key file's 32 bytes, made (mode 0600, never replaced) when it does not exist.
fn key_file(path: &Path, random: &SystemRandom) -> Result<[u8; 32], SealError> {
    let fail = |source| SealError::KeyFile {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            return bytes.try_into().map_err(|_| {
                fail(std::io::Error::other(
                    "not 32 bytes: damaged, or not a sluice key file",
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let mut key = [0u8; 32];
    random.fill(&mut key).map_err(|_| SealError::Random)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    file.write_all(&key).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_under_its_key_and_context() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::load("", dir.path()).unwrap();
        let sealed = sealer.seal("sk-live-1234", "g/openai/a").unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"1234"), "stored in clear");
        assert_eq!(sealer.open(&sealed, "g/openai/a").unwrap(), "sk-live-1234");
        assert!(sealer.open(&sealed, "other/openai/a").is_err());
        // The key file was made 0600 and is read back on the next start.
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        let again = Sealer::load("", dir.path()).unwrap();
        assert_eq!(again.open(&sealed, "g/openai/a").unwrap(), "sk-live-1234");
        let other = Sealer::load("a passphrase", dir.path()).unwrap();
        assert!(other.open(&sealed, "g/openai/a").is_err());
    }
}
