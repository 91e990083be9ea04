//! Reading a worker's data: the one check every service's worker routes pass.
//!
//! `ReadsWorker<S>` names the worker in the route's `{id}` and lets through: the worker
//! themself; ops; our own services; and an insurer only with the worker's current consent
//! of scope `S` or wider. The insurer's check asks the identity service on every request
//! (no cache, so a revocation holds for every request that starts after it was
//! acknowledged) and identity records the read for the worker to see. Anyone else, or a
//! worker asking for another worker, gets a 404, so ids are not confirmed.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::claims::{Principal, Role};
use crate::client::{ClientError, ServiceClient};
use crate::error::ApiError;

/// What an insurer may see of a worker, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentScope {
    /// Hours and profiles.
    Hours,
    /// Hours, profiles and earnings.
    HoursAndEarnings,
    /// Everything, including individual activities and where the worker was at an instant.
    ActivityDetail,
}

impl ConsentScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentScope::Hours => "hours",
            ConsentScope::HoursAndEarnings => "hours_and_earnings",
            ConsentScope::ActivityDetail => "activity_detail",
        }
    }

    /// Whether a grant of `self` covers a need of `needed`.
    pub fn covers(self, needed: ConsentScope) -> bool {
        self >= needed
    }
}

/// The scope a route needs; see [`needs`].
pub trait NeedsScope {
    const SCOPE: ConsentScope;
}

/// Scopes for `ReadsWorker<...>`.
pub mod needs {
    use super::{ConsentScope, NeedsScope};

    pub struct Hours;
    impl NeedsScope for Hours {
        const SCOPE: ConsentScope = ConsentScope::Hours;
    }
    pub struct HoursAndEarnings;
    impl NeedsScope for HoursAndEarnings {
        const SCOPE: ConsentScope = ConsentScope::HoursAndEarnings;
    }
    pub struct ActivityDetail;
    impl NeedsScope for ActivityDetail {
        const SCOPE: ConsentScope = ConsentScope::ActivityDetail;
    }
}

/// Asks the identity service (as app data of every service).
#[derive(Clone)]
pub struct ConsentClient(pub ServiceClient);

impl ConsentClient {
    /// The scope the insurer `principal` was granted by `worker`, if it covers `scope`
    /// (identity records the read); else a 403 saying why. For routes that name the worker
    /// elsewhere than in the path; [`ReadsWorker`] uses it for the others.
    pub async fn require(
        &self,
        principal: &Principal,
        worker: Uuid,
        scope: ConsentScope,
        resource: &str,
    ) -> Result<ConsentScope, ApiError> {
        let insurer = principal.tenant.clone().ok_or_else(|| ApiError::not_found("worker"))?;
        let service = gigcover_telemetry::current_service().unwrap_or("unknown").to_owned();
        let check =
            ConsentCheck { worker_id: worker, insurer_id: insurer, scope, service, resource: resource.to_owned() };
        let answer: ConsentAnswer = self.0.post_json("/v1/consents/check", &check).await.map_err(|e| match e {
            ClientError::Status { status, .. } if status.as_u16() == 404 => ApiError::not_found("worker"),
            other => ApiError::unavailable(
                "consent_unavailable",
                format!("the worker's consent could not be checked: {other}; retry"),
            ),
        })?;
        match answer {
            ConsentAnswer { allowed: true, granted: Some(g), .. } => Ok(g),
            ConsentAnswer { reason, .. } => Err(ApiError::forbidden(
                reason.unwrap_or_else(|| format!("the worker has not given this insurer {} consent", scope.as_str())),
            )),
        }
    }
}

/// The question identity answers, recording the read when it is allowed.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentCheck {
    pub worker_id: Uuid,
    pub insurer_id: String,
    pub scope: ConsentScope,
    /// The service and route reading.
    pub service: String,
    pub resource: String,
}

/// Identity's answer: the granted scope (at least the one asked), or why not.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentAnswer {
    pub allowed: bool,
    pub granted: Option<ConsentScope>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A caller allowed to read worker `worker`; `scope` is what it may see (`None`: all of
/// it: the worker, ops or a service).
pub struct ReadsWorker<S: NeedsScope> {
    pub principal: Principal,
    pub worker: Uuid,
    pub scope: Option<ConsentScope>,
    _needs: PhantomData<S>,
}

impl<S: NeedsScope> ReadsWorker<S> {
    /// Whether the caller may see `what` (everyone but an insurer with a narrower grant).
    pub fn may_see(&self, what: ConsentScope) -> bool {
        self.scope.is_none_or(|s| s.covers(what))
    }
}

impl<S: NeedsScope + 'static> FromRequest for ReadsWorker<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        let id = req.match_info().get("id").map(str::to_owned);
        let client = req.app_data::<web::Data<ConsentClient>>().cloned();
        let resource = format!("{} {}", req.method(), req.match_pattern().unwrap_or_else(|| req.path().to_owned()));
        Box::pin(async move {
            let principal = principal.await?;
            let not_found = || ApiError::not_found("worker");
            let worker: Uuid = id.as_deref().and_then(|i| i.parse().ok()).ok_or_else(not_found)?;
            let scope = match principal.role {
                Role::Ops | Role::Service => None,
                Role::Worker if principal.worker_id().map(|w| w.as_uuid()) == Some(worker) => None,
                Role::Insurer => {
                    let client =
                        client.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no ConsentClient in app data")))?;
                    Some(client.require(&principal, worker, S::SCOPE, &resource).await?)
                }
                Role::Worker => return Err(not_found()),
                Role::Platform => {
                    return Err(ApiError::forbidden("this route is for: worker, insurer (with consent), ops, service"));
                }
            };
            Ok(Self { principal, worker, scope, _needs: PhantomData })
        })
    }
}
