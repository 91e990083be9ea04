//! Insured-time definitions: everyone may read them; ops add versions.

use actix_web::{HttpResponse, web};
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::Deserialize;

use super::State;
use crate::definitions::{self, Definition};
use crate::engine::definitions::DefinitionSpec;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDefinition {
    /// Lower-case letters, digits and dashes; an existing name gets its next version.
    pub name: String,
    pub description: String,
    pub spec: DefinitionSpec,
}

/// The latest version of each definition.
#[utoipa::path(get, path = "/v1/insured-time-definitions", tag = "definitions", security(("bearer" = [])),
    responses((status = 200, body = Vec<Definition>)))]
pub async fn list(_caller: Authorized<roles::Any>, state: web::Data<State>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(definitions::latest(&state.pool).await?))
}

/// Publishes a definition's next version (existing versions never change).
#[utoipa::path(post, path = "/v1/insured-time-definitions", tag = "definitions", security(("bearer" = [])),
    request_body = NewDefinition,
    responses((status = 201, body = Definition),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn add(
    _caller: Authorized<roles::Ops>,
    body: Json<NewDefinition>,
    state: web::Data<State>,
) -> ApiResult<HttpResponse> {
    let mut problems = body.spec.problems();
    let name_ok = !body.name.is_empty()
        && body.name.len() <= 63
        && body.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !body.name.starts_with('-');
    if !name_ok {
        problems.push(gigcover_domain::FieldProblem::new("name", "lower-case letters, digits and dashes, 1 to 63"));
    }
    if body.description.trim().is_empty() || body.description.len() > 500 {
        problems.push(gigcover_domain::FieldProblem::new("description", "1 to 500 characters"));
    }
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_definition", "the definition has problems").with_errors(problems));
    }
    let created = definitions::add(&state.pool, &body.name, body.description.trim(), &body.spec).await?;
    state.definitions.forget_latest();
    Ok(HttpResponse::Created().json(created))
}
