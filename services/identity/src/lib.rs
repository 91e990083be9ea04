//! The identity service: who is calling. It keeps the keys tokens are signed with and
//! publishes their public halves as a JWKS (`GET /.well-known/jwks.json`), which every
//! service's verifier fetches.

mod keys;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Identity,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(keys::jwks, gigcover_feed::serve::events), tags((name = "keys", description = "Token signing keys")))]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Identity.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/identity")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    keys::ensure_signing_key(&ctx.pool).await?;
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            server.configure(cfg);
            cfg.route("/.well-known/jwks.json", web::get().to(keys::jwks));
        }),
        background: vec![feed.listener],
    })
}
