//! Platform accounts, link codes and links in the aggregation schema.

use chrono::{DateTime, Utc};
use gigcover_domain::{ExternalRef, Interval, PlatformId, WorkerId};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// A worker's platform account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub platform: PlatformId,
    pub worker_ref: ExternalRef,
    /// The gigcover worker it is linked to, if any.
    pub worker_id: Option<WorkerId>,
}

/// Registers a platform's reference for a worker; true when it is new.
pub async fn register(
    conn: &mut PgConnection,
    platform: &PlatformId,
    worker_ref: &ExternalRef,
) -> anyhow::Result<(bool, Option<Uuid>)> {
    let inserted: Option<bool> = sqlx::query_scalar(
        "INSERT INTO platform_accounts (platform_id, worker_ref) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
    )
    .bind(platform.as_str())
    .bind(worker_ref.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let worker: Option<Uuid> =
        sqlx::query_scalar("SELECT worker_id FROM platform_accounts WHERE platform_id = $1 AND worker_ref = $2")
            .bind(platform.as_str())
            .bind(worker_ref.as_str())
            .fetch_one(&mut *conn)
            .await?;
    Ok((inserted.is_some(), worker))
}

/// Stores a code's hash for an account; false when the account is not registered.
pub async fn store_code(
    conn: &mut PgConnection,
    platform: &PlatformId,
    worker_ref: &ExternalRef,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO link_codes (code_hash, platform_id, worker_ref, expires_at)
         SELECT $1, platform_id, worker_ref, $4 FROM platform_accounts WHERE platform_id = $2 AND worker_ref = $3",
    )
    .bind(hash)
    .bind(platform.as_str())
    .bind(worker_ref.as_str())
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub enum Redeemed {
    /// Linked now; the held activities it attributed (their intervals).
    Linked { platform: PlatformId, worker_ref: ExternalRef, attributed: Vec<Interval> },
    /// It was already linked to this worker.
    Already { platform: PlatformId, worker_ref: ExternalRef },
    /// The code is wrong, expired or used.
    Invalid,
    /// The account is linked to another worker.
    Taken,
}

pub async fn redeem(conn: &mut PgConnection, worker: WorkerId, hash: &[u8]) -> anyhow::Result<Redeemed> {
    type Code = (String, String, DateTime<Utc>, Option<DateTime<Utc>>);
    let code: Option<Code> = sqlx::query_as(
        "SELECT platform_id, worker_ref, expires_at, redeemed_at FROM link_codes WHERE code_hash = $1 FOR UPDATE",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((platform, worker_ref, expires_at, redeemed_at)) = code else {
        return Ok(Redeemed::Invalid);
    };
    if redeemed_at.is_some() || expires_at <= Utc::now() {
        return Ok(Redeemed::Invalid);
    }
    let platform_id = PlatformId::parse(&platform)?;
    let reference = ExternalRef::parse(&worker_ref)?;
    let current: Option<Uuid> = sqlx::query_scalar(
        "SELECT worker_id FROM platform_accounts WHERE platform_id = $1 AND worker_ref = $2 FOR UPDATE",
    )
    .bind(&platform)
    .bind(&worker_ref)
    .fetch_one(&mut *conn)
    .await?;
    match current {
        Some(w) if w != worker.as_uuid() => return Ok(Redeemed::Taken),
        _ => {}
    }
    sqlx::query("UPDATE link_codes SET redeemed_at = now(), redeemed_by = $2 WHERE code_hash = $1")
        .bind(hash)
        .bind(worker.as_uuid())
        .execute(&mut *conn)
        .await?;
    if current.is_some() {
        return Ok(Redeemed::Already { platform: platform_id, worker_ref: reference });
    }
    sqlx::query("UPDATE platform_accounts SET worker_id = $3 WHERE platform_id = $1 AND worker_ref = $2")
        .bind(&platform)
        .bind(&worker_ref)
        .bind(worker.as_uuid())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO account_links (platform_id, worker_ref, worker_id) VALUES ($1, $2, $3)")
        .bind(&platform)
        .bind(&worker_ref)
        .bind(worker.as_uuid())
        .execute(&mut *conn)
        .await?;
    let held: Vec<(DateTime<Utc>, DateTime<Utc>, bool)> = sqlx::query_as(
        "UPDATE activities SET worker_id = $3 WHERE platform_id = $1 AND worker_ref = $2 AND worker_id IS NULL
         RETURNING starts_at, ends_at, retracted",
    )
    .bind(&platform)
    .bind(&worker_ref)
    .bind(worker.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    let attributed = held.into_iter().filter(|(_, _, r)| !r).filter_map(|(s, e, _)| Interval::new(s, e).ok()).collect();
    Ok(Redeemed::Linked { platform: platform_id, worker_ref: reference, attributed })
}

/// Unlinks an account from `worker`; false when it was not linked to them.
pub async fn unlink(
    conn: &mut PgConnection,
    worker: WorkerId,
    platform: &PlatformId,
    worker_ref: &str,
) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "UPDATE platform_accounts SET worker_id = NULL WHERE platform_id = $1 AND worker_ref = $2 AND worker_id = $3",
    )
    .bind(platform.as_str())
    .bind(worker_ref)
    .bind(worker.as_uuid())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE account_links SET unlinked_at = now()
         WHERE platform_id = $1 AND worker_ref = $2 AND worker_id = $3 AND unlinked_at IS NULL",
    )
    .bind(platform.as_str())
    .bind(worker_ref)
    .bind(worker.as_uuid())
    .execute(conn)
    .await?;
    Ok(true)
}

pub async fn list(conn: &mut PgConnection, worker: WorkerId) -> anyhow::Result<Vec<Account>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT platform_id, worker_ref FROM platform_accounts WHERE worker_id = $1 ORDER BY platform_id, worker_ref",
    )
    .bind(worker.as_uuid())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(p, r)| {
            Ok(Account {
                platform: PlatformId::parse(&p)?,
                worker_ref: ExternalRef::parse(&r)?,
                worker_id: Some(worker),
            })
        })
        .collect()
}
