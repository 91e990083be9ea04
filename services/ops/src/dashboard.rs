//! The ops dashboard: a static page (`GET /dashboard`, no data in it, so it needs no
//! token) whose script reads `GET /v1/dashboard` with the ops token the person gives it
//! (kept in the tab's session storage, never in a URL sent to a server) and redraws every
//! few seconds: service health and RED, the service map, SLOs with their error budget
//! and burn rates, enrichment's backlog, claims decided within SLA, and the alerts.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use futures::future::join_all;
use gigcover_kit::ApiResult;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::client::ClientError;
use serde::Serialize;
use sqlx::PgPool;

use crate::alerts::Evaluator;
use crate::routes::{Alert, SloStatus, recent_alerts, statuses};
use crate::scrape::Scraper;
use crate::status::Probes;

const PAGE: &str = include_str!("dashboard.html");

/// The dashboard page (its data comes from `/v1/dashboard`).
#[utoipa::path(get, path = "/dashboard", tag = "dashboard", responses((status = 200, content_type = "text/html", description = "the page")))]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "content-security-policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
        ))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("referrer-policy", "no-referrer"))
        .body(PAGE)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceView {
    pub name: String,
    /// `ready`, `not_ready` or `unreachable`.
    pub status: String,
    /// Over the last (scaled) 5 minutes.
    pub requests_per_sec: f64,
    pub error_rate: f64,
    /// Requests per second over the last (scaled) hour, in 30 buckets, oldest first.
    pub history: Vec<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub generated_at: DateTime<Utc>,
    pub time_scale: f64,
    pub services: Vec<ServiceView>,
    /// Who calls whom (the service map).
    pub edges: Vec<(String, String)>,
    pub slos: Vec<SloStatus>,
    pub alerts: Vec<Alert>,
    /// Events enrichment is behind aggregation's feed (absent before it reported).
    pub enrichment_backlog: Option<f64>,
    /// Claims decided, and decided within their SLA, since claims started.
    pub claims_decided: Option<f64>,
    pub claims_decided_within_sla: Option<f64>,
}

const EDGES: [(&str, &str); 9] = [
    ("aggregation", "enrichment"),
    ("enrichment", "aggregation"),
    ("pricing", "enrichment"),
    ("claims", "pricing"),
    ("claims", "enrichment"),
    ("pricing", "identity"),
    ("enrichment", "identity"),
    ("claims", "identity"),
    ("ops", "identity"),
];

async fn history(pool: &PgPool, slo: &str, window: Duration, now: DateTime<Utc>) -> ApiResult<Vec<f64>> {
    let bucket = window / 30;
    let from = now - chrono::Duration::from_std(window).map_err(anyhow::Error::from)?;
    let rows: Vec<(i32, i64)> = sqlx::query_as(
        "SELECT LEAST(29, floor(extract(epoch FROM (at - $2)) / $3)::int) AS b, sum(total)::bigint FROM slo_samples
         WHERE slo = $1 AND at > $2 AND at <= $4 GROUP BY b",
    )
    .bind(slo)
    .bind(from)
    .bind(bucket.as_secs_f64())
    .bind(now)
    .fetch_all(pool)
    .await?;
    let mut out = vec![0.0; 30];
    for (b, total) in rows {
        if let Some(slot) = usize::try_from(b).ok().and_then(|b| out.get_mut(b)) {
            *slot = total as f64 / bucket.as_secs_f64();
        }
    }
    Ok(out)
}

/// Everything the dashboard shows, now.
#[utoipa::path(get, path = "/v1/dashboard", tag = "dashboard", security(("bearer" = [])), responses((status = 200, body = Dashboard)))]
pub async fn data(
    _ops: Authorized<roles::Ops>,
    evaluator: web::Data<Evaluator>,
    probes: web::Data<Probes>,
    scraper: web::Data<Scraper>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let now = Utc::now();
    let scale = evaluator.settings.time_scale.max(1e-6);
    let short = Duration::from_secs(300).mul_f64(scale);
    let hour = Duration::from_secs(3600).mul_f64(scale);
    let readiness = join_all(probes.clients().iter().map(|(name, client)| async move {
        let status = match client.get_json::<serde_json::Value>("/readyz").await {
            Ok(_) => "ready",
            Err(ClientError::Status { .. }) => "not_ready",
            Err(_) => "unreachable",
        };
        (*name, status)
    }))
    .await;
    let mut services = Vec::new();
    for (name, status) in readiness {
        let slo = evaluator
            .slos
            .iter()
            .find(|s| s.service == name.as_str() && s.indicator == crate::slo::Indicator::Availability);
        let (requests_per_sec, error_rate, history) = match slo {
            Some(slo) => {
                let c = evaluator.source.counts(slo, short, now).await?;
                let rate = c.total as f64 / short.as_secs_f64();
                let errors = if c.total == 0 { 0.0 } else { 1.0 - c.good as f64 / c.total as f64 };
                (rate, errors, history(&pool, &slo.name, hour, now).await?)
            }
            None => (0.0, 0.0, vec![0.0; 30]),
        };
        services.push(ServiceView {
            name: name.as_str().to_owned(),
            status: status.to_owned(),
            requests_per_sec,
            error_rate,
            history,
        });
    }
    let latest = scraper.previous.lock().await;
    let gauge =
        |service: gigcover_kit::ServiceName, name: &str| latest.get(&service).and_then(|s| s.gauges.get(name).copied());
    let body = Dashboard {
        generated_at: now,
        time_scale: scale,
        services,
        edges: EDGES.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect(),
        slos: statuses(&evaluator).await?,
        alerts: recent_alerts(&pool).await?,
        enrichment_backlog: gauge(gigcover_kit::ServiceName::Enrichment, "feed.lag.aggregation"),
        claims_decided: gauge(gigcover_kit::ServiceName::Claims, "claims.decided"),
        claims_decided_within_sla: gauge(gigcover_kit::ServiceName::Claims, "claims.decided_within_sla"),
    };
    drop(latest);
    Ok(HttpResponse::Ok().json(body))
}
