//! Bearer-token authentication and role checks, one extractor for every service.
//!
//! Tokens are JWTs signed with EdDSA or RS256, each key pinned to its algorithm (a token
//! whose header names another algorithm is refused before any signature check, which
//! closes `alg: none` and HS256-with-the-public-key). `exp`, `iss`, `aud` and `sub` are
//! required; keys come from the identity service's JWKS (cached, refetched on an unknown
//! `kid`) or from configured public keys.

mod claims;
mod consent;
mod extract;
mod keys;
mod record_scope;
mod verifier;

use serde::Deserialize;

pub use claims::{Audience, Claims, Principal, Role};
pub use consent::{ConsentAnswer, ConsentCheck, ConsentClient, ConsentScope, NeedsScope, ReadsWorker, needs};
pub use extract::{Authorized, RoleSet, authenticate, roles};
pub use keys::{KeyError, PublicKeyConfig};
pub use record_scope::RecordScope;
pub use verifier::{AuthError, TrustedIssuer, Verifier};

/// The `auth` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// The `iss` of tokens our identity service issues.
    pub issuer: String,
    /// The `aud` every token must carry.
    pub audience: String,
    /// Where the signing keys are published; the identity service's JWKS when absent.
    pub jwks_url: Option<String>,
    /// Public keys to trust without fetching (tests, air-gapped set-ups).
    pub public_keys: Vec<PublicKeyConfig>,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub leeway_secs: u64,
    /// The workers' identity provider in production (Cognito, Auth0): its tokens' `sub`
    /// must be the gigcover worker id (a UUID); they are always worker tokens.
    pub worker_idp: Option<WorkerIdp>,
}

/// An external identity provider that signs workers in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerIdp {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "gigcover-identity".into(),
            audience: "gigcover".into(),
            jwks_url: None,
            public_keys: Vec::new(),
            leeway_secs: 30,
            worker_idp: None,
        }
    }
}
