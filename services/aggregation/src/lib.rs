//! The aggregation service: gig platforms hand us each worker's activity here, and we keep
//! it in one canonical model, exactly once.
//!
//! - `platforms`: the registry, webhook secrets (sealed), CSV mappings.
//! - `accounts`: platform references of workers, one-time link codes, links.
//! - `adapters`: the formats platforms speak, translated into canonical changes.
//! - `webhooks`, `batches`: the two ways in; both write through `ingest`.
//! - `ingest`: the one write path (versions, retractions, attribution, events).
//! - `query`: a worker's activities, a platform's ingestion status.
//! - `freshness`: each platform's latest activity end, for the freshness SLO.

mod access;
mod accounts;
pub mod adapters;
mod batches;
mod freshness;
pub mod ingest;
mod metrics;
pub mod platforms;
mod query;
mod retention;
pub mod settings;
mod state;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use adapters::csv::EndOrDuration;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::crypto::{CryptoSettings, Sealer};
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub use ingest::events::{ACTIVITY_CHANGED, ActivityChanged};

pub const SPEC: ServiceSpec = ServiceSpec {
    name: ServiceName::Aggregation,
    migrate: |pool| Box::pin(migrate(pool)),
    build: |ctx| Box::pin(build(ctx)),
};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        platforms::routes::register, platforms::routes::get, platforms::routes::list,
        platforms::routes::add_secret, platforms::routes::list_secrets, platforms::routes::revoke_secret,
        platforms::routes::set_mapping,
        accounts::routes::register, accounts::routes::link_code, accounts::routes::redeem,
        accounts::routes::list, accounts::routes::unlink,
        webhooks::routes::receive, batches::routes::upload,
        query::activities::list, query::status::get,
        gigcover_feed::serve::events
    ),
    components(schemas(ActivityChanged)),
    modifiers(&EndOrDuration),
    tags(
        (name = "platforms", description = "The platform registry"),
        (name = "accounts", description = "Platform accounts and links to workers"),
        (name = "ingestion", description = "Activity in: signed webhooks and batches"),
        (name = "activities", description = "Activity out"),
    )
)]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Aggregation.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/aggregation")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let settings: settings::AggregationSettings = ctx.config.section("aggregation")?;
    let crypto: CryptoSettings = ctx.config.section("crypto")?;
    let sealer = Sealer::from_settings(&crypto, ctx.settings.environment.is_production())?;
    let metrics = metrics::IngestMetrics::new();
    let stored = Arc::new(tokio::sync::Notify::new());
    let (inbox, writers) = webhooks::inbox::Inbox::start(
        ctx.pool.clone(),
        settings.committers,
        settings.group_max,
        Arc::clone(&stored),
        ctx.shutdown.clone(),
    );
    let directory = Arc::new(platforms::directory::Directory::new(ctx.pool.clone(), sealer));
    let applier = webhooks::apply::Applier {
        pool: ctx.pool.clone(),
        directory: Arc::clone(&directory),
        metrics: metrics.clone(),
        max_webhooks: settings.apply_max_webhooks,
        max_bytes: settings.apply_max_bytes,
        future_tolerance: chrono::Duration::seconds(settings.future_tolerance_secs),
        linger: Duration::from_millis(settings.apply_linger_ms),
    };
    let late_attribution = accounts::late_attribution::run(
        ctx.pool.clone(),
        Arc::clone(&directory),
        Duration::from_secs(settings.held_sweep_secs.max(1)),
        ctx.shutdown.clone(),
    );
    let freshness = freshness::run(
        ctx.pool.clone(),
        metrics.clone(),
        Duration::from_secs(settings.freshness_refresh_secs.max(1)),
        ctx.shutdown.clone(),
    );
    let state = web::Data::new(state::IngestState {
        pool: ctx.pool.clone(),
        directory,
        inbox,
        metrics,
        settings: settings.clone(),
    });
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let webhook_limit = settings.webhook_limit_bytes;
    let mut background = vec![
        feed.listener,
        Box::pin(retention::run(ctx.pool.clone(), settings, ctx.shutdown.clone())) as _,
        Box::pin(late_attribution),
        Box::pin(freshness),
        Box::pin(applier.run(stored, ctx.shutdown.clone())),
    ];
    background.extend(writers);
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone());
            // Webhooks first: actix tries resources in the order they are registered, each
            // pattern with a parameter by a regex (twice a request: routing, and the route
            // name in `observe`), and the webhook is the request that comes by the thousand.
            webhooks::routes::configure(cfg, webhook_limit);
            server.configure(cfg);
            platforms::routes::configure(cfg);
            accounts::routes::configure(cfg);
            batches::routes::configure(cfg);
            cfg.route("/v1/workers/{id}/activities", web::get().to(query::activities::list))
                .route("/v1/platforms/{id}/ingestion", web::get().to(query::status::get));
        }),
        background,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_says_what_a_mapping_and_a_market_must_hold() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let mapping = &schemas["CsvMapping"]["allOf"];
        let required: Vec<&serde_json::Value> =
            mapping[1]["oneOf"].as_array().unwrap().iter().map(|s| &s["required"][0]).collect();
        assert_eq!(required, ["end", "duration"], "exactly one of end and duration: {mapping}");
        let fields = &mapping[0]["properties"];
        assert_eq!(fields["external_id"]["items"]["pattern"], "\\S", "each column named: {fields}");
        for zone in [&fields["time_zone"], &schemas["Market"]["properties"]["time_zone"]] {
            assert_eq!(zone["$ref"], "#/components/schemas/TimeZone", "one list of zones: {zone}");
        }
        let names = schemas["TimeZone"]["enum"].as_array().unwrap();
        assert_eq!(names.len(), chrono_tz::TZ_VARIANTS.len());
        assert!(names.iter().all(|n| n.as_str().unwrap().parse::<chrono_tz::Tz>().is_ok()));
        assert!(names.contains(&serde_json::json!("America/Los_Angeles")));
    }
}
