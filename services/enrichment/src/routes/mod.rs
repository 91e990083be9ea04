//! The enrichment API.

pub mod activity_at;
pub mod definitions;
pub mod hours;
pub mod profile;
pub mod recompute;

use actix_web::web;
use chrono_tz::Tz;
use gigcover_kit::{ApiError, ApiResult};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::settings::EnrichmentSettings;

/// What every route reads.
pub struct State {
    pub pool: PgPool,
    pub settings: EnrichmentSettings,
    pub definitions: crate::definitions::Resolved,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/workers/{id}/hours", web::get().to(hours::get))
        .route("/v1/workers/{id}/hours.csv", web::get().to(hours::statement))
        .route("/v1/workers/{id}/profile", web::get().to(profile::get))
        .route("/v1/workers/{id}/activity-at", web::get().to(activity_at::get))
        .route("/v1/insured-time-definitions", web::get().to(definitions::list))
        .route("/v1/insured-time-definitions", web::post().to(definitions::add))
        .route("/v1/recompute", web::post().to(recompute::all));
}

/// The worker's market time zone (UTC for a worker we have no activity of).
pub async fn zone_of(conn: &mut PgConnection, worker: Uuid) -> ApiResult<Tz> {
    parse_zone(crate::store::zone(conn, worker).await?)
}

/// A stored zone (UTC for a worker enrichment has not seen yet).
pub fn parse_zone(zone: Option<String>) -> ApiResult<Tz> {
    match zone {
        None => Ok(Tz::UTC),
        Some(z) => z.parse().map_err(|_| ApiError::from(anyhow::anyhow!("stored time zone {z} is unknown"))),
    }
}
