//! `GET /v1/workers/{id}/profile?as_of=`: rolling 4- and 12-week profiles, the inputs
//! pricing rates a worker on.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, NaiveDate};
use gigcover_kit::ApiResult;
use gigcover_kit::auth::{ConsentScope, ReadsWorker, needs};
use gigcover_kit::http::Query;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{State, parse_zone};
use crate::reading::{self, Totals, hours, share};

/// The definition used when none is asked for.
pub const DEFAULT_DEFINITION: &str = "job-plus-15m";

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProfileQuery {
    /// The last local day the profile covers (default: today in the worker's zone).
    pub as_of: Option<NaiveDate>,
    /// Insured-time definition (`name` or `name@version`), default `job-plus-15m`.
    pub definition: Option<String>,
}

/// Averages over one window.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowProfile {
    pub weeks: u32,
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[schema(value_type = String)]
    pub avg_weekly_online_hours: Decimal,
    #[schema(value_type = String)]
    pub avg_weekly_engaged_hours: Decimal,
    #[schema(value_type = String)]
    pub avg_weekly_insured_hours: Decimal,
    /// Per currency: average weekly and per active day net earnings (empty for an insurer
    /// whose consent does not cover earnings).
    pub earnings: Vec<AverageEarnings>,
    pub active_days: u32,
    pub platforms: u32,
    /// Share of the window's weeks with at least one active day.
    #[schema(value_type = String)]
    pub regularity: Decimal,
    #[schema(value_type = String)]
    pub night_share: Decimal,
    #[schema(value_type = String)]
    pub weekend_share: Decimal,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AverageEarnings {
    pub currency: String,
    #[schema(value_type = String)]
    pub avg_weekly_net: Decimal,
    /// Net earnings per active day.
    #[schema(value_type = String)]
    pub avg_daily_net: Decimal,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub worker_id: uuid::Uuid,
    pub as_of: NaiveDate,
    pub time_zone: String,
    /// `name@version`.
    pub definition: String,
    /// The worker's first day with activity on any platform (tenure).
    pub first_active_day: Option<NaiveDate>,
    pub last_4_weeks: WindowProfile,
    pub last_12_weeks: WindowProfile,
}

/// The first day of the `weeks` weeks ending on `as_of`.
fn window_start(as_of: NaiveDate, weeks: u32) -> NaiveDate {
    as_of - Duration::days(i64::from(weeks) * 7 - 1)
}

/// One window's averages, from the days and insured time already read for the longest one.
fn window(
    days: &[reading::DayRow],
    insured: &std::collections::BTreeMap<NaiveDate, i64>,
    as_of: NaiveDate,
    weeks: u32,
) -> WindowProfile {
    let from = window_start(as_of, weeks);
    let mut totals = Totals::default();
    let mut active_weeks = std::collections::BTreeSet::new();
    for d in days.iter().filter(|d| d.day >= from) {
        totals.add(d);
        active_weeks.insert((d.day - from).num_days() / 7);
    }
    totals.insured_ms = insured.range(from..).map(|(_, ms)| ms).sum();
    let w = Decimal::from(weeks);
    let per_week = |ms: i64| (hours(ms) / w).round_dp(2).normalize();
    WindowProfile {
        weeks,
        from,
        to: as_of,
        avg_weekly_online_hours: per_week(totals.online_ms),
        avg_weekly_engaged_hours: per_week(totals.engaged_ms),
        avg_weekly_insured_hours: per_week(totals.insured_ms),
        earnings: totals
            .earnings
            .iter()
            .map(|(currency, sum)| AverageEarnings {
                currency: currency.clone(),
                avg_weekly_net: (sum.net() / w).round_dp(2),
                avg_daily_net: if totals.active_days == 0 {
                    Decimal::ZERO
                } else {
                    (sum.net() / Decimal::from(totals.active_days)).round_dp(2)
                },
            })
            .collect(),
        active_days: totals.active_days,
        platforms: totals.platform_names().len() as u32,
        regularity: share(active_weeks.len() as i64, i64::from(weeks)),
        night_share: share(totals.night_engaged_ms, totals.engaged_ms),
        weekend_share: share(totals.weekend_engaged_ms, totals.engaged_ms),
    }
}

/// The worker's rolling profile as of a day.
#[utoipa::path(get, path = "/v1/workers/{id}/profile", tag = "hours", security(("bearer" = [])),
    params(("id" = String, Path), ProfileQuery),
    responses((status = 200, body = Profile),
              (status = 400, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    reader: ReadsWorker<needs::Hours>,
    req: HttpRequest,
    state: web::Data<State>,
) -> ApiResult<HttpResponse> {
    let query = Query::<ProfileQuery>::parse(&req)?;
    let worker = reader.worker;
    // One connection for all its reads; the zone and the first active day in one round trip.
    let mut conn = state.pool.acquire().await?;
    let (zone, first_day): (Option<String>, Option<NaiveDate>) = sqlx::query_as(
        "SELECT (SELECT time_zone FROM worker_zones WHERE worker_id = $1), (SELECT min(day) FROM worker_days WHERE worker_id = $1)",
    )
    .bind(worker)
    .fetch_one(&mut *conn)
    .await?;
    let tz = parse_zone(zone)?;
    let as_of = query.as_of.unwrap_or_else(|| chrono::Utc::now().with_timezone(&tz).date_naive());
    let first_active_day = first_day.filter(|d| *d <= as_of);
    let def = state.definitions.resolve(&mut *conn, query.definition.as_deref().unwrap_or(DEFAULT_DEFINITION)).await?;
    // Read once for the longest window; the shorter one is its tail.
    let from = window_start(as_of, 12);
    let days = reading::days(&mut conn, worker, from, as_of).await?;
    let insured =
        reading::insured_by_day(&mut conn, worker, tz, from, as_of, &def.spec, state.settings.infer_gap_ms()).await?;
    drop(conn);
    let mut profile = Profile {
        worker_id: worker,
        as_of,
        time_zone: tz.name().to_owned(),
        definition: format!("{}@{}", def.name, def.version),
        first_active_day,
        last_4_weeks: window(&days, &insured, as_of, 4),
        last_12_weeks: window(&days, &insured, as_of, 12),
    };
    if !reader.may_see(ConsentScope::HoursAndEarnings) {
        profile.last_4_weeks.earnings.clear();
        profile.last_12_weeks.earnings.clear();
    }
    Ok(HttpResponse::Ok().json(profile))
}
