//! Reading statements: every statement of one policy (finalised and provisional), and the
//! finalised statements of the caller's policies (an insurer's, a worker's) by month.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use gigcover_kit::auth::{Authorized, RecordScope, roles};
use gigcover_kit::http::Query;
use gigcover_kit::{ApiError, ApiResult};
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::ledger::Ledger;
use super::statement::Statement;
use crate::policies;

/// A policy's monthly statements, oldest first (per-hour policies only).
#[utoipa::path(get, path = "/v1/policies/{id}/statements", tag = "statements", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Statement>),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "not billed per hour", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn of_policy(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
    ledger: web::Data<Ledger>,
) -> ApiResult<HttpResponse> {
    let mut conn = pool.acquire().await?;
    let policy = policies::load(&mut conn, &RecordScope::of(&caller), *id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    drop(conn);
    Ok(HttpResponse::Ok().json(ledger.statements(&policy, Utc::now()).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this month (its first day, YYYY-MM-01).
    pub month: Option<NaiveDate>,
    /// At most this many (default and maximum 500), newest month first.
    pub limit: Option<u32>,
}

/// Finalised statements of the caller's policies: an insurer's, a worker's (ops: all).
#[utoipa::path(get, path = "/v1/statements", tag = "statements", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<Statement>),
              (status = 400, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    caller: Authorized<roles::Any>,
    query: Query<ListQuery>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let limit = i64::from(query.limit.unwrap_or(500).clamp(1, 500));
    let sql = format!(
        "SELECT document FROM statements s WHERE ($1::date IS NULL OR month = $1) AND {}
         ORDER BY month DESC, policy_id LIMIT $5",
        RecordScope::condition("s", 2)
    );
    let docs: Vec<(sqlx::types::Json<Statement>,)> = RecordScope::of(&caller)
        .bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(query.month))
        .bind(limit)
        .fetch_all(pool.get_ref())
        .await?;
    Ok(HttpResponse::Ok().json(docs.into_iter().map(|(d,)| d.0).collect::<Vec<_>>()))
}
