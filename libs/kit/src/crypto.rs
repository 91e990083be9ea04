//! Sealing secrets at rest (webhook signing secrets, later personal data) with
//! XChaCha20-Poly1305 under a master key. The key comes from configuration
//! (`crypto.master_key`, base64 of 32 bytes) or from a key file that the embedded default
//! creates on first start (`crypto.master_key_file`, mode 0600). Production must configure it.
//! Each sealed value is bound to its context (`aad`), so a ciphertext moved to another
//! row does not open.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const NONCE_LEN: usize = 24;
const VERSION: u8 = 1;

/// The `crypto` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CryptoSettings {
    /// Base64 of 32 random bytes. Wins over the key file.
    pub master_key: Option<SecretString>,
    /// Where the embedded default keeps its generated key.
    pub master_key_file: PathBuf,
}

impl Default for CryptoSettings {
    fn default() -> Self {
        Self { master_key: None, master_key_file: ".gigcover/master.key".into() }
    }
}

/// Seals and opens small secrets.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(text.trim()).context("crypto.master_key is not base64")?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("crypto.master_key must be 32 bytes"))
}

fn read_or_create_key_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    if path.exists() {
        return decode_key(&std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?);
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = base64::engine::general_purpose::STANDARD.encode(key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write as _;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("create {}", path.display()))?;
    tracing::info!(path = %path.display(), "created a master key for secrets at rest");
    Ok(key)
}

impl Sealer {
    /// From `crypto.master_key`, else the key file (created unless `production`).
    pub fn from_settings(settings: &CryptoSettings, production: bool) -> anyhow::Result<Self> {
        let key = match &settings.master_key {
            Some(k) => decode_key(k.expose_secret())?,
            None if production => bail!("crypto.master_key is required in production"),
            None => read_or_create_key_file(&settings.master_key_file)?,
        };
        Ok(Self::from_key(&key))
    }

    pub fn from_key(key: &[u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    /// `version || nonce || ciphertext+tag`, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad })
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            bail!("not a sealed value");
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| anyhow::anyhow!("not a sealed value"))?;
        self.cipher
            .decrypt(&nonce, Payload { msg: body, aad })
            .map_err(|_| anyhow::anyhow!("the sealed value does not open with this key and context"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let sealer = Sealer::from_key(&[1u8; 32]);
        let sealed = sealer.seal(b"whsec_123", b"platform:a").unwrap();
        assert_eq!(sealer.open(&sealed, b"platform:a").unwrap(), b"whsec_123");
        assert!(sealer.open(&sealed, b"platform:b").is_err());
        assert!(Sealer::from_key(&[2u8; 32]).open(&sealed, b"platform:a").is_err());
        assert!(!sealed.windows(9).any(|w| w == b"whsec_123"));
    }

    #[test]
    fn the_embedded_default_creates_a_private_key_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let settings = CryptoSettings { master_key: None, master_key_file: dir.path().join("k") };
        let a = Sealer::from_settings(&settings, false).unwrap().seal(b"x", b"").unwrap();
        let again = Sealer::from_settings(&settings, false).unwrap();
        assert_eq!(again.open(&a, b"").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(dir.path().join("k")).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(
            Sealer::from_settings(&CryptoSettings { master_key: None, master_key_file: dir.path().join("none") }, true)
                .is_err()
        );
    }
}
