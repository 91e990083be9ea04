//! `GET /v1/platforms/{id}/ingestion`: how a platform's data is arriving.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

use crate::access;
use crate::state::IngestState;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestionStatus {
    pub platform: String,
    /// When we last stored something from this platform.
    pub last_received_at: Option<DateTime<Utc>>,
    /// The latest activity end we hold: how fresh the platform's data is.
    pub last_event_end_at: Option<DateTime<Utc>>,
    /// Records taken in (all outcomes but duplicates) and refused, since the platform began.
    pub accepted_total: i64,
    pub rejected_total: i64,
    /// The records taken in and their duplicates, by outcome.
    pub outcomes: OutcomeTotals,
    /// Tasks or shifts started and not ended yet.
    pub open: i64,
    /// Of those, started longer ago than the stale threshold: probably an end was lost.
    pub stale_open: i64,
    /// Activities of accounts not linked to a worker yet (held).
    pub held: i64,
    /// Webhooks stored (answered 202) and not applied yet.
    pub pending_webhooks: i64,
    /// When the oldest of them was received: how far applying is behind.
    pub oldest_pending_received_at: Option<DateTime<Utc>>,
    /// Webhooks stored that could not be applied, kept in the inbox with their failure.
    pub failed_webhooks: i64,
}

/// What the records a platform sent came to.
#[derive(Debug, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct OutcomeTotals {
    /// New activities.
    pub inserted: i64,
    /// New versions of activities (corrections).
    pub updated: i64,
    /// The same content again.
    pub unchanged: i64,
    pub retracted: i64,
    /// Pieces (a task's start or end) waiting for their other end.
    pub pending: i64,
    /// Webhook events seen before (replays), skipped.
    pub duplicates: i64,
}

/// The platform's row of `ingestion_status` (zeros before its first record).
#[derive(sqlx::FromRow)]
struct Totals {
    last_received_at: Option<DateTime<Utc>>,
    last_event_end_at: Option<DateTime<Utc>>,
    accepted_total: i64,
    rejected_total: i64,
    #[sqlx(flatten)]
    outcomes: OutcomeTotals,
}

/// A platform's ingestion status.
#[utoipa::path(get, path = "/v1/platforms/{id}/ingestion", tag = "activities", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = IngestionStatus), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::PlatformOrOps>,
    path: web::Path<String>,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let platform = access::platform(&caller, &path)?;
    state.directory.get(platform.as_str()).await?.ok_or_else(|| ApiError::not_found(format!("platform {platform}")))?;
    let stale_after = chrono::Duration::hours(state.settings.stale_open_after_hours);
    let totals: Totals = sqlx::query_as(
        "SELECT s.last_received_at, s.last_event_end_at,
                coalesce(s.accepted_total, 0) AS accepted_total, coalesce(s.rejected_total, 0) AS rejected_total,
                coalesce(s.inserted_total, 0) AS inserted, coalesce(s.updated_total, 0) AS updated,
                coalesce(s.unchanged_total, 0) AS unchanged, coalesce(s.retracted_total, 0) AS retracted,
                coalesce(s.pending_total, 0) AS pending, coalesce(s.duplicates_total, 0) AS duplicates
         FROM (SELECT $1::text AS id) p LEFT JOIN ingestion_status s ON s.platform_id = p.id",
    )
    .bind(platform.as_str())
    .fetch_one(&state.pool)
    .await?;
    let (open, stale_open): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE started_at < now() - $2::interval)
         FROM open_intervals WHERE platform_id = $1 AND ended_at IS NULL",
    )
    .bind(platform.as_str())
    .bind(format!("{} seconds", stale_after.num_seconds()))
    .fetch_one(&state.pool)
    .await?;
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM activities WHERE platform_id = $1 AND worker_id IS NULL AND NOT retracted",
    )
    .bind(platform.as_str())
    .fetch_one(&state.pool)
    .await?;
    let (pending_webhooks, oldest_pending_received_at, failed_webhooks): (i64, Option<DateTime<Utc>>, i64) =
        sqlx::query_as(
            "SELECT count(*) FILTER (WHERE failed_at IS NULL), min(received_at) FILTER (WHERE failed_at IS NULL),
                    count(*) FILTER (WHERE failed_at IS NOT NULL)
             FROM webhook_inbox WHERE platform_id = $1",
        )
        .bind(platform.as_str())
        .fetch_one(&state.pool)
        .await?;
    Ok(HttpResponse::Ok().json(IngestionStatus {
        platform: platform.to_string(),
        last_received_at: totals.last_received_at,
        last_event_end_at: totals.last_event_end_at,
        accepted_total: totals.accepted_total,
        rejected_total: totals.rejected_total,
        outcomes: totals.outcomes,
        open,
        stale_open,
        held,
        pending_webhooks,
        oldest_pending_received_at,
        failed_webhooks,
    }))
}
