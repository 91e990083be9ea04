//! The ops service: what operations staff look at. So far, the health of every service
//! (`GET /v1/status`), asked of each over HTTP exactly as in production.

mod status;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub const SPEC: ServiceSpec =
    ServiceSpec { name: ServiceName::Ops, migrate: |pool| Box::pin(migrate(pool)), build: |ctx| Box::pin(build(ctx)) };

#[derive(utoipa::OpenApi)]
#[openapi(paths(status::status, gigcover_feed::serve::events), tags((name = "status", description = "Service health")))]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Ops.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/ops")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let probes = web::Data::new(status::Probes::new(&ctx));
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            server.configure(cfg);
            cfg.app_data(probes.clone()).route("/v1/status", web::get().to(status::status));
        }),
        background: vec![feed.listener],
    })
}
