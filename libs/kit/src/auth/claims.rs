//! What a verified token says about its bearer.

use std::fmt;

use gigcover_domain::{InsurerId, PlatformId, WorkerId};
use serde::{Deserialize, Serialize};

/// Who the bearer is to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A gig worker, acting for themself (`sub` is their worker id).
    Worker,
    /// An insurer partner (`tenant` is the insurer id).
    Insurer,
    /// A gig platform (`tenant` is the platform id).
    Platform,
    /// gigcover operations staff.
    Ops,
    /// One of our own services calling another.
    Service,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Insurer => "insurer",
            Role::Platform => "platform",
            Role::Ops => "ops",
            Role::Service => "service",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `aud` may be one string or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims of our tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Space-separated OAuth2 scopes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// The verified bearer of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    pub tenant: Option<String>,
    pub scopes: Vec<String>,
    pub token_id: Option<String>,
}

impl From<Claims> for Principal {
    fn from(c: Claims) -> Self {
        Self {
            subject: c.sub,
            role: c.role,
            tenant: c.tenant,
            scopes: c.scope.split_whitespace().map(str::to_owned).collect(),
            token_id: c.jti,
        }
    }
}

impl Principal {
    /// The worker this token speaks for, when the bearer is a worker.
    pub fn worker_id(&self) -> Option<WorkerId> {
        (self.role == Role::Worker).then(|| self.subject.parse().ok()).flatten()
    }

    /// The insurer tenant, when the bearer is an insurer.
    pub fn insurer_id(&self) -> Option<InsurerId> {
        (self.role == Role::Insurer).then(|| self.tenant.as_deref().and_then(|t| InsurerId::parse(t).ok())).flatten()
    }

    /// The platform tenant, when the bearer is a platform.
    pub fn platform_id(&self) -> Option<PlatformId> {
        (self.role == Role::Platform).then(|| self.tenant.as_deref().and_then(|t| PlatformId::parse(t).ok())).flatten()
    }

    /// The worker named by a path segment, when the bearer is that worker, ops, or one of
    /// our services (an export, say); anyone else gets "not found" (ids are not confirmed).
    pub fn own_or_internal(&self, path_id: &str) -> crate::ApiResult<uuid::Uuid> {
        let id: uuid::Uuid = path_id.parse().map_err(|_| crate::ApiError::not_found("worker"))?;
        match self.role {
            Role::Worker if self.worker_id().map(|w| w.as_uuid()) == Some(id) => Ok(id),
            Role::Ops | Role::Service => Ok(id),
            _ => Err(crate::ApiError::not_found("worker")),
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// 403 unless the token carries `scope`.
    pub fn require_scope(&self, scope: &str) -> crate::ApiResult<()> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(crate::ApiError::forbidden(format!("the token lacks the scope `{scope}`")))
        }
    }
}
