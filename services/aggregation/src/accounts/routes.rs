//! Platform accounts and links.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_domain::ExternalRef;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};

use super::codes;
use super::store::{self, Account, Redeemed};
use crate::access;
use crate::ingest::events;
use crate::state::IngestState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/platforms/{id}/workers", web::post().to(register))
        .route("/v1/platforms/{id}/workers/{worker_ref}/link-codes", web::post().to(link_code))
        .route("/v1/workers/{id}/platform-accounts", web::post().to(redeem))
        .route("/v1/workers/{id}/platform-accounts", web::get().to(list))
        .route("/v1/workers/{id}/platform-accounts/{platform}/{worker_ref}", web::delete().to(unlink));
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// The platform's own reference for the worker.
    pub worker_ref: ExternalRef,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountStatus {
    pub worker_ref: ExternalRef,
    pub linked: bool,
}

/// Registers a platform's reference for a worker (idempotent: 201 the first time, 200 after).
#[utoipa::path(post, path = "/v1/platforms/{id}/workers", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = NewAccount,
    responses((status = 201, body = AccountStatus), (status = 200, body = AccountStatus),
              (status = 403, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn register(
    caller: Authorized<roles::PlatformOrOps>,
    path: web::Path<String>,
    body: Json<NewAccount>,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let platform = access::platform(&caller, &path)?;
    state.directory.get(platform.as_str()).await?.ok_or_else(|| ApiError::not_found(format!("platform {platform}")))?;
    let mut conn = state.pool.acquire().await?;
    let (created, worker) = store::register(&mut conn, &platform, &body.worker_ref).await?;
    let status = AccountStatus { worker_ref: body.0.worker_ref, linked: worker.is_some() };
    Ok(if created { HttpResponse::Created().json(status) } else { HttpResponse::Ok().json(status) })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkCode {
    /// Give this to the worker; it works once.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// A one-time code the worker redeems to link this account to their gigcover worker.
#[utoipa::path(post, path = "/v1/platforms/{id}/workers/{worker_ref}/link-codes", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path), ("worker_ref" = String, Path)),
    responses((status = 201, body = LinkCode), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn link_code(
    caller: Authorized<roles::PlatformOrOps>,
    path: web::Path<(String, String)>,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let (platform_id, worker_ref) = path.into_inner();
    let platform = access::platform(&caller, &platform_id)?;
    let worker_ref = ExternalRef::parse(&worker_ref).map_err(|_| ApiError::not_found("platform account"))?;
    let code = codes::generate()?;
    let expires_at = Utc::now() + chrono::Duration::minutes(state.settings.link_code_ttl_minutes);
    let mut conn = state.pool.acquire().await?;
    if !store::store_code(&mut conn, &platform, &worker_ref, &codes::hash(&code), expires_at).await? {
        return Err(ApiError::not_found(format!("platform account {worker_ref}; register it first")));
    }
    Ok(HttpResponse::Created().json(LinkCode { code, expires_at }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeem {
    pub code: String,
}

/// Links the platform account a code was issued for to the signed-in worker, and
/// attributes the activity held for it.
#[utoipa::path(post, path = "/v1/workers/{id}/platform-accounts", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = Redeem,
    responses((status = 201, body = Account), (status = 200, body = Account),
              (status = 409, description = "linked to another worker", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "wrong, expired or used code", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn redeem(
    caller: Authorized<roles::Worker>,
    path: web::Path<String>,
    body: Json<Redeem>,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let worker = access::worker(&caller, &path)?;
    let mut tx = state.pool.begin().await?;
    match store::redeem(&mut tx, worker, &codes::hash(&body.code)).await? {
        Redeemed::Invalid => {
            Err(ApiError::unprocessable("invalid_link_code", "the code is wrong, expired or already used"))
        }
        Redeemed::Taken => {
            Err(ApiError::conflict("account_taken", "this platform account is linked to another worker"))
        }
        Redeemed::Already { platform, worker_ref } => {
            tx.commit().await?;
            Ok(HttpResponse::Ok().json(Account { platform, worker_ref, worker_id: Some(worker) }))
        }
        Redeemed::Linked { platform, worker_ref, attributed } => {
            let info = state.directory.get(platform.as_str()).await?.ok_or_else(|| ApiError::not_found("platform"))?;
            let events: Vec<_> = events::attributed(worker, &info, &attributed)?.into_iter().collect();
            gigcover_feed::publish(tx, &events).await?;
            Ok(HttpResponse::Created().json(Account { platform, worker_ref, worker_id: Some(worker) }))
        }
    }
}

/// The worker's linked platform accounts.
#[utoipa::path(get, path = "/v1/workers/{id}/platform-accounts", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Vec<Account>)))]
pub async fn list(
    caller: Authorized<roles::WorkerOrOps>,
    path: web::Path<String>,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let worker = access::worker(&caller, &path)?;
    let mut conn = state.pool.acquire().await?;
    Ok(HttpResponse::Ok().json(store::list(&mut conn, worker).await?))
}

/// Unlinks a platform account: new activity of it is held again; what was attributed stays.
#[utoipa::path(delete, path = "/v1/workers/{id}/platform-accounts/{platform}/{worker_ref}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path), ("platform" = String, Path), ("worker_ref" = String, Path)),
    responses((status = 204), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn unlink(
    caller: Authorized<roles::Worker>,
    path: web::Path<(String, String, String)>,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let (id, platform, worker_ref) = path.into_inner();
    let worker = access::worker(&caller, &id)?;
    let platform =
        gigcover_domain::PlatformId::parse(&platform).map_err(|_| ApiError::not_found("platform account"))?;
    let mut tx = state.pool.begin().await?;
    if !store::unlink(&mut tx, worker, &platform, &worker_ref).await? {
        return Err(ApiError::not_found("platform account"));
    }
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
