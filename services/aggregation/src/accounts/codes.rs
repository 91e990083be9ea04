//! One-time link codes: 12 characters from an alphabet without look-alikes (60 bits),
//! shown as `XXXX-XXXX-XXXX`, stored only as a SHA-256 hash.

use sha2::{Digest, Sha256};

const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A fresh code, formatted for people.
pub fn generate() -> anyhow::Result<String> {
    let mut raw = [0u8; 12];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let chars: Vec<char> = raw.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
    Ok(chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

/// The stored form of a code as a person may type it (case, dashes and spaces ignored).
pub fn hash(code: &str) -> Vec<u8> {
    let canonical: String =
        code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    Sha256::digest(canonical.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_typed_loosely() {
        let code = generate().unwrap();
        assert_eq!(code.len(), 14);
        assert!(code.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_eq!(hash(&code), hash(&code.to_lowercase().replace('-', " ")));
        assert_ne!(generate().unwrap(), code);
    }
}
