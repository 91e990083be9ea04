//! `GET /v1/status`: asks every service's `/readyz` and reports each answer.

use actix_web::{HttpResponse, web};
use futures::future::join_all;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::client::{ClientError, ServiceClient};
use gigcover_kit::http::ServiceContext;
use gigcover_kit::{ApiResult, ServiceName};
use serde::{Deserialize, Serialize};

/// Clients for every service's health endpoint.
pub struct Probes {
    clients: Vec<(ServiceName, ServiceClient)>,
}

impl Probes {
    pub fn new(ctx: &ServiceContext) -> Self {
        Self { clients: ServiceName::ALL.into_iter().map(|s| (s, ctx.client_for(s))).collect() }
    }

    pub fn clients(&self) -> &[(ServiceName, ServiceClient)] {
        &self.clients
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceStatus {
    service: String,
    /// `ready`, `not_ready` (it answered 503: draining or its database is down) or `unreachable`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusReport {
    services: Vec<ServiceStatus>,
}

#[derive(Deserialize)]
struct Health {
    #[allow(dead_code)]
    status: String,
}

/// The readiness of every service, as each reports it.
#[utoipa::path(get, path = "/v1/status", tag = "status", security(("bearer" = [])), responses((status = 200, body = StatusReport)))]
pub async fn status(_ops: Authorized<roles::Ops>, probes: web::Data<Probes>) -> ApiResult<HttpResponse> {
    let answers = join_all(probes.clients.iter().map(|(name, client)| async move {
        let (status, detail) = match client.get_json::<Health>("/readyz").await {
            Ok(_) => ("ready", None),
            Err(ClientError::Status { problem, .. }) => ("not_ready", problem.map(|p| p.detail)),
            Err(other) => ("unreachable", Some(other.to_string())),
        };
        ServiceStatus { service: name.as_str().to_owned(), status: status.to_owned(), detail }
    }))
    .await;
    Ok(HttpResponse::Ok().json(StatusReport { services: answers }))
}
