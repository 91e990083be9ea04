//! The claims service: file, verify against work history, adjudicate, pay.
//!
//! - `verify`: the automatic checks and their recommendation (pure);
//! - `routes`: filing (verified at once) and reading claims.
//!
//! Attachments, re-verification on new evidence, income-loss eligibility and benefit,
//! adjudication and payment arrive with the rest of the claims issue.

pub mod routes;
pub mod verify;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Claims,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(routes::file, routes::get, gigcover_feed::serve::events), tags((name = "claims", description = "Claims")))]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Claims.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/claims")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let state = web::Data::new(routes::ClaimsState {
        pricing: ctx.client_for(ServiceName::Pricing),
        enrichment: ctx.client_for(ServiceName::Enrichment),
    });
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone());
            server.configure(cfg);
            cfg.route("/v1/claims", web::post().to(routes::file)).route("/v1/claims/{id}", web::get().to(routes::get));
        }),
        background: vec![feed.listener],
    })
}
