//! The development login: worker tokens for the embedded default and the demo, where no
//! external identity provider (Cognito, Auth0) is configured. Off unless
//! `identity.dev_login = true`, and refused in production: with it off the route is a 404.

use actix_web::{HttpResponse, web};
use gigcover_kit::auth::Role;
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::Deserialize;
use sqlx::PgPool;

use crate::token::{TokenIssuer, TokenResponse};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevLogin {
    /// The worker to sign in as (a UUID); a new worker when absent.
    pub worker_id: Option<uuid::Uuid>,
}

/// Signs in as a worker (development only).
#[utoipa::path(post, path = "/v1/dev/worker-login", tag = "clients", request_body = DevLogin,
    responses((status = 200, body = TokenResponse),
              (status = 404, description = "the development login is off", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn login(
    body: Json<DevLogin>,
    pool: web::Data<PgPool>,
    issuer: web::Data<TokenIssuer>,
    enabled: web::Data<DevLoginEnabled>,
) -> ApiResult<HttpResponse> {
    if !enabled.0 {
        return Err(ApiError::not_found("route /v1/dev/worker-login (the development login is off)"));
    }
    let worker = body.worker_id.unwrap_or_else(uuid::Uuid::now_v7);
    let token = issuer.sign(&pool, &worker.to_string(), Role::Worker, None, "").await?;
    tracing::info!("development login issued a worker token");
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: issuer.ttl_secs,
        scope: String::new(),
    }))
}

/// Whether the development login answers.
pub struct DevLoginEnabled(pub bool);
