//! Who may read a worker's hours: the worker, ops, and our own services (pricing and
//! claims). Insurers read only with the worker's consent, which arrives with the consent
//! service; until then every insurer read is refused here, in the one place all routes use.

use gigcover_kit::auth::{Principal, Role};
use gigcover_kit::{ApiError, ApiResult};
use uuid::Uuid;

pub fn worker(caller: &Principal, path_id: &str) -> ApiResult<Uuid> {
    let id: Uuid = path_id.parse().map_err(|_| ApiError::not_found("worker"))?;
    match caller.role {
        Role::Ops | Role::Service => Ok(id),
        Role::Worker if caller.worker_id().map(|w| w.as_uuid()) == Some(id) => Ok(id),
        Role::Insurer => Err(ApiError::forbidden("an insurer reads a worker's hours only with the worker's consent")),
        _ => Err(ApiError::not_found("worker")),
    }
}
