//! Webhook signing secrets: generated here, shown once, sealed at rest, several active at
//! once so a platform can rotate without a gap.

use chrono::{DateTime, Utc};
use gigcover_domain::PlatformId;
use gigcover_kit::crypto::Sealer;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// A secret as listed: never its value.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecretInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A new secret, returned once at creation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    pub id: Uuid,
    /// Sign webhooks with this; it is not shown again.
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

fn aad(platform: &PlatformId, id: Uuid) -> Vec<u8> {
    format!("platform-secret:{platform}:{id}").into_bytes()
}

pub async fn create(conn: &mut PgConnection, sealer: &Sealer, platform: &PlatformId) -> anyhow::Result<NewSecret> {
    let secret = gigcover_kit::signature::new_secret()?;
    let id = Uuid::now_v7();
    let sealed = sealer.seal(secret.as_bytes(), &aad(platform, id))?;
    let created_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO platform_secrets (id, platform_id, sealed) VALUES ($1, $2, $3) RETURNING created_at",
    )
    .bind(id)
    .bind(platform.as_str())
    .bind(sealed)
    .fetch_one(conn)
    .await?;
    Ok(NewSecret { id, secret, created_at })
}

pub async fn list(conn: &mut PgConnection, platform: &PlatformId) -> anyhow::Result<Vec<SecretInfo>> {
    let rows: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, created_at FROM platform_secrets WHERE platform_id = $1 AND revoked_at IS NULL ORDER BY created_at",
    )
    .bind(platform.as_str())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id, created_at)| SecretInfo { id, created_at }).collect())
}

/// Revokes one secret; false when there was no such active secret.
pub async fn revoke(conn: &mut PgConnection, platform: &PlatformId, id: Uuid) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE platform_secrets SET revoked_at = now() WHERE platform_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(platform.as_str())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The active secrets' values, opened (for verifying signatures).
pub async fn active_values(
    conn: &mut PgConnection,
    sealer: &Sealer,
    platform: &PlatformId,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let rows: Vec<(Uuid, Vec<u8>)> =
        sqlx::query_as("SELECT id, sealed FROM platform_secrets WHERE platform_id = $1 AND revoked_at IS NULL")
            .bind(platform.as_str())
            .fetch_all(conn)
            .await?;
    rows.into_iter().map(|(id, sealed)| sealer.open(&sealed, &aad(platform, id))).collect()
}
