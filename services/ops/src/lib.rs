//! The ops service: what operations staff look at and act on.
//!
//! - `status`: every service's readiness (`GET /v1/status`);
//! - `slo` and `burn`: SLOs as data, and the multi-window burn-rate rules (pure);
//! - `scrape`: every service's own signals into SLO samples (the embedded data source);
//! - `source`: where an SLO's counts over a window come from (one trait; the embedded
//!   samples, or OpenSearch when configured);
//! - `alerts`: evaluation and the alert lifecycle, deduplicated, with silences;
//! - `notify`: signed notifications to Slack- and PagerDuty-style receivers, retried;
//! - `drills`: failure drills on a chosen service (never in production);
//! - `routes`: SLO status, alerts and silences;
//! - `dashboard`: the ops dashboard page and its data.

pub mod alerts;
pub mod burn;
pub mod dashboard;
pub mod drills;
pub mod notify;
pub mod routes;
pub mod scrape;
pub mod settings;
pub mod slo;
pub mod source;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use gigcover_feed::FeedServer;
use gigcover_kit::ServiceName;
use gigcover_kit::http::{ServiceContext, ServiceRoutes};
use gigcover_kit::service::ServiceSpec;
use utoipa::OpenApi as _;

pub const SPEC: ServiceSpec =
    ServiceSpec { name: ServiceName::Ops, migrate: |pool| Box::pin(migrate(pool)), build: |ctx| Box::pin(build(ctx)) };

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(status::status, routes::slos, routes::alerts, routes::silence, routes::silences, routes::unsilence,
          drills::start, dashboard::page, dashboard::data, gigcover_feed::serve::events),
    tags((name = "status", description = "Service health"), (name = "alerts", description = "SLOs, alerts, silences and drills"),
         (name = "dashboard", description = "The ops dashboard"))
)]
struct ApiDoc;

async fn migrate(pool: sqlx::PgPool) -> anyhow::Result<()> {
    let schema = ServiceName::Ops.schema();
    gigcover_kit::db::migrate(&pool, schema, sqlx::migrate!("../../migrations/ops")).await?;
    gigcover_feed::migrate(&pool, schema).await
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.05, 3600.0))
}

async fn build(ctx: ServiceContext) -> anyhow::Result<ServiceRoutes> {
    let settings: settings::OpsSettings = ctx.config.section("ops")?;
    let slos = Arc::new(match &settings.slos_file {
        Some(path) => slo::parse(&std::fs::read_to_string(path)?)?,
        None => slo::defaults()?,
    });
    let feed = FeedServer::start(ctx.pool.clone(), ctx.name.schema(), ctx.shutdown.clone());
    let server = feed.server;
    let probes = web::Data::new(status::Probes::new(&ctx));
    let clients = || ServiceName::ALL.into_iter().map(|s| (s, ctx.client_for(s))).collect::<Vec<_>>();
    let scraper = web::Data::new(scrape::Scraper {
        pool: ctx.pool.clone(),
        slos: Arc::clone(&slos),
        clients: clients(),
        previous: tokio::sync::Mutex::default(),
    });
    let evaluator = web::Data::new(alerts::Evaluator {
        pool: ctx.pool.clone(),
        source: match &settings.opensearch {
            Some(o) => Arc::new(source::opensearch::OpenSearchSource {
                cluster: gigcover_kit::opensearch::OpenSearch::new(o, Duration::from_secs(10))?,
            }),
            None => Arc::new(source::Embedded { pool: ctx.pool.clone() }),
        },
        slos,
        settings: settings.clone(),
    });
    let notifier = notify::Notifier {
        pool: ctx.pool.clone(),
        receivers: settings.receivers.clone(),
        http: gigcover_kit::client::http_builder().build()?,
    };
    let drills =
        web::Data::new(drills::Drills { clients: clients(), production: ctx.settings.environment.is_production() });
    let evaluating = {
        let evaluator = evaluator.clone();
        let (every, shutdown) = (secs(settings.evaluate_secs), ctx.shutdown.clone());
        async move {
            loop {
                if let Err(e) = evaluator.round(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "evaluating the SLOs failed");
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        }
    };
    let scraping = Box::pin(scrape::run(scraper.clone(), secs(settings.scrape_secs), ctx.shutdown.clone()));
    Ok(ServiceRoutes {
        openapi: ApiDoc::openapi(),
        configure: Arc::new(move |cfg: &mut web::ServiceConfig| {
            server.configure(cfg);
            cfg.app_data(probes.clone())
                .app_data(scraper.clone())
                .app_data(evaluator.clone())
                .app_data(drills.clone())
                .route("/v1/status", web::get().to(status::status))
                .route("/v1/slos", web::get().to(routes::slos))
                .route("/v1/alerts", web::get().to(routes::alerts))
                .route("/v1/silences", web::post().to(routes::silence))
                .route("/v1/silences", web::get().to(routes::silences))
                .route("/v1/silences/{id}", web::delete().to(routes::unsilence))
                .route("/v1/drills", web::post().to(drills::start))
                .route("/dashboard", web::get().to(dashboard::page))
                .route("/v1/dashboard", web::get().to(dashboard::data));
        }),
        background: vec![
            feed.listener,
            scraping,
            Box::pin(evaluating),
            Box::pin(notifier.run(secs(settings.evaluate_secs.min(1.0)), ctx.shutdown.clone())),
        ],
    })
}
