//! Who may act on which tenant's data, checked once here for every route.

use gigcover_domain::{PlatformId, WorkerId};
use gigcover_kit::auth::{Principal, Role};
use gigcover_kit::{ApiError, ApiResult};

/// The worker a route acts on: a worker only on themself (another worker's id is "not
/// found", so ids are not confirmed); ops on anyone.
pub fn worker(caller: &Principal, path_id: &str) -> ApiResult<WorkerId> {
    let id: WorkerId = path_id.parse().map_err(|_| ApiError::not_found("worker"))?;
    match caller.role {
        Role::Ops => Ok(id),
        Role::Worker if caller.worker_id() == Some(id) => Ok(id),
        _ => Err(ApiError::not_found("worker")),
    }
}

/// The platform a route writes for: a platform only for itself; ops for any.
pub fn platform(caller: &Principal, path_id: &str) -> ApiResult<PlatformId> {
    let id = PlatformId::parse(path_id).map_err(|_| ApiError::not_found("platform"))?;
    match caller.role {
        Role::Ops => Ok(id),
        Role::Platform if caller.platform_id().as_ref() == Some(&id) => Ok(id),
        _ => Err(ApiError::forbidden("a platform may act only on its own data")),
    }
}
