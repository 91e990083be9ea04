//! Verification keys: each pinned to one algorithm, loaded from PEM or from a JWKS.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// Algorithms we accept at all. Anything else (HS*, none, ES*) is refused outright.
pub const ACCEPTED: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::RS256];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key {kid}: {reason}")]
    Invalid { kid: String, reason: String },
}

/// A configured public key (`auth.public_keys`): `{ kid = "...", pem = "-----BEGIN PUBLIC KEY-----..." }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyConfig {
    pub kid: String,
    /// `EdDSA` or `RS256`.
    pub alg: String,
    pub pem: String,
}

#[derive(Clone)]
pub(crate) struct VerificationKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

impl VerificationKey {
    pub(crate) fn from_config(c: &PublicKeyConfig) -> Result<(String, Self), KeyError> {
        let invalid = |reason: String| KeyError::Invalid { kid: c.kid.clone(), reason };
        let (alg, key) = match c.alg.as_str() {
            "EdDSA" => (Algorithm::EdDSA, DecodingKey::from_ed_pem(c.pem.as_bytes())),
            "RS256" => (Algorithm::RS256, DecodingKey::from_rsa_pem(c.pem.as_bytes())),
            other => return Err(invalid(format!("algorithm {other} is not accepted (EdDSA or RS256)"))),
        };
        Ok((c.kid.clone(), Self { alg, key: key.map_err(|e| invalid(e.to_string()))? }))
    }

    /// A JWK is usable when it names its `kid` and an accepted `alg` that fits its key type.
    pub(crate) fn from_jwk(jwk: &Jwk) -> Option<(String, Self)> {
        let kid = jwk.common.key_id.clone()?;
        let alg = match (jwk.common.key_algorithm?, &jwk.algorithm) {
            (KeyAlgorithm::EdDSA, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
            (KeyAlgorithm::RS256, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            _ => return None,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some((kid, Self { alg, key }))
    }

    pub(crate) fn from_jwks(set: &JwkSet) -> Vec<(String, Self)> {
        set.keys.iter().filter_map(Self::from_jwk).collect()
    }
}
