//! Webhook signatures, one scheme both ways (platforms' webhooks to us, ours to insurers):
//! header `Gigcover-Signature: t=<unix seconds>,v1=<hex>` where the hex is HMAC-SHA256
//! over `"{t}.{raw body}"` with one of the sender's active secrets. Any
//! active secret may match (rotation); comparisons are constant-time; the timestamp must be
//! within the tolerance of our clock in both directions (a future one is as suspect as an
//! old one), which bounds replays; event ids make replays within the window harmless.

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const HEADER: &str = "gigcover-signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Gigcover-Signature header is missing")]
    Missing,
    #[error("the Gigcover-Signature header must look like t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error("the signature timestamp is {0} s away from our clock (more than the {1} s allowed)")]
    Stale(i64, i64),
    #[error("no signature matches the body with any of the platform's secrets")]
    Mismatch,
}

impl SignatureError {
    /// The problem code answered with the 401.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Missing => "missing_signature",
            SignatureError::Malformed => "malformed_signature",
            SignatureError::Stale(..) => "stale_signature",
            SignatureError::Mismatch => "bad_signature",
        }
    }
}

/// `t` and every `v1` signature in the header.
pub fn parse_header(value: &str) -> Result<(i64, Vec<Vec<u8>>), SignatureError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", n)) => t = Some(n.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", h)) => v1.push(hex::decode(h).map_err(|_| SignatureError::Malformed)?),
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    match t {
        Some(t) if !v1.is_empty() => Ok((t, v1)),
        _ => Err(SignatureError::Malformed),
    }
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this never fails; an empty MAC would never match.
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return Vec::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// A new random signing secret (`whsec_` and 32 random bytes, base64url).
pub fn new_secret() -> anyhow::Result<String> {
    use base64::Engine as _;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)))
}

/// The header value a sender sends for `body` at time `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

/// Checks `header` for `body` against `secrets`, at clock time `now` (unix seconds).
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[Vec<u8>],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let (t, signatures) = parse_header(header.ok_or(SignatureError::Missing)?)?;
    let skew = (now - t).abs();
    if skew > tolerance {
        return Err(SignatureError::Stale(skew, tolerance));
    }
    let mut matched = subtle::Choice::from(0);
    for secret in secrets {
        let expected = mac(secret, t, body);
        for given in &signatures {
            matched |= expected.as_slice().ct_eq(given.as_slice());
        }
    }
    if bool::from(matched) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signature_by_any_active_secret_verifies() {
        let body = br#"{"id":"e1"}"#;
        let header = sign(b"old-secret", NOW, body);
        let secrets = vec![b"new-secret".to_vec(), b"old-secret".to_vec()];
        assert_eq!(verify(Some(&header), body, &secrets, NOW, 300), Ok(()));
    }

    #[test]
    fn a_changed_body_or_wrong_secret_fails() {
        let header = sign(b"s", NOW, b"body");
        assert_eq!(verify(Some(&header), b"body!", &[b"s".to_vec()], NOW, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&header), b"body", &[b"x".to_vec()], NOW, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&header), b"body", &[], NOW, 300), Err(SignatureError::Mismatch));
    }

    #[test]
    fn old_and_future_timestamps_are_both_refused() {
        let s = [b"s".to_vec()];
        assert!(matches!(
            verify(Some(&sign(b"s", NOW - 301, b"b")), b"b", &s, NOW, 300),
            Err(SignatureError::Stale(301, 300))
        ));
        assert!(matches!(
            verify(Some(&sign(b"s", NOW + 301, b"b")), b"b", &s, NOW, 300),
            Err(SignatureError::Stale(301, 300))
        ));
        assert_eq!(verify(Some(&sign(b"s", NOW + 299, b"b")), b"b", &s, NOW, 300), Ok(()));
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        assert_eq!(verify(None, b"b", &[], NOW, 300), Err(SignatureError::Missing));
        for bad in ["", "t=1", "v1=ab", "t=x,v1=ab", "t=1,v1=zz", "nonsense"] {
            assert_eq!(verify(Some(bad), b"b", &[], NOW, 300), Err(SignatureError::Malformed), "{bad}");
        }
    }
}
