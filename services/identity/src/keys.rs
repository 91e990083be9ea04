//! Token signing keys: Ed25519, created on first start, published as a JWKS.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::web;
use anyhow::Context as _;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use gigcover_kit::ApiResult;
use serde::Serialize;
use sqlx::PgPool;

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// Makes sure a current signing key exists, creating one when none does. Concurrent
/// starts (several replicas) agree: the first insert wins, the others find it.
pub async fn ensure_signing_key(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))").execute(&mut *tx).await?;
    let current: Option<String> = sqlx::query_scalar("SELECT kid FROM signing_keys WHERE retired_at IS NULL LIMIT 1")
        .fetch_optional(&mut *tx)
        .await?;
    if current.is_none() {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness for a signing key: {e}"))?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut pkcs8 = PKCS8_PREFIX.to_vec();
        pkcs8.extend_from_slice(&seed);
        let kid = format!("ed25519-{}", uuid::Uuid::now_v7().simple());
        sqlx::query("INSERT INTO signing_keys (kid, alg, private_key, public_key) VALUES ($1, 'EdDSA', $2, $3)")
            .bind(&kid)
            .bind(&pkcs8)
            .bind(public.as_slice())
            .execute(&mut *tx)
            .await
            .context("store the new signing key")?;
        tracing::info!(kid, "created a token signing key");
    }
    tx.commit().await?;
    Ok(())
}

/// One public key in JWK form (RFC 8037 for Ed25519).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Jwk {
    kty: &'static str,
    crv: &'static str,
    x: String,
    kid: String,
    alg: &'static str,
    #[serde(rename = "use")]
    usage: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

/// The public keys tokens are signed with: the current one and the one before it.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys", responses((status = 200, body = Jwks)))]
pub async fn jwks(pool: web::Data<PgPool>) -> ApiResult<HttpResponse> {
    let rows: Vec<(String, Vec<u8>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT kid, public_key, created_at FROM signing_keys
         WHERE retired_at IS NULL OR retired_at > now() - interval '1 day'
         ORDER BY created_at DESC LIMIT 2",
    )
    .fetch_all(pool.get_ref())
    .await?;
    let keys = rows
        .into_iter()
        .map(|(kid, public, _)| Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public),
            kid,
            alg: "EdDSA",
            usage: "sig",
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")))
        .json(Jwks { keys }))
}
