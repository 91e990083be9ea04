//! `POST /v1/drills`: ops starts (or stops) a failure drill on one service, which the
//! service applies to its own requests (`gigcover_kit::drill`). Refused in production, by
//! the ops service and again by the target.

use actix_web::{HttpResponse, web};
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::client::{ClientError, ServiceClient};
use gigcover_kit::drill::DrillRequest;
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult, ServiceName};
use serde::{Deserialize, Serialize};

pub struct Drills {
    pub clients: Vec<(ServiceName, ServiceClient)>,
    pub production: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDrill {
    /// `aggregation`, `enrichment`, `identity`, `pricing` or `claims`.
    pub service: String,
    #[serde(flatten)]
    pub drill: DrillRequest,
}

/// Makes one service fail or slow down for a while (or stops its drill).
#[utoipa::path(post, path = "/v1/drills", tag = "alerts", security(("bearer" = [])), request_body = NewDrill,
    responses((status = 204), (status = 403, description = "in production", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 503, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn start(
    caller: Authorized<roles::Ops>,
    body: Json<NewDrill>,
    drills: web::Data<Drills>,
) -> ApiResult<HttpResponse> {
    if drills.production {
        return Err(ApiError::forbidden("failure drills are refused in production"));
    }
    let client = drills.clients.iter().find(|(s, _)| s.as_str() == body.service).map(|(_, c)| c).ok_or_else(|| {
        ApiError::unprocessable("invalid_drill", "no such service")
            .with_errors(vec![gigcover_domain::FieldProblem::new("service", "one of our services")])
    })?;
    client.put_json::<_, ()>("/internal/drill", &body.drill).await.map_err(|e| match e {
        ClientError::Status { status, problem, .. } if status.is_client_error() => ApiError::new(
            actix_web::http::StatusCode::from_u16(status.as_u16()).unwrap_or(actix_web::http::StatusCode::FORBIDDEN),
            "drill_refused",
            problem.map_or_else(|| "the service refused the drill".to_owned(), |p| p.detail),
        ),
        other => {
            ApiError::unavailable("service_unreachable", format!("{} could not be reached: {other}", body.service))
        }
    })?;
    tracing::warn!(service = %body.service, by = %caller.subject, mode = ?body.drill.mode(), "failure drill started");
    Ok(HttpResponse::NoContent().finish())
}
