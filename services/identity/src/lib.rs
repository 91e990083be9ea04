//! The identity service: who is calling. It keeps the keys tokens are signed with and
//! publishes their public halves as a JWKS (`GET /.well-known/jwks.json`), which every
//! service's verifier fetches; it issues tokens to OAuth2 clients (`POST /oauth/token`,
//! client credentials) and lets ops manage those clients.

pub mod clients;
mod consents;
mod dev_login;
mod keys;
pub mod personal;
mod routes;
mod token;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use serde::Deserialize;
use utoipa::OpenApi as _;

pub use keys::ensure_signing_key;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Identity,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(keys::jwks, token::issue, dev_login::login, routes::create, routes::list, routes::rotate, routes::revoke,
          consents::grant, consents::revoke, consents::list, consents::audit, consents::access_log, consents::check,
          personal::routes::put, personal::routes::get, personal::routes::export, personal::routes::age, personal::routes::erase,
          gigcover_feed::serve::events),
    tags((name = "keys", description = "Token signing keys"), (name = "clients", description = "OAuth2 clients and tokens"),
          (name = "consent", description = "Workers' consent to insurers, and who read what"),
          (name = "personal data", description = "Workers' personal data: encrypted, exportable, erasable"))
)]
struct ApiDoc;

/// The `identity` configuration section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    /// Lifetime of an access token.
    pub token_ttl_secs: i64,
    /// The development login (`POST /v1/dev/worker-login`): worker tokens without an
    /// identity provider. For the embedded default and the demo; never in production.
    pub dev_login: bool,
    /// AWS KMS for wrapping workers' data keys; required in production. Without it the
    /// local master key (`crypto`) wraps them.
    pub kms: Option<personal::kms::KmsSettings>,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self { token_ttl_secs: 900, dev_login: false, kms: None }
    }
}

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Identity.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/identity")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let settings: IdentitySettings = ctx.config.section("identity")?;
    if settings.dev_login && ctx.settings.environment.is_production() {
        anyhow::bail!("identity.dev_login must not be enabled in production");
    }
    if settings.dev_login {
        tracing::warn!("the development login is on: anyone reaching identity can sign in as any worker");
    }
    let dev_login = web::Data::new(dev_login::DevLoginEnabled(settings.dev_login));
    let wrapper: Arc<dyn personal::keys::KeyWrapper> = match settings.kms.clone() {
        Some(kms) => Arc::new(personal::kms::KmsKeyWrapper::new(kms)?),
        None if ctx.settings.environment.is_production() => {
            anyhow::bail!("identity.kms is required in production (workers' data keys are wrapped by AWS KMS)")
        }
        None => {
            let crypto: gigcover_kit::crypto::CryptoSettings = ctx.config.section("crypto")?;
            Arc::new(personal::keys::LocalKeyWrapper(gigcover_kit::crypto::Sealer::from_settings(&crypto, false)?))
        }
    };
    let personal = web::Data::new(personal::routes::PersonalState {
        wrapper,
        aggregation: ctx.client_for(ServiceName::Aggregation),
        enrichment: ctx.client_for(ServiceName::Enrichment),
        pricing: ctx.client_for(ServiceName::Pricing),
        claims: ctx.client_for(ServiceName::Claims),
    });
    keys::ensure_signing_key(&ctx.pool).await?;
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let issuer = web::Data::new(token::TokenIssuer {
        auth: ctx.settings.auth.clone(),
        ttl_secs: settings.token_ttl_secs.clamp(60, 3600),
    });
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(issuer.clone()).app_data(dev_login.clone()).app_data(personal.clone());
            server.configure(cfg);
            cfg.route("/.well-known/jwks.json", web::get().to(keys::jwks))
                .service(
                    web::resource("/oauth/token")
                        .app_data(web::PayloadConfig::new(token::FORM_LIMIT))
                        .route(web::post().to(token::issue)),
                )
                .route("/v1/dev/worker-login", web::post().to(dev_login::login))
                .route("/v1/clients", web::post().to(routes::create))
                .route("/v1/clients", web::get().to(routes::list))
                .route("/v1/clients/{id}/rotate", web::post().to(routes::rotate))
                .route("/v1/clients/{id}/revoke", web::post().to(routes::revoke))
                .route("/v1/workers/{id}/consents", web::get().to(consents::list))
                .route("/v1/workers/{id}/consents/audit", web::get().to(consents::audit))
                .route("/v1/workers/{id}/consents/{insurer}", web::put().to(consents::grant))
                .route("/v1/workers/{id}/consents/{insurer}", web::delete().to(consents::revoke))
                .route("/v1/workers/{id}/access-log", web::get().to(consents::access_log))
                .route("/v1/consents/check", web::post().to(consents::check))
                .route("/v1/workers/{id}/personal-data", web::put().to(personal::routes::put))
                .route("/v1/workers/{id}/personal-data", web::get().to(personal::routes::get))
                .route("/v1/workers/{id}/export", web::get().to(personal::routes::export))
                .route("/v1/workers/{id}/age", web::get().to(personal::routes::age))
                .route("/v1/workers/{id}/erasure", web::post().to(personal::routes::erase));
        }),
        background: vec![feed.listener],
    })
}
