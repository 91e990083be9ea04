//! Reading stored worker-days, summing them into periods, and insured time on demand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::engine::calendar::DayWindow;
use crate::engine::day::{Share, within};
use crate::engine::definitions::DefinitionSpec;
use crate::engine::{MS_PER_HOUR, Ms};
use crate::recompute::{EarningsSum, Loaded};

/// One stored worker-day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DayRow {
    pub day: NaiveDate,
    pub online_ms: i64,
    pub engaged_ms: i64,
    pub multi_app_ms: i64,
    pub night_engaged_ms: i64,
    pub weekend_engaged_ms: i64,
    pub online_inferred: bool,
    pub jobs: i32,
    pub distance_km: Decimal,
    pub earnings: sqlx::types::Json<BTreeMap<String, EarningsSum>>,
    pub platforms: sqlx::types::Json<BTreeMap<String, Share>>,
}

/// The worker's stored days `from..=to`.
pub async fn days(conn: &mut PgConnection, worker: Uuid, from: NaiveDate, to: NaiveDate) -> sqlx::Result<Vec<DayRow>> {
    sqlx::query_as(
        "SELECT day, online_ms, engaged_ms, multi_app_ms, night_engaged_ms, weekend_engaged_ms, online_inferred,
                jobs, distance_km, earnings::json AS earnings, platforms::json AS platforms
         FROM worker_days WHERE worker_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
    )
    .bind(worker)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Insured milliseconds per local day `from..=to` under `spec`, each day from its own
/// context exactly as stored days are computed.
pub async fn insured_by_day(
    conn: &mut PgConnection,
    worker: Uuid,
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
    spec: &DefinitionSpec,
    infer_gap: Ms,
) -> sqlx::Result<BTreeMap<NaiveDate, Ms>> {
    let loaded = Loaded::around(conn, worker, tz, (from, to), infer_gap).await?;
    let mut out = BTreeMap::new();
    let mut d = from;
    while d <= to {
        let day = DayWindow::new(tz, d);
        let insured = within(&spec.insured(&loaded.timeline(&day, infer_gap)), &day);
        if insured > 0 {
            out.insert(d, insured);
        }
        d += Duration::days(1);
    }
    Ok(out)
}

/// Hours from milliseconds, to four decimals, without trailing zeros.
pub fn hours(ms: i64) -> Decimal {
    (Decimal::from(ms) / Decimal::from(MS_PER_HOUR)).round_dp(4).normalize()
}

/// `part / whole` to four decimals (0 when `whole` is 0).
pub fn share(part: i64, whole: i64) -> Decimal {
    if whole == 0 { Decimal::ZERO } else { (Decimal::from(part) / Decimal::from(whole)).round_dp(4).normalize() }
}

/// Earnings of one currency over a period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarningsView {
    pub currency: String,
    #[serde(flatten)]
    pub sum: EarningsSum,
    /// Pay, tips and bonus less fees.
    #[schema(value_type = String)]
    pub net: Decimal,
    /// Net earnings per engaged hour (absent without engaged time).
    #[schema(value_type = Option<String>)]
    pub net_per_engaged_hour: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlatformView {
    pub platform: String,
    /// Online hours attributed to the platform (platforms add up to `online_hours`).
    #[schema(value_type = String)]
    pub online_hours: Decimal,
    /// Engaged hours attributed to the platform (platforms add up to `engaged_hours`).
    #[schema(value_type = String)]
    pub engaged_hours: Decimal,
}

/// What a worker did in a period (a day, a week from Monday, a month).
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub active_days: u32,
    pub online_ms: i64,
    pub engaged_ms: i64,
    pub multi_app_ms: i64,
    pub night_engaged_ms: i64,
    pub weekend_engaged_ms: i64,
    pub online_inferred: bool,
    pub jobs: i64,
    pub distance_km: Decimal,
    pub earnings: BTreeMap<String, EarningsSum>,
    pub platforms: BTreeMap<String, Share>,
    pub insured_ms: i64,
}

impl Totals {
    pub fn add(&mut self, d: &DayRow) {
        self.active_days += 1;
        self.online_ms += d.online_ms;
        self.engaged_ms += d.engaged_ms;
        self.multi_app_ms += d.multi_app_ms;
        self.night_engaged_ms += d.night_engaged_ms;
        self.weekend_engaged_ms += d.weekend_engaged_ms;
        self.online_inferred |= d.online_inferred;
        self.jobs += i64::from(d.jobs);
        self.distance_km += d.distance_km;
        for (c, e) in d.earnings.iter() {
            self.earnings.entry(c.clone()).or_default().add(e);
        }
        for (p, s) in d.platforms.iter() {
            let mine = self.platforms.entry(p.clone()).or_default();
            mine.online_ms += s.online_ms;
            mine.engaged_ms += s.engaged_ms;
        }
    }

    pub fn earnings_view(&self) -> Vec<EarningsView> {
        self.earnings
            .iter()
            .map(|(currency, sum)| EarningsView {
                currency: currency.clone(),
                net: sum.net(),
                net_per_engaged_hour: (self.engaged_ms > 0)
                    .then(|| (sum.net() * Decimal::from(MS_PER_HOUR) / Decimal::from(self.engaged_ms)).round_dp(2)),
                sum: sum.clone(),
            })
            .collect()
    }

    pub fn platform_view(&self) -> Vec<PlatformView> {
        self.platforms
            .iter()
            .map(|(p, s)| PlatformView {
                platform: p.clone(),
                online_hours: hours(s.online_ms),
                engaged_hours: hours(s.engaged_ms),
            })
            .collect()
    }

    pub fn platform_names(&self) -> BTreeSet<&str> {
        self.platforms.keys().map(String::as_str).collect()
    }
}

/// How days are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    /// The first day of the period `d` falls in (weeks start on Monday).
    pub fn period_start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => d,
            Granularity::Week => d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
            Granularity::Month => d.with_day(1).unwrap_or(d),
        }
    }
}
