//! The client management API (ops).

use actix_web::{HttpResponse, web};
use gigcover_kit::ApiResult;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use sqlx::PgPool;

use crate::clients::{self, Client, IssuedSecret, NewClient};

/// Creates a client; its secret is in this answer only.
#[utoipa::path(post, path = "/v1/clients", tag = "clients", security(("bearer" = [])), request_body = NewClient,
    responses((status = 201, body = IssuedSecret),
              (status = 409, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    _ops: Authorized<roles::Ops>,
    body: Json<NewClient>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(clients::create(&pool, &body).await?))
}

#[utoipa::path(get, path = "/v1/clients", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = Vec<Client>)))]
pub async fn list(_ops: Authorized<roles::Ops>, pool: web::Data<PgPool>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(clients::list(&pool).await?))
}

/// A new secret; the old one stops working now.
#[utoipa::path(post, path = "/v1/clients/{id}/rotate", tag = "clients", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = IssuedSecret),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn rotate(
    _ops: Authorized<roles::Ops>,
    id: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(clients::rotate(&pool, &id).await?))
}

/// Revokes the client: it gets no new token from now on.
#[utoipa::path(post, path = "/v1/clients/{id}/revoke", tag = "clients", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Client),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    _ops: Authorized<roles::Ops>,
    id: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(clients::revoke(&pool, &id).await?))
}
