//! The aggregation service: gig platforms hand us each worker's activity here, and we keep
//! it in one canonical model, exactly once.

mod platforms;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Aggregation,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(platforms::routes::register, platforms::routes::get, platforms::routes::list, gigcover_feed::serve::events),
    tags((name = "platforms", description = "The platform registry (ops)"))
)]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Aggregation.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/aggregation")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            server.configure(cfg);
            platforms::routes::configure(cfg);
        }),
        background: vec![feed.listener],
    })
}
