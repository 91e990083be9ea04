//! `/v1/platforms`: the registry (ops), secrets and CSV mapping (ops or the platform itself).

use actix_web::{HttpResponse, web};
use gigcover_feed::NewEvent;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::Serialize;
use uuid::Uuid;

use super::model::{NewPlatform, Platform};
use super::secrets::{self, NewSecret, SecretInfo};
use super::store;
use crate::access;
use crate::adapters::csv::CsvMapping;
use crate::state::IngestState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/platforms", web::post().to(register))
        .route("/v1/platforms", web::get().to(list))
        .route("/v1/platforms/{id}", web::get().to(get))
        .route("/v1/platforms/{id}/secrets", web::post().to(add_secret))
        .route("/v1/platforms/{id}/secrets", web::get().to(list_secrets))
        .route("/v1/platforms/{id}/secrets/{secret_id}", web::delete().to(revoke_secret))
        .route("/v1/platforms/{id}/csv-mapping", web::put().to(set_mapping));
}

/// A registered platform and its first webhook secret (shown only now).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub platform: Platform,
    pub webhook_secret: NewSecret,
}

/// Registers a platform.
#[utoipa::path(
    post, path = "/v1/platforms", tag = "platforms", request_body = NewPlatform,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Registered),
        (status = 400, description = "malformed JSON", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "the id is taken", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    _ops: Authorized<roles::Ops>,
    state: web::Data<IngestState>,
    body: Json<NewPlatform>,
) -> ApiResult<HttpResponse> {
    let problems = body.problems();
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_body", "the platform has invalid fields").with_errors(problems));
    }
    let mut tx = state.pool.begin().await?;
    let Some(platform) = store::insert(&mut tx, &body).await? else {
        return Err(ApiError::conflict("platform_exists", format!("platform {} is already registered", body.id)));
    };
    let webhook_secret = secrets::create(&mut tx, state.directory.sealer(), &platform.id).await?;
    gigcover_feed::publish(tx, &[NewEvent::new("platform.registered", &platform).map_err(anyhow::Error::from)?])
        .await?;
    state.directory.forget(platform.id.as_str());
    Ok(HttpResponse::Created().json(Registered { platform, webhook_secret }))
}

/// One platform (ops, or the platform itself).
#[utoipa::path(
    get, path = "/v1/platforms/{id}", tag = "platforms",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "platform id")),
    responses((status = 200, body = Platform), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"))
)]
pub async fn get(
    caller: Authorized<roles::PlatformOrOps>,
    state: web::Data<IngestState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = access::platform(&caller, &id)?;
    let platform =
        store::get(&state.pool, id.as_str()).await?.ok_or_else(|| ApiError::not_found(format!("platform {id}")))?;
    Ok(HttpResponse::Ok().json(platform))
}

/// Every platform.
#[utoipa::path(get, path = "/v1/platforms", tag = "platforms", security(("bearer" = [])), responses((status = 200, body = Vec<Platform>)))]
pub async fn list(_ops: Authorized<roles::Ops>, state: web::Data<IngestState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(store::list(&state.pool).await?))
}

/// Adds a webhook secret (to rotate: add, switch the platform over, revoke the old one).
#[utoipa::path(post, path = "/v1/platforms/{id}/secrets", tag = "platforms", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 201, body = NewSecret)))]
pub async fn add_secret(
    caller: Authorized<roles::PlatformOrOps>,
    state: web::Data<IngestState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = access::platform(&caller, &id)?;
    state.directory.get(id.as_str()).await?.ok_or_else(|| ApiError::not_found(format!("platform {id}")))?;
    let mut conn = state.pool.acquire().await?;
    let secret = secrets::create(&mut conn, state.directory.sealer(), &id).await?;
    state.directory.forget(id.as_str());
    Ok(HttpResponse::Created().json(secret))
}

/// The active webhook secrets (ids and dates; values are shown only at creation).
#[utoipa::path(get, path = "/v1/platforms/{id}/secrets", tag = "platforms", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<SecretInfo>)))]
pub async fn list_secrets(
    caller: Authorized<roles::PlatformOrOps>,
    state: web::Data<IngestState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = access::platform(&caller, &id)?;
    let mut conn = state.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(secrets::list(&mut conn, &id).await?))
}

/// Revokes a webhook secret. The last active one cannot be revoked: add its successor first.
#[utoipa::path(delete, path = "/v1/platforms/{id}/secrets/{secret_id}", tag = "platforms", security(("bearer" = [])),
    params(("id" = String, Path), ("secret_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 409, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn revoke_secret(
    caller: Authorized<roles::PlatformOrOps>,
    state: web::Data<IngestState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, secret_id) = path.into_inner();
    let id = access::platform(&caller, &id)?;
    let secret_id: Uuid = secret_id.parse().map_err(|_| ApiError::not_found("secret"))?;
    let mut tx = state.pool.begin().await?;
    sqlx::query("SELECT 1 FROM platforms WHERE id = $1 FOR UPDATE").bind(id.as_str()).execute(&mut *tx).await?;
    if secrets::list(&mut tx, &id).await?.len() <= 1 {
        return Err(ApiError::conflict(
            "last_secret",
            "this is the platform's only active secret; add its successor first",
        ));
    }
    if !secrets::revoke(&mut tx, &id, secret_id).await? {
        return Err(ApiError::not_found("secret"));
    }
    tx.commit().await?;
    state.directory.forget(id.as_str());
    Ok(HttpResponse::NoContent().finish())
}

/// Sets how this platform's CSV exports are read.
#[utoipa::path(put, path = "/v1/platforms/{id}/csv-mapping", tag = "platforms", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CsvMapping,
    responses((status = 200, body = CsvMapping), (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn set_mapping(
    caller: Authorized<roles::PlatformOrOps>,
    state: web::Data<IngestState>,
    id: web::Path<String>,
    body: Json<CsvMapping>,
) -> ApiResult<HttpResponse> {
    let id = access::platform(&caller, &id)?;
    let problems = body.problems();
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_mapping", "the mapping has problems").with_errors(problems));
    }
    if !store::set_csv_mapping(&state.pool, id.as_str(), Some(&body)).await? {
        return Err(ApiError::not_found(format!("platform {id}")));
    }
    state.directory.forget(id.as_str());
    Ok(HttpResponse::Ok().json(body.0))
}
