//! Consent: a worker grants an insurer a scope (optionally until a date), changes or
//! revokes it; every change is audited, and every insurer read passes `check`, which also
//! records the read.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_domain::InsurerId;
use gigcover_kit::auth::{Authorized, ConsentAnswer, ConsentCheck, ConsentScope, Principal, Role, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub scope: ConsentScope,
    /// The grant ends then (optional).
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Consent {
    pub insurer_id: String,
    pub scope: ConsentScope,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub insurer_id: String,
    pub action: String,
    pub scope: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessEntry {
    pub insurer_id: String,
    pub scope: String,
    pub service: String,
    pub resource: String,
    pub at: DateTime<Utc>,
}

fn scope_of(text: &str) -> ApiResult<ConsentScope> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| ApiError::from(anyhow::anyhow!("stored scope {text} is unknown")))
}

/// The worker a consent route acts on: only the worker themself changes consent; ops may
/// also read.
pub(crate) fn worker(caller: &Principal, path_id: &str, write: bool) -> ApiResult<Uuid> {
    let id: Uuid = path_id.parse().map_err(|_| ApiError::not_found("worker"))?;
    match caller.role {
        Role::Worker if caller.worker_id().map(|w| w.as_uuid()) == Some(id) => Ok(id),
        Role::Ops if !write => Ok(id),
        Role::Ops => Err(ApiError::forbidden("only the worker themself may change this")),
        _ => Err(ApiError::not_found("worker")),
    }
}

/// Grants an insurer access (or changes the grant).
#[utoipa::path(put, path = "/v1/workers/{id}/consents/{insurer}", tag = "consent", security(("bearer" = [])),
    params(("id" = String, Path), ("insurer" = String, Path)), request_body = Grant,
    responses((status = 200, body = Consent),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn grant(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<(String, String)>,
    body: Json<Grant>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = worker(&caller, &path.0, true)?;
    let insurer = InsurerId::parse(&path.1)
        .map_err(|_| ApiError::unprocessable("invalid_insurer", "the insurer id is not one we issue"))?;
    if body.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(ApiError::unprocessable("invalid_consent", "expires_at must be in the future")
            .with_errors(vec![gigcover_domain::FieldProblem::new("expires_at", "must be in the future")]));
    }
    let mut tx = pool.begin().await?;
    let existed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM consents WHERE worker_id = $1 AND insurer_id = $2 AND revoked_at IS NULL)",
    )
    .bind(worker)
    .bind(insurer.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let granted_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO consents (worker_id, insurer_id, scope, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (worker_id, insurer_id) DO UPDATE SET scope = EXCLUDED.scope, expires_at = EXCLUDED.expires_at,
             granted_at = now(), revoked_at = NULL
         RETURNING granted_at",
    )
    .bind(worker)
    .bind(insurer.as_str())
    .bind(body.scope.as_str())
    .bind(body.expires_at)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO consent_audit (worker_id, insurer_id, action, scope, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(worker)
    .bind(insurer.as_str())
    .bind(if existed { "changed" } else { "granted" })
    .bind(body.scope.as_str())
    .bind(body.expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(Consent {
        insurer_id: insurer.as_str().to_owned(),
        scope: body.scope,
        granted_at,
        expires_at: body.expires_at,
    }))
}

/// Revokes a grant: every request that starts after this answer is refused.
#[utoipa::path(delete, path = "/v1/workers/{id}/consents/{insurer}", tag = "consent", security(("bearer" = [])),
    params(("id" = String, Path), ("insurer" = String, Path)),
    responses((status = 204), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<(String, String)>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = worker(&caller, &path.0, true)?;
    let mut tx = pool.begin().await?;
    let revoked = sqlx::query(
        "UPDATE consents SET revoked_at = now() WHERE worker_id = $1 AND insurer_id = $2 AND revoked_at IS NULL",
    )
    .bind(worker)
    .bind(&path.1)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if revoked == 0 {
        return Err(ApiError::not_found(format!("a current consent for insurer {}", path.1)));
    }
    sqlx::query("INSERT INTO consent_audit (worker_id, insurer_id, action) VALUES ($1, $2, 'revoked')")
        .bind(worker)
        .bind(&path.1)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The worker's current grants.
#[utoipa::path(get, path = "/v1/workers/{id}/consents", tag = "consent", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<Consent>)))]
pub async fn list(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = worker(&caller, &path, false)?;
    Ok(HttpResponse::Ok().json(current(&pool, worker).await?))
}

/// The worker's current grants.
pub(crate) async fn current(pool: &PgPool, worker: Uuid) -> ApiResult<Vec<Consent>> {
    type Row = (String, String, DateTime<Utc>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT insurer_id, scope, granted_at, expires_at FROM consents
         WHERE worker_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) ORDER BY insurer_id",
    )
    .bind(worker)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(insurer_id, scope, granted_at, expires_at)| {
            Ok(Consent { insurer_id, scope: scope_of(&scope)?, granted_at, expires_at })
        })
        .collect()
}

/// Every grant, change and revocation, oldest first.
#[utoipa::path(get, path = "/v1/workers/{id}/consents/audit", tag = "consent", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<AuditEntry>)))]
pub async fn audit(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = worker(&caller, &path, false)?;
    Ok(HttpResponse::Ok().json(audit_of(&pool, worker).await?))
}

/// Every grant, change and revocation of the worker, oldest first.
pub(crate) async fn audit_of(pool: &PgPool, worker: Uuid) -> ApiResult<Vec<AuditEntry>> {
    type Row = (String, String, Option<String>, Option<DateTime<Utc>>, DateTime<Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT insurer_id, action, scope, expires_at, at FROM consent_audit WHERE worker_id = $1 ORDER BY id",
    )
    .bind(worker)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(insurer_id, action, scope, expires_at, at)| AuditEntry { insurer_id, action, scope, expires_at, at })
        .collect())
}

/// Every read of the worker's data by an insurer, newest first (up to 1000).
#[utoipa::path(get, path = "/v1/workers/{id}/access-log", tag = "consent", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<AccessEntry>)))]
pub async fn access_log(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = worker(&caller, &path, false)?;
    Ok(HttpResponse::Ok().json(reads_of(&pool, worker).await?))
}

/// The insurer reads of the worker's data, newest first (up to 1000).
pub(crate) async fn reads_of(pool: &PgPool, worker: Uuid) -> ApiResult<Vec<AccessEntry>> {
    let rows: Vec<(String, String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT insurer_id, scope, service, resource, at FROM access_log WHERE worker_id = $1 ORDER BY id DESC LIMIT 1000",
    )
    .bind(worker)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(insurer_id, scope, service, resource, at)| AccessEntry { insurer_id, scope, service, resource, at })
        .collect())
}

/// For our services: may this insurer read this worker's data of this scope now? An
/// allowed read is recorded in the same transaction.
#[utoipa::path(post, path = "/v1/consents/check", tag = "consent", security(("bearer" = [])),
    request_body = ConsentCheck, responses((status = 200, body = ConsentAnswer)))]
pub async fn check(
    _caller: Authorized<roles::Internal>,
    body: Json<ConsentCheck>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let mut tx = pool.begin().await?;
    let current: Option<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT scope, expires_at FROM consents WHERE worker_id = $1 AND insurer_id = $2 AND revoked_at IS NULL",
    )
    .bind(body.worker_id)
    .bind(&body.insurer_id)
    .fetch_optional(&mut *tx)
    .await?;
    let answer = match current {
        None => ConsentAnswer {
            allowed: false,
            granted: None,
            reason: Some("the worker has not given this insurer consent".into()),
        },
        Some((_, Some(expired))) if expired <= Utc::now() => ConsentAnswer {
            allowed: false,
            granted: None,
            reason: Some("the worker's consent for this insurer has expired".into()),
        },
        Some((scope, _)) => {
            let granted = scope_of(&scope)?;
            if granted.covers(body.scope) {
                sqlx::query("INSERT INTO access_log (worker_id, insurer_id, scope, service, resource) VALUES ($1, $2, $3, $4, $5)")
                    .bind(body.worker_id)
                    .bind(&body.insurer_id)
                    .bind(body.scope.as_str())
                    .bind(&body.service)
                    .bind(&body.resource)
                    .execute(&mut *tx)
                    .await?;
                ConsentAnswer { allowed: true, granted: Some(granted), reason: None }
            } else {
                ConsentAnswer {
                    allowed: false,
                    granted: Some(granted),
                    reason: Some(format!(
                        "the worker granted {}, this needs {}",
                        granted.as_str(),
                        body.scope.as_str()
                    )),
                }
            }
        }
    };
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(answer))
}
