//! Routes every service has for operations: its signals (`GET /internal/signals`, read by
//! the ops service's SLO evaluator) and its failure drill (`PUT /internal/drill`, refused
//! in production). Our services and ops only.

use std::sync::Arc;

use actix_web::{HttpResponse, web};

use super::Json;
use crate::auth::{Authorized, roles};
use crate::drill::{Drill, DrillRequest};
use crate::error::{ApiError, ApiResult};
use crate::signals::{ServiceSignals, Snapshot};

/// Whether drills are allowed (not in production).
#[derive(Clone, Copy)]
pub(crate) struct DrillsAllowed(pub bool);

/// This service's cumulative request counts and gauges.
#[utoipa::path(get, path = "/internal/signals", tag = "internal", security(("bearer" = [])),
    responses((status = 200, body = Snapshot), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub(crate) async fn signals(
    _caller: Authorized<roles::Internal>,
    signals: web::Data<Arc<ServiceSignals>>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(signals.snapshot()))
}

/// Starts or stops a failure drill on this service (not in production).
#[utoipa::path(put, path = "/internal/drill", tag = "internal", security(("bearer" = [])), request_body = DrillRequest,
    responses((status = 204), (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::error::Problem, content_type = "application/problem+json")))]
pub(crate) async fn drill(
    _caller: Authorized<roles::Internal>,
    body: Json<DrillRequest>,
    drill: web::Data<Arc<Drill>>,
    allowed: web::Data<DrillsAllowed>,
) -> ApiResult<HttpResponse> {
    if !allowed.0 {
        return Err(ApiError::forbidden("failure drills are refused in production"));
    }
    if body.percent.is_some_and(|p| p > 100) {
        return Err(ApiError::unprocessable("invalid_drill", "percent is 0 to 100")
            .with_errors(vec![gigcover_domain::FieldProblem::new("percent", "0 to 100")]));
    }
    if body.seconds > 3600 {
        return Err(ApiError::unprocessable("invalid_drill", "a drill lasts at most 3600 seconds")
            .with_errors(vec![gigcover_domain::FieldProblem::new("seconds", "at most 3600")]));
    }
    drill.set(*body);
    tracing::warn!(mode = ?body.mode(), seconds = body.seconds, "failure drill set");
    Ok(HttpResponse::NoContent().finish())
}
