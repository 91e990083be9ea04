//! `POST /v1/recompute` (ops): recompute every worker-day from the stored intervals.

use actix_web::{HttpResponse, web};
use gigcover_kit::ApiResult;
use gigcover_kit::auth::{Authorized, roles};
use serde_json::json;

use super::State;

/// Recomputes everything from scratch (the result equals what incremental updates stored).
#[utoipa::path(post, path = "/v1/recompute", tag = "hours", security(("bearer" = [])),
    responses((status = 200, description = "how many workers were recomputed")))]
pub async fn all(_caller: Authorized<roles::Ops>, state: web::Data<State>) -> ApiResult<HttpResponse> {
    let workers = crate::rebuild::recompute_all(&state.pool, state.settings.infer_gap_ms()).await?;
    Ok(HttpResponse::Ok().json(json!({ "workers": workers })))
}
