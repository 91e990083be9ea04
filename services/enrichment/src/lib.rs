//! The enrichment service: from the activity of all platforms together, the hours a worker
//! really worked.
//!
//! - `engine`: the interval engine (pure): unions, per-day figures, attribution, insured time;
//! - `feed`: consumes aggregation's `activity.changed`, keeps `store` fresh, recomputes;
//! - `intervals`: a worker's intervals as the engine reads them;
//! - `job_column`: how `store` keeps an interval's distance and earnings (one text field);
//! - `recompute`: stored intervals to stored worker-days, a worker's days at a time;
//! - `rebuild`: every worker-day from scratch (binary `COPY` both ways: `copy_out`, `copy_in`);
//! - `reading`, `routes`: hours, profiles, activity at an instant, statements.

pub mod copy_in;
pub mod copy_out;
mod definitions;
pub mod engine;
pub mod feed;
pub mod intervals;
pub mod job_column;
mod reading;
pub mod rebuild;
pub mod recompute;
mod routes;
pub mod settings;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::{Consumer, FeedServer};
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub use feed::{HOURS_CHANGED, HoursChanged};

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Enrichment,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        routes::hours::get, routes::hours::statement, routes::profile::get, routes::activity_at::get,
        routes::definitions::list, routes::definitions::add, routes::recompute::all,
        gigcover_feed::serve::events
    ),
    components(schemas(HoursChanged)),
    tags(
        (name = "hours", description = "The hours a worker really worked"),
        (name = "definitions", description = "Insured-time definitions"),
    )
)]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Enrichment.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/enrichment")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let settings: settings::EnrichmentSettings = ctx.config.section("enrichment")?;
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let consumer = Consumer::new(
        ServiceName::Aggregation.as_str(),
        ctx.client_for(ServiceName::Aggregation),
        ctx.pool.clone(),
        feed::ActivityFeed {
            aggregation: ctx.client_for(ServiceName::Aggregation),
            infer_gap_ms: settings.infer_gap_ms(),
        },
    )
    .batch(settings.feed_batch);
    let state = web::Data::new(routes::State {
        pool: ctx.pool.clone(),
        settings,
        definitions: definitions::Resolved::default(),
    });
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone());
            server.configure(cfg);
            routes::configure(cfg);
        }),
        background: vec![feed.listener, Box::pin(consumer.run(ctx.shutdown.clone()))],
    })
}
