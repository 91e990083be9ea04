//! The extractors routes use to declare who may call them:
//! `Principal` (any valid token) or `Authorized<roles::Ops>` (a valid token of a listed role).

use std::marker::PhantomData;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures::future::LocalBoxFuture;

use super::claims::{Principal, Role};
use super::verifier::{AuthError, Verifier};
use crate::error::ApiError;

fn bearer(req: &HttpRequest) -> Result<String, AuthError> {
    let value = req.headers().get(AUTHORIZATION).ok_or(AuthError::Missing)?;
    let value = value.to_str().map_err(|_| AuthError::Rejected("the Authorization header is not text".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_owned())
        }
        _ => Err(AuthError::Rejected("the Authorization header must be `Bearer <token>`".into())),
    }
}

/// The bearer token's verdict, reached by [`authenticate`] before any extractor runs.
#[derive(Clone)]
struct Verified(Result<Principal, AuthError>);

/// Middleware: verifies the bearer token (when there is one) before the handler's
/// extractors run, so a bad token is a 401 even where another extractor (a body, a query)
/// would have failed first while the key lookup was still waiting on the JWKS.
pub async fn authenticate(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse, actix_web::Error> {
    if req.headers().contains_key(AUTHORIZATION)
        && let Some(verifier) = req.app_data::<web::Data<Verifier>>().cloned()
    {
        let verdict = match bearer(req.request()) {
            Ok(token) => verifier.verify(&token).await,
            Err(e) => Err(e),
        };
        req.extensions_mut().insert(Verified(verdict));
    }
    next.call(req).await.map(|res| res.map_into_boxed_body())
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = req.extensions().get::<Verified>().cloned();
        let verifier: Option<Arc<Verifier>> = req.app_data::<web::Data<Verifier>>().map(|d| d.clone().into_inner());
        let token = bearer(req);
        Box::pin(async move {
            let principal = match verified {
                Some(Verified(verdict)) => verdict?,
                None => {
                    let verifier =
                        verifier.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no Verifier in app data")))?;
                    verifier.verify(&token?).await?
                }
            };
            let role = opentelemetry::KeyValue::new("enduser.role", principal.role.as_str());
            let tenant = principal.tenant.clone().map(|t| opentelemetry::KeyValue::new("gigcover.tenant", t));
            gigcover_telemetry::annotate_server_span(std::iter::once(role).chain(tenant));
            Ok(principal)
        })
    }
}

/// A set of roles a route admits; see [`roles`].
pub trait RoleSet {
    const ROLES: &'static [Role];
}

/// Role sets for `Authorized<...>`.
pub mod roles {
    use super::{Role, RoleSet};

    macro_rules! role_set {
        ($($(#[$doc:meta])* $name:ident => [$($role:ident),+];)+) => {$(
            $(#[$doc])*
            pub struct $name;
            impl RoleSet for $name {
                const ROLES: &'static [Role] = &[$(Role::$role),+];
            }
        )+};
    }

    role_set! {
        /// gigcover operations staff.
        Ops => [Ops];
        /// A gig platform.
        Platform => [Platform];
        /// An insurer partner.
        Insurer => [Insurer];
        /// A gig worker.
        Worker => [Worker];
        /// Our own services, or ops.
        Internal => [Service, Ops];
        /// A platform, or ops acting for one.
        PlatformOrOps => [Platform, Ops];
        /// A worker, or ops acting for one.
        WorkerOrOps => [Worker, Ops];
        /// Anyone with a valid token.
        Any => [Worker, Insurer, Platform, Ops, Service];
    }
}

/// A principal whose role is one of `R::ROLES`; any other role gets a 403.
pub struct Authorized<R: RoleSet> {
    pub principal: Principal,
    _roles: PhantomData<R>,
}

impl<R: RoleSet> std::ops::Deref for Authorized<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<R: RoleSet + 'static> FromRequest for Authorized<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload);
        Box::pin(async move {
            let principal = principal.await?;
            if R::ROLES.contains(&principal.role) {
                Ok(Self { principal, _roles: PhantomData })
            } else {
                let allowed = R::ROLES.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                Err(ApiError::forbidden(format!("this route is for: {allowed}")))
            }
        })
    }
}
