//! An insurer's webhooks: register (the signing secret is shown once), list, delete,
//! replay from a feed position, and the recent delivery attempts. Each is scoped to the
//! caller's insurer; another insurer's webhook is "not found".

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_domain::FieldProblem;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::{aad, target};
use crate::state::ClaimsState;

fn insurer(caller: &gigcover_kit::auth::Principal) -> ApiResult<String> {
    caller.tenant.clone().ok_or_else(|| ApiError::forbidden("an insurer token names its insurer"))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where the claim events are POSTed (https in production).
    pub url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// The last feed position delivered.
    pub position: i64,
    pub failures: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret: shown once, here.
    pub secret: String,
}

const COLUMNS: &str = "id, url, position, failures, last_error, next_attempt_at, created_at";

/// Registers a webhook for the caller's claim events from now on.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    caller: Authorized<roles::Insurer>,
    body: Json<NewWebhook>,
    pool: web::Data<PgPool>,
    state: web::Data<ClaimsState>,
) -> ApiResult<HttpResponse> {
    let insurer = insurer(&caller)?;
    let invalid = |m: String| {
        ApiError::unprocessable("invalid_webhook", format!("url {m}")).with_errors(vec![FieldProblem::new("url", m)])
    };
    let url = target::check_url(body.url.trim(), state.production).map_err(invalid)?;
    target::check_resolved(&url, state.settings.webhooks_allow_internal(state.production)).await.map_err(invalid)?;
    let id = Uuid::now_v7();
    let secret = gigcover_kit::signature::new_secret()?;
    let sealed = state.sealer.seal(secret.as_bytes(), &aad(&insurer, id))?;
    let webhook: Webhook = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO insurer_webhooks (id, insurer_id, url, secret_sealed, position)
         VALUES ($1, $2, $3, $4, (SELECT COALESCE(max(position), 0) FROM outbox)) RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(&insurer)
    .bind(url.as_str())
    .bind(sealed)
    .fetch_one(pool.get_ref())
    .await?;
    Ok(HttpResponse::Created().json(CreatedWebhook { webhook, secret }))
}

/// The caller's webhooks.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Webhook>)))]
pub async fn list(caller: Authorized<roles::Insurer>, pool: web::Data<PgPool>) -> ApiResult<HttpResponse> {
    let hooks: Vec<Webhook> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM insurer_webhooks WHERE insurer_id = $1 AND deleted_at IS NULL ORDER BY created_at"
    )))
    .bind(insurer(&caller)?)
    .fetch_all(pool.get_ref())
    .await?;
    Ok(HttpResponse::Ok().json(hooks))
}

/// Stops a webhook.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn delete(
    caller: Authorized<roles::Insurer>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let done = sqlx::query(
        "UPDATE insurer_webhooks SET deleted_at = now() WHERE id = $1 AND insurer_id = $2 AND deleted_at IS NULL",
    )
    .bind(*id)
    .bind(insurer(&caller)?)
    .execute(pool.get_ref())
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found("webhook"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Deliver again every event of the caller's after this feed position (0: all).
    pub after: i64,
}

/// Delivers the caller's events again from a position, and clears the backoff.
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Replay,
    responses((status = 200, body = Webhook), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn replay(
    caller: Authorized<roles::Insurer>,
    id: web::Path<Uuid>,
    body: Json<Replay>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    if body.after < 0 {
        return Err(ApiError::unprocessable("invalid_replay", "after is a feed position, 0 or more")
            .with_errors(vec![FieldProblem::new("after", "0 or more")]));
    }
    let hook: Option<Webhook> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE insurer_webhooks SET position = $3, failures = 0, last_error = NULL, next_attempt_at = now()
         WHERE id = $1 AND insurer_id = $2 AND deleted_at IS NULL RETURNING {COLUMNS}"
    )))
    .bind(*id)
    .bind(insurer(&caller)?)
    .bind(body.after)
    .fetch_optional(pool.get_ref())
    .await?;
    Ok(HttpResponse::Ok().json(hook.ok_or_else(|| ApiError::not_found("webhook"))?))
}

#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Attempt {
    pub position: i64,
    pub event_id: Uuid,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i32>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// The last 100 delivery attempts of one of the caller's webhooks, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/attempts", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Attempt>), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn attempts(
    caller: Authorized<roles::Insurer>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let owned: Option<Uuid> = sqlx::query_scalar("SELECT id FROM insurer_webhooks WHERE id = $1 AND insurer_id = $2")
        .bind(*id)
        .bind(insurer(&caller)?)
        .fetch_optional(pool.get_ref())
        .await?;
    owned.ok_or_else(|| ApiError::not_found("webhook"))?;
    let rows: Vec<Attempt> = sqlx::query_as(
        "SELECT position, event_id, status, error, at FROM webhook_attempts WHERE webhook_id = $1 ORDER BY id DESC LIMIT 100",
    )
    .bind(*id)
    .fetch_all(pool.get_ref())
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}
