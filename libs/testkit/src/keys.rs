//! A fixed Ed25519 key for tests: sign tokens with it, trust it through `auth.public_keys`.
//! It is for tests only and is never configured anywhere else.

use base64::Engine as _;
use gigcover_kit::auth::{Claims, PublicKeyConfig, Role, TrustedIssuer, Verifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

pub const ISSUER: &str = "gigcover-identity";
pub const AUDIENCE: &str = "gigcover";
pub const KID: &str = "test-key-1";

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// SubjectPublicKeyInfo prefix of an Ed25519 public key; the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

pub struct TestKeys {
    pub kid: String,
    seed: [u8; 32],
}

impl Default for TestKeys {
    fn default() -> Self {
        Self::from_seed(KID, [7u8; 32])
    }
}

impl TestKeys {
    pub fn from_seed(kid: &str, seed: [u8; 32]) -> Self {
        Self { kid: kid.to_owned(), seed }
    }

    fn encoding_key(&self) -> EncodingKey {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.seed);
        EncodingKey::from_ed_der(&der)
    }

    pub fn public_key_bytes(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.seed).verifying_key().to_bytes()
    }

    /// The public key as PEM (SubjectPublicKeyInfo).
    pub fn public_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.public_key_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
    }

    /// The public key as a JWK (`x` is base64url without padding).
    pub fn jwk(&self) -> serde_json::Value {
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.public_key_bytes());
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": "EdDSA", "use": "sig"})
    }

    pub fn public_key_config(&self) -> PublicKeyConfig {
        PublicKeyConfig { kid: self.kid.clone(), alg: "EdDSA".into(), pem: self.public_pem() }
    }

    /// A verifier that trusts only this key.
    pub fn verifier(&self) -> Verifier {
        let issuer = TrustedIssuer::with_keys(ISSUER, AUDIENCE, &[self.public_key_config()]).expect("test key loads");
        Verifier::new(vec![issuer], 30)
    }

    /// Signs arbitrary claims (a JSON object) with this key and its `kid`.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).expect("sign test token")
    }

    /// Valid claims for `role`, expiring in an hour.
    pub fn claims(&self, role: Role, subject: &str, tenant: Option<&str>) -> serde_json::Value {
        let now = chrono::Utc::now().timestamp();
        serde_json::to_value(Claims {
            iss: ISSUER.into(),
            sub: subject.into(),
            aud: gigcover_kit::auth::Audience::One(AUDIENCE.into()),
            exp: now + 3600,
            nbf: None,
            iat: Some(now),
            jti: Some(uuid::Uuid::new_v4().to_string()),
            role,
            tenant: tenant.map(str::to_owned),
            scope: String::new(),
        })
        .expect("claims serialise")
    }

    /// A valid token for `role`.
    pub fn token(&self, role: Role, subject: &str, tenant: Option<&str>) -> String {
        self.sign(&self.claims(role, subject, tenant))
    }

    pub fn ops_token(&self) -> String {
        self.token(Role::Ops, "ops-tester", None)
    }

    pub fn service_token(&self, service: &str) -> String {
        self.token(Role::Service, service, None)
    }
}
