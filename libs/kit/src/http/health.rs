//! `/livez` (the process is up) and `/readyz` (it can serve: not draining, database reachable).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use sqlx::PgPool;

use crate::error::{ApiError, ApiResult};

/// False once the service starts draining, so load balancers stop sending it work.
#[derive(Debug, Clone)]
pub struct Readiness(Arc<AtomicBool>);

impl Default for Readiness {
    fn default() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub fn set_draining(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/livez", tag = "health", responses((status = 200, body = Health)))]
pub(crate) async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "up" })
}

/// Ready to serve: not draining and the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "draining or database unreachable", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub(crate) async fn readyz(pool: web::Data<PgPool>, readiness: web::Data<Readiness>) -> ApiResult<HttpResponse> {
    if !readiness.is_ready() {
        return Err(ApiError::unavailable("draining", "the service is shutting down"));
    }
    match tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(pool.get_ref())).await {
        Ok(Ok(_)) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(ApiError::unavailable("database_unavailable", "the database did not answer within 2 s")),
    }
}
