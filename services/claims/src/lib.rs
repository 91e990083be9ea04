//! The claims service: file, verify against work history, adjudicate, pay.
//!
//! - `verify`: the automatic checks, the income-loss benefit and the recommendation (pure);
//! - `evidence`: reading the evidence from pricing and enrichment, and verifying a claim;
//! - `lifecycle`: the claim's state machine (pure);
//! - `store`: claims as stored, scoped to who may see them, and their status history;
//! - `filing`: filing (verified at once), reading and listing claims;
//! - `adjudication`: the insurer's decisions and payment reports, the worker's answers;
//! - `attachments` and `objects`: uploads kept in an object store (local folder or S3);
//! - `reverify`: verification again on an attachment or a late activity (`hours.changed`);
//! - `sla`: decision deadlines and `claim.sla_breached`;
//! - `events`: the claim events;
//! - `webhooks`: insurers' webhooks receiving their claim events, signed.

pub mod adjudication;
pub mod attachments;
pub mod events;
pub mod evidence;
pub mod filing;
pub mod lifecycle;
pub mod metrics;
pub mod objects;
pub mod reverify;
pub mod settings;
pub mod sla;
pub mod state;
pub mod store;
pub mod verify;
pub mod webhooks;

use std::sync::Arc;

use actix_web::web;
use gigcover_feed::{Consumer, FeedServer};
use gigcover_kit::ServiceName;
use gigcover_kit::config::Environment;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Claims,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(filing::file, filing::get, filing::list, filing::of_worker, adjudication::act, attachments::upload, attachments::download,
          webhooks::routes::create, webhooks::routes::list, webhooks::routes::delete, webhooks::routes::replay,
          webhooks::routes::attempts, gigcover_feed::serve::events),
    tags((name = "claims", description = "Claims"), (name = "webhooks", description = "Insurers' claim event webhooks"))
)]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Claims.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/claims")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

fn object_store(
    settings: &settings::ClaimsSettings,
    environment: Environment,
) -> anyhow::Result<Arc<dyn objects::ObjectStore>> {
    match &settings.s3 {
        Some(s3) => Ok(Arc::new(objects::S3::new(s3.clone())?)),
        None if environment.is_production() => {
            anyhow::bail!("claims.s3 is required in production: attachments are kept in S3 there")
        }
        None => Ok(Arc::new(objects::LocalFolder { root: settings.attachments_dir.clone() })),
    }
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let settings: settings::ClaimsSettings = ctx.config.section("claims")?;
    let production = ctx.settings.environment.is_production();
    let crypto: gigcover_kit::crypto::CryptoSettings = ctx.config.section("crypto")?;
    let sealer = Arc::new(gigcover_kit::crypto::Sealer::from_settings(&crypto, production)?);
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let state = web::Data::new(state::ClaimsState {
        pricing: ctx.client_for(ServiceName::Pricing),
        enrichment: ctx.client_for(ServiceName::Enrichment),
        objects: object_store(&settings, ctx.settings.environment)?,
        settings: settings.clone(),
        sealer: Arc::clone(&sealer),
        production,
    });
    let deliverer = webhooks::delivery::Deliverer {
        pool: ctx.pool.clone(),
        sealer,
        http: gigcover_kit::client::http_builder().build()?,
        allow_internal: settings.webhooks_allow_internal(production),
    };
    let consumer = Consumer::new(
        ServiceName::Enrichment.as_str(),
        ctx.client_for(ServiceName::Enrichment),
        ctx.pool.clone(),
        reverify::HoursFeed { state: state.clone() },
    )
    .batch(settings.feed_batch);
    let deadlines = sla::run(
        ctx.pool.clone(),
        std::time::Duration::from_secs(settings.sla_check_secs.max(1)),
        ctx.shutdown.clone(),
    );
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone());
            server.configure(cfg);
            cfg.route("/v1/claims", web::post().to(filing::file))
                .route("/v1/claims", web::get().to(filing::list))
                .route("/v1/claims/{id}", web::get().to(filing::get))
                .route("/v1/workers/{id}/claims", web::get().to(filing::of_worker))
                .route("/v1/claims/{id}/actions", web::post().to(adjudication::act))
                .route("/v1/claims/{id}/attachments", web::post().to(attachments::upload))
                .route("/v1/claims/{id}/attachments/{attachment}", web::get().to(attachments::download))
                .route("/v1/webhooks", web::post().to(webhooks::routes::create))
                .route("/v1/webhooks", web::get().to(webhooks::routes::list))
                .route("/v1/webhooks/{id}", web::delete().to(webhooks::routes::delete))
                .route("/v1/webhooks/{id}/replay", web::post().to(webhooks::routes::replay))
                .route("/v1/webhooks/{id}/attempts", web::get().to(webhooks::routes::attempts));
        }),
        background: vec![
            feed.listener,
            Box::pin(consumer.run(ctx.shutdown.clone())),
            Box::pin(deadlines),
            Box::pin(deliverer.run(ctx.shutdown.clone())),
        ],
    })
}
