//! The pricing service: insurers' products and tariffs, marketplace quotes, policies and usage-based billing.
//!
//! So far the service serves the kit's health, OpenAPI and problem+json, and its event
//! feed (`GET /v1/events`) from its own schema; its domain arrives with its issue.

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Pricing,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(gigcover_feed::serve::events))]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Pricing.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/pricing")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| server.configure(cfg)),
        background: vec![feed.listener],
    })
}
