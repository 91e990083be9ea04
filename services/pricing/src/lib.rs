//! The pricing service: insurers' products and tariffs, marketplace quotes.
//!
//! - `tariff`: tariffs as data and the premium they give, explained line by line (pure);
//! - `products`: products and tariff versions, scoped to their insurer;
//! - `quotes`: a worker's profile from enrichment priced by every product of a kind;
//! - `policies`: binding a quote (or its renewal), cancelling with a pro-rata refund;
//! - `billing`: monthly statements of per-hour policies, finalised, with adjustments;
//! - `worker_records`: everything of one worker's, for them and their export.

pub mod billing;
pub mod metrics;
pub mod policies;
pub mod products;
pub mod quotes;
pub mod settings;
pub mod tariff;
pub mod worker_records;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

/// SHA-256 of a request body as parsed (for `Idempotency-Key`).
pub(crate) fn request_hash<T: serde::Serialize>(body: &T) -> gigcover_kit::ApiResult<Vec<u8>> {
    use sha2::Digest as _;
    let bytes = serde_json::to_vec(body).map_err(anyhow::Error::from)?;
    Ok(sha2::Sha256::digest(&bytes).to_vec())
}

/// The insured-time definition a profile is read with when a tariff names none.
pub const DEFAULT_DEFINITION: &str = "job-plus-15m";

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Pricing,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        products::create, products::publish, products::list, products::get, quotes::create, quotes::get,
        policies::bind, policies::cancel, policies::get, policies::renew,
        billing::routes::of_policy, billing::routes::list, worker_records::get,
        gigcover_feed::serve::events
    ),
    tags((name = "products", description = "Insurers' products and tariffs"), (name = "quotes", description = "Marketplace quotes"),
          (name = "policies", description = "Bound quotes"), (name = "statements", description = "Usage-based billing"))
)]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Pricing.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/pricing")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let settings: settings::PricingSettings = ctx.config.section("pricing")?;
    let enrichment = ctx.client_for(ServiceName::Enrichment);
    let ledger = billing::ledger::Ledger {
        pool: ctx.pool.clone(),
        enrichment: enrichment.clone(),
        grace: chrono::Duration::hours(i64::from(settings.statement_grace_hours)),
    };
    let finalizer = Box::pin(
        ledger
            .clone()
            .run(std::time::Duration::from_secs(u64::from(settings.statement_check_secs.max(1))), ctx.shutdown.clone()),
    );
    let ledger = web::Data::new(ledger);
    let state = web::Data::new(quotes::QuoteState { enrichment, identity: ctx.client_for(ServiceName::Identity) });
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone()).app_data(ledger.clone());
            server.configure(cfg);
            cfg.route("/v1/products", web::post().to(products::create))
                .route("/v1/products", web::get().to(products::list))
                .route("/v1/products/{id}", web::get().to(products::get))
                .route("/v1/products/{id}/tariffs", web::post().to(products::publish))
                .route("/v1/quotes", web::post().to(quotes::create))
                .route("/v1/quotes/{id}", web::get().to(quotes::get))
                .route("/v1/policies", web::post().to(policies::bind))
                .route("/v1/policies/{id}", web::get().to(policies::get))
                .route("/v1/policies/{id}/cancel", web::post().to(policies::cancel))
                .route("/v1/policies/{id}/renew", web::post().to(policies::renew))
                .route("/v1/policies/{id}/statements", web::get().to(billing::routes::of_policy))
                .route("/v1/statements", web::get().to(billing::routes::list))
                .route("/v1/workers/{id}/insurance", web::get().to(worker_records::get));
        }),
        background: vec![feed.listener, finalizer],
    })
}
