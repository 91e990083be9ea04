//! `GET /v1/workers/{id}/hours`: a worker's hours per day, week or month; and the same per
//! day as a CSV statement (`/hours.csv`).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use gigcover_kit::auth::{ConsentScope, ReadsWorker, needs};
use gigcover_kit::http::Query;
use gigcover_kit::{ApiError, ApiResult};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{State, zone_of};
use crate::reading::{self, EarningsView, Granularity, PlatformView, Totals, hours, share};

/// The longest range one request covers.
const MAX_DAYS: i64 = 400;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoursQuery {
    /// First local day (inclusive), YYYY-MM-DD.
    pub from: NaiveDate,
    /// Last local day (inclusive).
    pub to: NaiveDate,
    /// day (default), week (from Monday) or month.
    pub granularity: Option<Granularity>,
    /// An insured-time definition, `name` or `name@version`: adds insured hours.
    pub definition: Option<String>,
}

/// A period's figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PeriodView {
    /// The period's first day.
    pub start: NaiveDate,
    pub active_days: u32,
    #[schema(value_type = String)]
    pub online_hours: Decimal,
    #[schema(value_type = String)]
    pub engaged_hours: Decimal,
    /// Online on two or more platforms at once (counted once in `online_hours`).
    #[schema(value_type = String)]
    pub multi_app_hours: Decimal,
    /// Share of engaged time between 22:00 and 06:00 local.
    #[schema(value_type = String)]
    pub night_share: Decimal,
    /// Share of engaged time on Saturdays and Sundays.
    #[schema(value_type = String)]
    pub weekend_share: Decimal,
    /// Some online time was inferred from engagements (a platform sent no sessions).
    pub online_inferred: bool,
    pub jobs: i64,
    #[schema(value_type = String)]
    pub distance_km: Decimal,
    pub earnings: Vec<EarningsView>,
    pub platforms: Vec<PlatformView>,
    /// Under the requested definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub insured_hours: Option<Decimal>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HoursView {
    pub worker_id: uuid::Uuid,
    /// The time zone the days are local to.
    pub time_zone: String,
    /// `name@version` of the definition used for insured hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// False for an insurer whose consent covers hours but not earnings (earnings are empty).
    pub earnings_included: bool,
    pub periods: Vec<PeriodView>,
}

fn view(start: NaiveDate, t: &Totals, insured: bool, earnings: bool) -> PeriodView {
    PeriodView {
        start,
        active_days: t.active_days,
        online_hours: hours(t.online_ms),
        engaged_hours: hours(t.engaged_ms),
        multi_app_hours: hours(t.multi_app_ms),
        night_share: share(t.night_engaged_ms, t.engaged_ms),
        weekend_share: share(t.weekend_engaged_ms, t.engaged_ms),
        online_inferred: t.online_inferred,
        jobs: t.jobs,
        distance_km: t.distance_km,
        earnings: if earnings { t.earnings_view() } else { Vec::new() },
        platforms: t.platform_view(),
        insured_hours: insured.then(|| hours(t.insured_ms)),
    }
}

/// The worker's hours in `query`'s range, grouped (earnings only where `earnings`).
pub async fn compute(state: &State, worker: uuid::Uuid, query: &HoursQuery, earnings: bool) -> ApiResult<HoursView> {
    if query.to < query.from {
        return Err(ApiError::bad_request("invalid_query", "to must not be before from"));
    }
    if (query.to - query.from).num_days() >= MAX_DAYS {
        return Err(ApiError::bad_request("invalid_query", format!("a range covers at most {MAX_DAYS} days")));
    }
    let granularity = query.granularity.unwrap_or(Granularity::Day);
    let mut conn = state.pool.acquire().await?;
    let tz = zone_of(&mut conn, worker).await?;
    let definition = match &query.definition {
        Some(d) => Some(state.definitions.resolve(&mut *conn, d).await?),
        None => None,
    };
    let days = reading::days(&mut conn, worker, query.from, query.to).await?;
    let mut periods: BTreeMap<NaiveDate, Totals> = BTreeMap::new();
    for d in &days {
        periods.entry(granularity.period_start(d.day)).or_default().add(d);
    }
    if let Some(def) = &definition {
        let insured = reading::insured_by_day(
            &mut conn,
            worker,
            tz,
            query.from,
            query.to,
            &def.spec,
            state.settings.infer_gap_ms(),
        )
        .await?;
        for (day, ms) in insured {
            periods.entry(granularity.period_start(day)).or_default().insured_ms += ms;
        }
    }
    Ok(HoursView {
        worker_id: worker,
        time_zone: tz.name().to_owned(),
        definition: definition.as_ref().map(|d| format!("{}@{}", d.name, d.version)),
        earnings_included: earnings,
        periods: periods.iter().map(|(start, t)| view(*start, t, definition.is_some(), earnings)).collect(),
    })
}

/// A worker's online, engaged, multi-app and insured hours, night and weekend shares,
/// distance and earnings, per day, week or month (local to the worker's market).
#[utoipa::path(get, path = "/v1/workers/{id}/hours", tag = "hours", security(("bearer" = [])),
    params(("id" = String, Path), HoursQuery),
    responses((status = 200, body = HoursView),
              (status = 400, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 403, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    reader: ReadsWorker<needs::Hours>,
    req: HttpRequest,
    state: web::Data<State>,
) -> ApiResult<HttpResponse> {
    let query = Query::<HoursQuery>::parse(&req)?;
    let earnings = reader.may_see(ConsentScope::HoursAndEarnings);
    Ok(HttpResponse::Ok().json(compute(&state, reader.worker, &query, earnings).await?))
}

/// The worker's hours statement per day as CSV (for the worker's own records).
#[utoipa::path(get, path = "/v1/workers/{id}/hours.csv", tag = "hours", security(("bearer" = [])),
    params(("id" = String, Path), HoursQuery),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 400, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn statement(
    reader: ReadsWorker<needs::HoursAndEarnings>,
    req: HttpRequest,
    state: web::Data<State>,
) -> ApiResult<HttpResponse> {
    let query = Query::<HoursQuery>::parse(&req)?;
    let view = compute(&state, reader.worker, &query, true).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ApiError::from(anyhow::Error::from(e));
    out.write_record([
        "period_start",
        "time_zone",
        "online_hours",
        "engaged_hours",
        "multi_app_hours",
        "night_share",
        "weekend_share",
        "online_inferred",
        "jobs",
        "distance_km",
        "currency",
        "pay",
        "tips",
        "bonus",
        "fees",
        "net",
        "insured_hours",
    ])
    .map_err(csv_err)?;
    for p in &view.periods {
        let base = [
            p.start.to_string(),
            view.time_zone.clone(),
            p.online_hours.to_string(),
            p.engaged_hours.to_string(),
            p.multi_app_hours.to_string(),
            p.night_share.to_string(),
            p.weekend_share.to_string(),
            p.online_inferred.to_string(),
            p.jobs.to_string(),
            p.distance_km.to_string(),
        ];
        let insured = p.insured_hours.map(|h| h.to_string()).unwrap_or_default();
        let money: Vec<[String; 6]> = if p.earnings.is_empty() {
            vec![Default::default()]
        } else {
            p.earnings
                .iter()
                .map(|e| {
                    [
                        e.currency.clone(),
                        e.sum.pay.to_string(),
                        e.sum.tips.to_string(),
                        e.sum.bonus.to_string(),
                        e.sum.fees.to_string(),
                        e.net.to_string(),
                    ]
                })
                .collect()
        };
        for m in money {
            out.write_record(base.iter().chain(m.iter()).chain(std::iter::once(&insured))).map_err(csv_err)?;
        }
    }
    let body = out.into_inner().map_err(|e| ApiError::from(anyhow::anyhow!("{e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", "attachment; filename=\"hours.csv\""))
        .body(body))
}
