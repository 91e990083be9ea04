//! Verifies bearer tokens against the keys of the issuers we trust.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Validation, decode, decode_header};
use tokio::sync::{Mutex, RwLock};

use super::AuthSettings;
use super::claims::{Claims, Principal, Role};
use super::keys::{ACCEPTED, KeyError, VerificationKey};
use crate::error::ApiError;

/// Refetch a JWKS at most this often when asked for a `kid` it does not hold.
const MIN_REFETCH: Duration = Duration::from_secs(5);
/// Refetch a JWKS older than this on next use, to learn of rotations and withdrawals.
const MAX_AGE: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error, Clone)]
pub enum AuthError {
    #[error("a bearer token is required")]
    Missing,
    #[error("the token is refused: {0}")]
    Rejected(String),
    #[error("the signing keys cannot be fetched right now")]
    KeysUnavailable,
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::KeysUnavailable => ApiError::unavailable("auth_unavailable", e.to_string()),
            other => ApiError::unauthorized(other.to_string()),
        }
    }
}

struct JwksState {
    keys: HashMap<String, VerificationKey>,
    fetched_at: Option<Instant>,
}

struct Jwks {
    url: String,
    http: reqwest::Client,
    state: RwLock<JwksState>,
    refreshing: Mutex<()>,
}

impl Jwks {
    async fn fetch(&self) -> Result<HashMap<String, VerificationKey>, String> {
        let res = self.http.get(&self.url).send().await.map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("status {}", res.status()));
        }
        let set: JwkSet = res.json().await.map_err(|e| e.to_string())?;
        Ok(VerificationKey::from_jwks(&set).into_iter().collect())
    }

    async fn key(&self, kid: &str) -> Result<Option<VerificationKey>, AuthError> {
        let fresh = |s: &JwksState, within: Duration| s.fetched_at.is_some_and(|t| t.elapsed() < within);
        {
            let s = self.state.read().await;
            if let Some(k) = s.keys.get(kid).filter(|_| fresh(&s, MAX_AGE)) {
                return Ok(Some(k.clone()));
            }
        }
        let _one_at_a_time = self.refreshing.lock().await;
        {
            let s = self.state.read().await;
            if fresh(&s, MIN_REFETCH) {
                return Ok(s.keys.get(kid).cloned());
            }
        }
        match self.fetch().await {
            Ok(keys) => {
                let mut s = self.state.write().await;
                s.keys = keys;
                s.fetched_at = Some(Instant::now());
                Ok(s.keys.get(kid).cloned())
            }
            Err(reason) => {
                tracing::warn!(url = %self.url, %reason, "fetching the JWKS failed");
                let s = self.state.read().await;
                match s.keys.get(kid) {
                    Some(stale) => Ok(Some(stale.clone())),
                    None => Err(AuthError::KeysUnavailable),
                }
            }
        }
    }
}

/// Fixed keys, a JWKS, or both (fixed keys first: tests and break-glass keys beside the
/// identity service's published ones).
struct KeySource {
    fixed: HashMap<String, VerificationKey>,
    jwks: Option<Jwks>,
}

/// An issuer whose tokens we accept, with its audience and keys.
pub struct TrustedIssuer {
    issuer: String,
    audience: String,
    keys: KeySource,
    /// An external identity provider for workers (Cognito, Auth0): its tokens carry no
    /// role of ours, and whatever they claim, their bearer is the worker named by `sub`.
    workers_only: bool,
}

impl TrustedIssuer {
    /// Keys fetched from `jwks_url` (cached).
    pub fn with_jwks(issuer: impl Into<String>, audience: impl Into<String>, jwks_url: impl Into<String>) -> Self {
        let http = crate::client::http_builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: KeySource {
                fixed: HashMap::new(),
                jwks: Some(Jwks {
                    url: jwks_url.into(),
                    http,
                    state: RwLock::new(JwksState { keys: HashMap::new(), fetched_at: None }),
                    refreshing: Mutex::new(()),
                }),
            },
            workers_only: false,
        }
    }

    /// Marks this issuer as the workers' identity provider (see `workers_only`).
    pub fn for_workers(mut self) -> Self {
        self.workers_only = true;
        self
    }

    /// Fixed public keys, each pinned to its algorithm.
    pub fn with_keys(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        keys: &[super::PublicKeyConfig],
    ) -> Result<Self, KeyError> {
        let keys = keys.iter().map(VerificationKey::from_config).collect::<Result<HashMap<_, _>, _>>()?;
        Ok(Self {
            issuer: issuer.into(),
            audience: audience.into(),
            keys: KeySource { fixed: keys, jwks: None },
            workers_only: false,
        })
    }

    /// Also trusts `keys` (checked before the JWKS).
    pub fn and_keys(mut self, keys: &[super::PublicKeyConfig]) -> Result<Self, KeyError> {
        for k in keys {
            let (kid, key) = VerificationKey::from_config(k)?;
            self.keys.fixed.insert(kid, key);
        }
        Ok(self)
    }

    async fn key(&self, kid: &str) -> Result<Option<VerificationKey>, AuthError> {
        if let Some(k) = self.keys.fixed.get(kid) {
            return Ok(Some(k.clone()));
        }
        match &self.keys.jwks {
            Some(jwks) => jwks.key(kid).await,
            None => Ok(None),
        }
    }
}

/// What we read from a worker identity provider's token (its other claims are its own).
#[derive(serde::Deserialize)]
struct ExternalClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    jti: Option<String>,
}

/// Verifies tokens; shared by every route of a service as app data.
pub struct Verifier {
    issuers: Vec<TrustedIssuer>,
    leeway: u64,
    /// Tokens already verified (by SHA-256 of the whole token), until they expire: a client
    /// presents the same token for many requests, and a signature check costs more than
    /// the rest of a small request. Only a token that passed every check is kept.
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], (Principal, i64)>>,
}

/// At most this many verified tokens are remembered (the map is cleared when full).
const VERIFIED_CAPACITY: usize = 10_000;

impl Verifier {
    pub fn new(issuers: Vec<TrustedIssuer>, leeway_secs: u64) -> Self {
        Self { issuers, leeway: leeway_secs, verified: std::sync::Mutex::default() }
    }

    /// From the `auth` section; `default_jwks_url` is the identity service's JWKS. Fixed
    /// `public_keys` alone are trusted without fetching; with an explicit `jwks_url` too,
    /// both are.
    pub fn from_settings(auth: &AuthSettings, default_jwks_url: &str) -> Result<Self, KeyError> {
        let issuer = match (&auth.jwks_url, auth.public_keys.is_empty()) {
            (None, false) => TrustedIssuer::with_keys(&auth.issuer, &auth.audience, &auth.public_keys)?,
            (url, _) => {
                TrustedIssuer::with_jwks(&auth.issuer, &auth.audience, url.as_deref().unwrap_or(default_jwks_url))
                    .and_keys(&auth.public_keys)?
            }
        };
        let mut issuers = vec![issuer];
        if let Some(idp) = &auth.worker_idp {
            issuers.push(TrustedIssuer::with_jwks(&idp.issuer, &idp.audience, &idp.jwks_url).for_workers());
        }
        Ok(Self::new(issuers, auth.leeway_secs))
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        if let Ok(cache) = self.verified.lock()
            && let Some((principal, exp)) = cache.get(&digest)
            && now < *exp
        {
            return Ok(principal.clone());
        }
        let (principal, exp) = self.verify_signed(token).await?;
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CAPACITY {
                cache.clear();
            }
            cache.insert(digest, (principal.clone(), exp));
        }
        Ok(principal)
    }

    /// Every check of a token, with its expiry.
    async fn verify_signed(&self, token: &str) -> Result<(Principal, i64), AuthError> {
        let reject = |why: &str| AuthError::Rejected(why.to_owned());
        let header = decode_header(token).map_err(|_| reject("not a well-formed JWT with a supported algorithm"))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(reject("its algorithm is not accepted"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| reject("it names no signing key (kid)"))?;
        // The issuer only routes to its keys here; the signature check below enforces it.
        let claimed: serde_json::Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| reject("its claims are not readable"))?;
        let iss = claimed.get("iss").and_then(|v| v.as_str()).ok_or_else(|| reject("it has no issuer (iss)"))?;
        let issuer =
            self.issuers.iter().find(|i| i.issuer == iss).ok_or_else(|| reject("its issuer is not trusted"))?;
        let key = issuer.key(kid).await?.ok_or_else(|| reject("its signing key (kid) is unknown"))?;
        if key.alg != header.alg {
            return Err(reject("its algorithm does not match its key"));
        }

        let mut validation = Validation::new(key.alg);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&issuer.issuer]);
        validation.set_audience(&[&issuer.audience]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        let rejected = |e: jsonwebtoken::errors::Error| {
            AuthError::Rejected(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "it has expired",
                    ErrorKind::ImmatureSignature => "it is not valid yet (nbf)",
                    ErrorKind::InvalidAudience => "it is for another audience",
                    ErrorKind::InvalidIssuer => "its issuer is not trusted",
                    ErrorKind::InvalidSignature => "its signature does not verify",
                    ErrorKind::MissingRequiredClaim(_) => "a required claim (exp, iss, aud, sub) is missing",
                    ErrorKind::InvalidAlgorithm => "its algorithm is not accepted",
                    _ => "it is malformed",
                }
                .to_owned(),
            )
        };
        if issuer.workers_only {
            let data = decode::<ExternalClaims>(token, &key.key, &validation).map_err(rejected)?;
            let exp = data.claims.exp;
            return Ok((
                Principal {
                    subject: data.claims.sub,
                    role: Role::Worker,
                    tenant: None,
                    scopes: Vec::new(),
                    token_id: data.claims.jti,
                },
                exp,
            ));
        }
        let data = decode::<Claims>(token, &key.key, &validation).map_err(rejected)?;
        let exp = data.claims.exp;
        Ok((data.claims.into(), exp))
    }
}
