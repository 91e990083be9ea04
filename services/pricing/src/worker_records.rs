//! `GET /v1/workers/{id}/insurance`: every quote, policy and final statement of one worker,
//! across insurers: for the worker themself, ops, and identity's export (GDPR 15/20). An
//! insurer reads its own records through their own routes, never this one.

use actix_web::{HttpResponse, web};
use gigcover_kit::ApiResult;
use gigcover_kit::auth::{Authorized, RecordScope, roles};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::billing::statement::Statement;
use crate::policies::Policy;
use crate::quotes::Quote;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerInsurance {
    pub worker_id: Uuid,
    pub quotes: Vec<Quote>,
    pub policies: Vec<Policy>,
    /// Finalised monthly statements.
    pub statements: Vec<Statement>,
}

/// A worker's quotes, policies and statements with every insurer.
#[utoipa::path(get, path = "/v1/workers/{id}/insurance", tag = "policies", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WorkerInsurance), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::Any>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = caller.own_or_internal(&path)?;
    let scope = RecordScope::of(&caller);
    let quote_ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM quotes WHERE worker_id = $1 ORDER BY created_at")
        .bind(worker)
        .fetch_all(pool.get_ref())
        .await?;
    let mut quotes = Vec::with_capacity(quote_ids.len());
    for id in quote_ids {
        quotes.extend(crate::quotes::load(&pool, &scope, id).await?);
    }
    let policy_ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM policies WHERE worker_id = $1 ORDER BY created_at")
        .bind(worker)
        .fetch_all(pool.get_ref())
        .await?;
    let mut policies = Vec::with_capacity(policy_ids.len());
    let mut conn = pool.acquire().await?;
    for id in policy_ids {
        policies.extend(crate::policies::load(&mut conn, &scope, id, false).await?);
    }
    let statements: Vec<sqlx::types::Json<Statement>> =
        sqlx::query_scalar("SELECT document FROM statements WHERE worker_id = $1 ORDER BY month, policy_id")
            .bind(worker)
            .fetch_all(&mut *conn)
            .await?;
    Ok(HttpResponse::Ok().json(WorkerInsurance {
        worker_id: worker,
        quotes,
        policies,
        statements: statements.into_iter().map(|s| s.0).collect(),
    }))
}
