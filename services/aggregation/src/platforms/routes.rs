//! `/v1/platforms`: the registry, managed by ops.

use actix_web::{HttpResponse, web};
use gigcover_domain::PlatformId;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use sqlx::PgPool;

use super::model::{NewPlatform, Platform};
use super::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/platforms", web::post().to(register))
        .route("/v1/platforms", web::get().to(list))
        .route("/v1/platforms/{id}", web::get().to(get));
}

/// Registers a platform.
#[utoipa::path(
    post, path = "/v1/platforms", tag = "platforms", request_body = NewPlatform,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Platform),
        (status = 400, description = "malformed JSON", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "the id is taken", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    _ops: Authorized<roles::Ops>,
    pool: web::Data<PgPool>,
    body: Json<NewPlatform>,
) -> ApiResult<HttpResponse> {
    let problems = body.problems();
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_body", "the platform has invalid fields").with_errors(problems));
    }
    match store::insert(&pool, &body).await? {
        Some(platform) => Ok(HttpResponse::Created().json(platform)),
        None => Err(ApiError::conflict(
            "platform_exists",
            format!("platform {} is already registered", body.id),
        )),
    }
}

/// One platform.
#[utoipa::path(
    get, path = "/v1/platforms/{id}", tag = "platforms",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "platform id")),
    responses((status = 200, body = Platform), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"))
)]
pub async fn get(
    _ops: Authorized<roles::Ops>,
    pool: web::Data<PgPool>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = PlatformId::parse(&id).map_err(|e| ApiError::not_found(format!("platform ({e})")))?;
    let platform = store::get(&pool, id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("platform {id}")))?;
    Ok(HttpResponse::Ok().json(platform))
}

/// Every platform.
#[utoipa::path(
    get, path = "/v1/platforms", tag = "platforms",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Platform>))
)]
pub async fn list(_ops: Authorized<roles::Ops>, pool: web::Data<PgPool>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(store::list(&pool).await?))
}
