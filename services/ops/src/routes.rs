//! What ops people read and do about SLOs: every SLO's status (its indicator over its
//! window, the error budget left, the burn rates the alerts look at), the alerts, and
//! silences.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_domain::FieldProblem;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::alerts::Evaluator;
use crate::burn::{Counts, Severity};
use crate::slo::Slo;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SloStatus {
    #[serde(flatten)]
    pub slo: Slo,
    /// Good and total events over the SLO's window.
    pub counts: Counts,
    /// The share of good events (1 without events).
    pub indicator: f64,
    /// The share of the window's error budget not yet spent (negative: overspent).
    pub budget_remaining: f64,
    /// The page rules' burn rates: 1 h and 5 min, 6 h and 30 min (time-scaled).
    pub page: Value,
    pub ticket: Value,
}

pub async fn statuses(evaluator: &Evaluator) -> ApiResult<Vec<SloStatus>> {
    let now = Utc::now();
    let mut out = Vec::new();
    for slo in evaluator.instances(now).await?.iter() {
        let window =
            Duration::from_secs(u64::from(slo.window_days) * 86_400).mul_f64(evaluator.settings.time_scale.max(1e-6));
        let counts = evaluator.source.counts(slo, window, now).await?;
        let indicator = if counts.total == 0 { 1.0 } else { counts.good as f64 / counts.total as f64 };
        let allowed = counts.total as f64 * (1.0 - slo.target);
        let bad = (counts.total - counts.good.min(counts.total)) as f64;
        let budget_remaining = if allowed > 0.0 { 1.0 - bad / allowed } else { 1.0 };
        let page = evaluator.evaluate(slo, Severity::Page, now).await?;
        let ticket = evaluator.evaluate(slo, Severity::Ticket, now).await?;
        out.push(SloStatus {
            slo: slo.clone(),
            counts,
            indicator,
            budget_remaining,
            page: serde_json::to_value(page).map_err(anyhow::Error::from)?,
            ticket: serde_json::to_value(ticket).map_err(anyhow::Error::from)?,
        });
    }
    Ok(out)
}

/// Every SLO's status now.
#[utoipa::path(get, path = "/v1/slos", tag = "alerts", security(("bearer" = [])), responses((status = 200, body = Vec<SloStatus>)))]
pub async fn slos(_ops: Authorized<roles::Ops>, evaluator: web::Data<Evaluator>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(statuses(&evaluator).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Alert {
    pub id: Uuid,
    pub slo: String,
    pub severity: String,
    /// `pending`, `firing` or `resolved`.
    pub state: String,
    pub opened_at: DateTime<Utc>,
    pub fired_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The windows' counts and burn rates at the last evaluation.
    pub burn: Value,
    pub silenced: bool,
}

pub async fn recent_alerts(pool: &PgPool) -> ApiResult<Vec<Alert>> {
    Ok(sqlx::query_as(
        "SELECT id, slo, severity, state, opened_at, fired_at, resolved_at, burn, silenced FROM alerts
         ORDER BY (state = 'resolved'), opened_at DESC LIMIT 100",
    )
    .fetch_all(pool)
    .await?)
}

/// Open alerts first, then the most recent resolved ones (at most 100).
#[utoipa::path(get, path = "/v1/alerts", tag = "alerts", security(("bearer" = [])), responses((status = 200, body = Vec<Alert>)))]
pub async fn alerts(_ops: Authorized<roles::Ops>, pool: web::Data<PgPool>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(recent_alerts(&pool).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Only this SLO (default: every SLO).
    pub slo: Option<String>,
    /// Only this severity (default: both).
    pub severity: Option<Severity>,
    /// How long, in minutes (1 to 10080, a week).
    pub minutes: u32,
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Silence {
    pub id: Uuid,
    pub slo: Option<String>,
    pub severity: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
    pub created_by: String,
}

/// Silences notifications of matching alerts for a while (they are still tracked).
#[utoipa::path(post, path = "/v1/silences", tag = "alerts", security(("bearer" = [])), request_body = NewSilence,
    responses((status = 201, body = Silence), (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn silence(
    ops: Authorized<roles::Ops>,
    body: Json<NewSilence>,
    pool: web::Data<PgPool>,
    evaluator: web::Data<Evaluator>,
) -> ApiResult<HttpResponse> {
    let mut problems = Vec::new();
    if body.slo.as_ref().is_some_and(|s| !evaluator.slos.iter().any(|o| o.covers(s))) {
        problems.push(FieldProblem::new("slo", "names one of the SLOs (GET /v1/slos)"));
    }
    if !(1..=10_080).contains(&body.minutes) {
        problems.push(FieldProblem::new("minutes", "1 to 10080"));
    }
    if body.reason.trim().is_empty() || body.reason.len() > 500 {
        problems.push(FieldProblem::new("reason", "1 to 500 characters"));
    }
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_silence", "the silence has problems").with_errors(problems));
    }
    let silence: Silence = sqlx::query_as(
        "INSERT INTO silences (id, slo, severity, ends_at, reason, created_by)
         VALUES ($1, $2, $3, now() + make_interval(mins => $4), $5, $6)
         RETURNING id, slo, severity, starts_at, ends_at, reason, created_by",
    )
    .bind(Uuid::now_v7())
    .bind(&body.slo)
    .bind(body.severity.map(Severity::as_str))
    .bind(body.minutes as i32)
    .bind(body.reason.trim())
    .bind(&ops.subject)
    .fetch_one(pool.get_ref())
    .await?;
    Ok(HttpResponse::Created().json(silence))
}

/// The silences in force or to come.
#[utoipa::path(get, path = "/v1/silences", tag = "alerts", security(("bearer" = [])), responses((status = 200, body = Vec<Silence>)))]
pub async fn silences(_ops: Authorized<roles::Ops>, pool: web::Data<PgPool>) -> ApiResult<HttpResponse> {
    let rows: Vec<Silence> = sqlx::query_as(
        "SELECT id, slo, severity, starts_at, ends_at, reason, created_by FROM silences WHERE ends_at > now() ORDER BY ends_at",
    )
    .fetch_all(pool.get_ref())
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Ends a silence now.
#[utoipa::path(delete, path = "/v1/silences/{id}", tag = "alerts", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn unsilence(
    _ops: Authorized<roles::Ops>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let done = sqlx::query("UPDATE silences SET ends_at = greatest(now(), starts_at + interval '1 microsecond') WHERE id = $1 AND ends_at > now()")
        .bind(*id)
        .execute(pool.get_ref())
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found("silence"));
    }
    Ok(HttpResponse::NoContent().finish())
}
