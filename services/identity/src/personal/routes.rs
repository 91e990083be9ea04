//! A worker's personal data, their export (GDPR articles 15 and 20) and erasure.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::client::ServiceClient;
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::keys::KeyWrapper;
use super::store::{self, PersonalData};
use crate::consents::{self, AccessEntry, AuditEntry, Consent};

pub struct PersonalState {
    pub wrapper: Arc<dyn KeyWrapper>,
    /// To include the worker's activity and hours in their export.
    pub aggregation: ServiceClient,
    pub enrichment: ServiceClient,
    /// And their quotes, policies, statements and claims.
    pub pricing: ServiceClient,
    pub claims: ServiceClient,
}

/// Sets the worker's personal data (the whole record).
#[utoipa::path(put, path = "/v1/workers/{id}/personal-data", tag = "personal data", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PersonalData,
    responses((status = 204),
        (status = 409, description = "the worker's personal data was erased; it is not taken again", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn put(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    body: Json<PersonalData>,
    pool: web::Data<PgPool>,
    state: web::Data<PersonalState>,
) -> ApiResult<HttpResponse> {
    let worker = consents::worker(&caller, &path, true)?;
    let problems = body.problems();
    if !problems.is_empty() {
        return Err(
            ApiError::unprocessable("invalid_personal_data", "the personal data has problems").with_errors(problems)
        );
    }
    store::put(&pool, state.wrapper.as_ref(), worker, &body).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/v1/workers/{id}/personal-data", tag = "personal data", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = PersonalData), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
    state: web::Data<PersonalState>,
) -> ApiResult<HttpResponse> {
    let worker = consents::worker(&caller, &path, false)?;
    let data =
        store::get(&pool, state.wrapper.as_ref(), worker).await?.ok_or_else(|| ApiError::not_found("personal data"))?;
    Ok(HttpResponse::Ok().json(data))
}

/// Everything we hold on a worker.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Export {
    pub worker_id: uuid::Uuid,
    pub exported_at: DateTime<Utc>,
    pub personal_data: Option<PersonalData>,
    pub erased: bool,
    #[schema(value_type = Vec<Object>)]
    pub consents: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub consent_audit: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub insurer_reads: Vec<serde_json::Value>,
    /// Every activity of every linked platform, from aggregation.
    #[schema(value_type = Vec<Object>)]
    pub activities: Vec<serde_json::Value>,
    /// The worker's hours per day over the last 400 days, from enrichment.
    #[schema(value_type = Object)]
    pub hours: serde_json::Value,
    /// Quotes, policies and final statements with every insurer, from pricing.
    #[schema(value_type = Object)]
    pub insurance: serde_json::Value,
    /// Claims with their status history, from claims.
    #[schema(value_type = Vec<Object>)]
    pub claims: serde_json::Value,
}

#[derive(Deserialize)]
struct ActivityPage {
    activities: Vec<serde_json::Value>,
    next_cursor: Option<String>,
}

fn values<T: Serialize>(items: Vec<T>) -> Vec<serde_json::Value> {
    items.into_iter().filter_map(|i| serde_json::to_value(i).ok()).collect()
}

/// The worker's data, machine-readable (GDPR articles 15 and 20).
#[utoipa::path(get, path = "/v1/workers/{id}/export", tag = "personal data", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Export)))]
pub async fn export(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
    state: web::Data<PersonalState>,
) -> ApiResult<HttpResponse> {
    let worker = consents::worker(&caller, &path, false)?;
    let erased: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM erasures WHERE worker_id = $1)")
        .bind(worker)
        .fetch_one(pool.get_ref())
        .await?;
    let mut activities = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path =
            format!("/v1/workers/{worker}/activities?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=1000");
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.push_str(c);
        }
        let page: ActivityPage = state.aggregation.get_json(&path).await.map_err(|e| {
            ApiError::unavailable("export_incomplete", format!("the activity part of the export is unavailable: {e}"))
        })?;
        activities.extend(page.activities);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let today = Utc::now().date_naive();
    let hours: serde_json::Value = state
        .enrichment
        .get_json(&format!("/v1/workers/{worker}/hours?from={}&to={today}", today - chrono::Duration::days(399)))
        .await
        .map_err(|e| {
            ApiError::unavailable("export_incomplete", format!("the hours part of the export is unavailable: {e}"))
        })?;
    let part = |what: &'static str| {
        move |e: gigcover_kit::client::ClientError| {
            ApiError::unavailable("export_incomplete", format!("the {what} part of the export is unavailable: {e}"))
        }
    };
    let insurance: serde_json::Value =
        state.pricing.get_json(&format!("/v1/workers/{worker}/insurance")).await.map_err(part("insurance"))?;
    let claims: serde_json::Value =
        state.claims.get_json(&format!("/v1/workers/{worker}/claims")).await.map_err(part("claims"))?;
    let export = Export {
        worker_id: worker,
        exported_at: Utc::now(),
        personal_data: store::get(&pool, state.wrapper.as_ref(), worker).await?,
        erased,
        consents: values::<Consent>(consents::current(&pool, worker).await?),
        consent_audit: values::<AuditEntry>(consents::audit_of(&pool, worker).await?),
        insurer_reads: values::<AccessEntry>(consents::reads_of(&pool, worker).await?),
        activities,
        hours,
        insurance,
        claims,
    };
    Ok(HttpResponse::Ok()
        .insert_header(("content-disposition", "attachment; filename=\"gigcover-export.json\""))
        .json(export))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Age {
    pub worker_id: uuid::Uuid,
    /// Whole years today, from the date of birth (absent when none was given or it was erased).
    pub age_years: Option<u32>,
}

/// The worker's age in years, for tariffs that rate on age: our services and ops only (the
/// date of birth itself never leaves identity).
#[utoipa::path(get, path = "/v1/workers/{id}/age", tag = "personal data", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Age), (status = 403, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn age(
    _caller: Authorized<roles::Internal>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
    state: web::Data<PersonalState>,
) -> ApiResult<HttpResponse> {
    let worker: uuid::Uuid = path.parse().map_err(|_| ApiError::not_found("worker"))?;
    let data = store::get(&pool, state.wrapper.as_ref(), worker).await?;
    let today = Utc::now().date_naive();
    let age_years = data.and_then(|d| d.date_of_birth).and_then(|dob| today.years_since(*dob.expose()));
    Ok(HttpResponse::Ok().json(Age { worker_id: worker, age_years }))
}

/// Erases the worker's personal data: their data key is destroyed (every copy of the
/// ciphertext becomes unreadable) and the rows deleted. Pseudonymous records stay.
#[utoipa::path(post, path = "/v1/workers/{id}/erasure", tag = "personal data", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204)))]
pub async fn erase(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = consents::worker(&caller, &path, false)?;
    store::erase(&pool, worker).await?;
    tracing::info!("erased a worker's personal data");
    Ok(HttpResponse::NoContent().finish())
}
