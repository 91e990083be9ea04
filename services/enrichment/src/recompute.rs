//! From stored intervals to stored worker-days. The figures of a day depend only on the
//! intervals within a day of it (its context), so recomputing a few days after a late
//! event gives exactly what recomputing everything gives.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::engine::calendar::{DayWindow, local_date};
use crate::engine::day::{DayFigures, Share, figures};
use crate::engine::timeline::Timeline;
use crate::engine::{Kind, MS_PER_HOUR, Ms, Piece};
use crate::store::{self, IntervalTime, StoredInterval};

/// How far either side of a day its figures look (for inferred online time and
/// insured-time definitions).
pub const CONTEXT_MS: Ms = 24 * MS_PER_HOUR;

/// Earnings of one currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EarningsSum {
    #[schema(value_type = String)]
    pub pay: Decimal,
    #[schema(value_type = String)]
    pub tips: Decimal,
    #[schema(value_type = String)]
    pub bonus: Decimal,
    #[schema(value_type = String)]
    pub fees: Decimal,
}

impl EarningsSum {
    pub fn add(&mut self, o: &EarningsSum) {
        self.pay += o.pay;
        self.tips += o.tips;
        self.bonus += o.bonus;
        self.fees += o.fees;
    }

    /// Pay, tips and bonus, less fees.
    pub fn net(&self) -> Decimal {
        self.pay + self.tips + self.bonus - self.fees
    }
}

/// What [`Loaded::around`] reads of each interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    Rows,
    Times,
}

/// A worker's intervals around some days, sorted by start, with their platforms indexed in
/// sorted order.
pub struct Loaded {
    pub platforms: Vec<String>,
    /// `pieces[i]` is `rows[i]` (rows are empty where only the times were loaded).
    pub pieces: Vec<Piece>,
    pub rows: Vec<StoredInterval>,
    /// The longest interval, so a window's pieces are found by binary search on starts.
    longest: Ms,
    infer_gap: Ms,
    /// The timeline of all of them, which stored day figures come from (built on first use:
    /// reads that evaluate definitions per day never need it).
    whole: std::sync::OnceLock<Timeline>,
}

impl Loaded {
    pub fn new(mut rows: Vec<StoredInterval>, infer_gap: Ms) -> Self {
        let order = |a: &StoredInterval, b: &StoredInterval| {
            (a.start, &a.platform, &a.external_id).cmp(&(b.start, &b.platform, &b.external_id))
        };
        // The store reads them in this order already.
        if !rows.is_sorted_by(|a, b| order(a, b).is_le()) {
            rows.sort_by(order);
        }
        let (platforms, pieces) =
            pieces_of(rows.iter().map(|r| (r.platform.as_str(), r.kind.as_str(), r.start, r.end)));
        Self::of(platforms, pieces, rows, infer_gap)
    }

    /// Only the times, already in order (`store::load_times`): enough for timelines, not for
    /// `compute_day`, which also needs the rows' jobs and earnings.
    pub fn times(times: &[IntervalTime], infer_gap: Ms) -> Self {
        let (platforms, pieces) =
            pieces_of(times.iter().map(|t| (t.platform.as_str(), t.kind.as_str(), t.start, t.end)));
        Self::of(platforms, pieces, Vec::new(), infer_gap)
    }

    fn of(platforms: Vec<String>, pieces: Vec<Piece>, rows: Vec<StoredInterval>, infer_gap: Ms) -> Self {
        let longest = pieces.iter().map(|p| p.end - p.start).max().unwrap_or(0);
        Self { platforms, pieces, rows, longest, infer_gap, whole: std::sync::OnceLock::new() }
    }

    /// The timeline of every loaded interval.
    pub fn whole(&self) -> &Timeline {
        self.whole.get_or_init(|| Timeline::build(&self.pieces, self.platforms.len(), self.infer_gap))
    }

    /// Indexes of the pieces that may overlap `[from, to)`: all that start in
    /// `[from - longest, to)`.
    fn near(&self, from: Ms, to: Ms) -> std::ops::Range<usize> {
        let lo = self.pieces.partition_point(|p| p.start < from - self.longest);
        let hi = self.pieces.partition_point(|p| p.start < to);
        lo..hi.max(lo)
    }

    /// Loads the worker's intervals that any of the days `first..=last` may look at: the
    /// whole rows (to store days), or only their times (reads: insured time, activity at
    /// an instant).
    pub async fn around(
        conn: &mut PgConnection,
        worker: Uuid,
        tz: Tz,
        (first, last): (NaiveDate, NaiveDate),
        what: Load,
        infer_gap: Ms,
    ) -> sqlx::Result<Self> {
        let (from, to) = context(tz, first, last);
        Ok(match what {
            Load::Rows => Self::new(store::load(conn, worker, from, to).await?, infer_gap),
            Load::Times => Self::times(&store::load_times(conn, worker, from, to).await?, infer_gap),
        })
    }

    /// The timeline of the intervals within a day's context only: what insured-time
    /// definitions (evaluated on read, whose blocks may chain) and `activity-at` look at,
    /// so their answer does not depend on how much else was loaded.
    pub fn timeline(&self, day: &DayWindow, infer_gap: Ms) -> Timeline {
        let (from, to) = (day.start - CONTEXT_MS, day.end + CONTEXT_MS);
        let near: Vec<Piece> = self.pieces[self.near(from, to)].iter().copied().filter(|p| p.end > from).collect();
        Timeline::build(&near, self.platforms.len(), infer_gap)
    }
}

/// The platforms (sorted) and the pieces of intervals given in order.
fn pieces_of<'a>(
    items: impl Iterator<Item = (&'a str, &'a str, DateTime<Utc>, DateTime<Utc>)> + Clone,
) -> (Vec<String>, Vec<Piece>) {
    // A worker works on a few platforms: a short list, searched in order, beats sorting a
    // name per interval.
    let mut names: Vec<&str> = Vec::new();
    for (platform, ..) in items.clone() {
        if !names.contains(&platform) {
            names.push(platform);
        }
    }
    names.sort_unstable();
    let pieces = items
        .map(|(platform, kind, start, end)| Piece {
            platform: names.iter().position(|n| *n == platform).unwrap_or(0),
            kind: if kind == "session" { Kind::Session } else { Kind::Engagement },
            start: start.timestamp_millis(),
            end: end.timestamp_millis(),
        })
        .collect();
    (names.iter().map(|n| (*n).to_owned()).collect(), pieces)
}

/// The instants the days `first..=last` look at.
pub fn context(tz: Tz, first: NaiveDate, last: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = DayWindow::new(tz, first).start - CONTEXT_MS;
    let to = DayWindow::new(tz, last).end + CONTEXT_MS;
    let at = |ms: Ms| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (at(from), at(to))
}

/// Everything stored for one worker-day.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerDay {
    pub date: NaiveDate,
    pub figures: DayFigures,
    pub jobs: i32,
    pub distance_km: Decimal,
    pub earnings: BTreeMap<String, EarningsSum>,
    pub platforms: BTreeMap<String, Share>,
}

/// The figures of one day, or `None` for a day without activity. Jobs, distance and
/// earnings count on the local day a job started.
pub fn compute_day(loaded: &Loaded, tz: Tz, date: NaiveDate) -> Option<WorkerDay> {
    let day = DayWindow::cached(tz, date);
    let figures = figures(loaded.whole(), &day);
    let mut jobs = 0;
    let mut distance_km = Decimal::ZERO;
    let mut earnings: BTreeMap<String, EarningsSum> = BTreeMap::new();
    // The jobs that started on the day.
    let first = loaded.pieces.partition_point(|p| p.start < day.start);
    let last = loaded.pieces.partition_point(|p| p.start < day.end);
    for r in loaded.rows[first..last.max(first)].iter().filter(|r| r.kind == "engagement") {
        jobs += 1;
        distance_km += r.distance_km.unwrap_or_default();
        if let Some(currency) = &r.currency {
            let job = EarningsSum {
                pay: r.pay.unwrap_or_default(),
                tips: r.tips.unwrap_or_default(),
                bonus: r.bonus.unwrap_or_default(),
                fees: r.fees.unwrap_or_default(),
            };
            match earnings.get_mut(currency) {
                Some(sum) => sum.add(&job),
                None => {
                    earnings.insert(currency.clone(), job);
                }
            }
        }
    }
    if figures.online_ms == 0 && jobs == 0 {
        return None;
    }
    let platforms = loaded
        .platforms
        .iter()
        .zip(&figures.shares)
        .filter(|(_, s)| s.online_ms > 0 || s.engaged_ms > 0)
        .map(|(p, s)| (p.clone(), *s))
        .collect();
    Some(WorkerDay { date, figures, jobs, distance_km, earnings, platforms })
}

/// Recomputes and stores the given local days of a worker (a day without activity is
/// removed).
pub async fn recompute(
    conn: &mut PgConnection,
    worker: Uuid,
    tz: Tz,
    days: &BTreeSet<NaiveDate>,
    infer_gap: Ms,
) -> anyhow::Result<()> {
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else { return Ok(()) };
    let loaded = Loaded::around(conn, worker, tz, (first, last), Load::Rows, infer_gap).await?;
    let computed: Vec<WorkerDay> = days.iter().filter_map(|&d| compute_day(&loaded, tz, d)).collect();
    let dates: Vec<NaiveDate> = days.iter().copied().collect();
    sqlx::query("DELETE FROM worker_days WHERE worker_id = $1 AND day = ANY($2)")
        .bind(worker)
        .bind(&dates)
        .execute(&mut *conn)
        .await?;
    if computed.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO worker_days (worker_id, day, time_zone, online_ms, engaged_ms, multi_app_ms, night_engaged_ms,
                                  weekend_engaged_ms, online_inferred, jobs, distance_km, earnings, platforms)
         SELECT $1, u.day, $2, u.online, u.engaged, u.multi, u.night, u.weekend, u.inferred, u.jobs, u.distance,
                u.earnings, u.platforms
         FROM unnest($3::date[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bool[],
                     $10::int[], $11::numeric[], $12::text[]::json[], $13::text[]::json[])
              AS u(day, online, engaged, multi, night, weekend, inferred, jobs, distance, earnings, platforms)",
    )
    .bind(worker)
    .bind(tz.name())
    .bind(computed.iter().map(|d| d.date).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.online_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.engaged_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.multi_app_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.night_engaged_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.weekend_engaged_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.online_inferred).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.jobs).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.distance_km).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| json_text(&d.earnings)).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| json_text(&d.platforms)).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A stored JSON column's text (maps of plain data, which always serialise), the same
/// on both write paths.
pub(crate) fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Every local day an interval touches, with the day before and after (inferred online
/// time and earnings may reach a neighbour).
pub fn days_touched(tz: Tz, rows: &[StoredInterval]) -> BTreeSet<NaiveDate> {
    let mut days = BTreeSet::new();
    // Rows come mostly in time order: remember the last day looked up.
    let mut known: Option<DayWindow> = None;
    let mut date_of = |t: Ms| match known {
        Some(d) if d.start <= t && t < d.end => d.date,
        _ => {
            let d = DayWindow::cached(tz, local_date(tz, t));
            known = Some(d);
            d.date
        }
    };
    let mut touched: Vec<(NaiveDate, NaiveDate)> =
        rows.iter().map(|r| (date_of(r.start.timestamp_millis()), date_of(r.end.timestamp_millis()))).collect();
    touched.sort_unstable();
    // Each day once: rows mostly share their days, so only the part of a row's days past
    // the last one added is new.
    let mut added: Option<NaiveDate> = None;
    for (first, last) in touched {
        let mut d = (first - Duration::days(1)).max(added.map_or(NaiveDate::MIN, |a| a + Duration::days(1)));
        let until = last + Duration::days(1);
        while d <= until {
            days.insert(d);
            added = Some(d);
            d += Duration::days(1);
        }
    }
    days
}

/// Every day of one worker's activity, computed from all of its intervals.
pub fn worker_days(rows: Vec<StoredInterval>, tz: Tz, infer_gap: Ms) -> Vec<WorkerDay> {
    let loaded = Loaded::new(rows, infer_gap);
    days_touched(tz, &loaded.rows).into_iter().filter_map(|date| compute_day(&loaded, tz, date)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(start: Ms, end: Ms) -> StoredInterval {
        let at = |ms: Ms| DateTime::from_timestamp_millis(ms).unwrap();
        StoredInterval {
            platform: "p".into(),
            external_id: format!("{start}-{end}"),
            kind: "engagement".into(),
            start: at(start),
            end: at(end),
            distance_km: None,
            currency: None,
            pay: None,
            tips: None,
            bonus: None,
            fees: None,
            version: 1,
        }
    }

    /// Every day from the day before each interval's first to the day after its last.
    fn days_touched_one_by_one(tz: Tz, rows: &[StoredInterval]) -> BTreeSet<NaiveDate> {
        let mut days = BTreeSet::new();
        for r in rows {
            let mut d = local_date(tz, r.start.timestamp_millis()) - Duration::days(1);
            while d <= local_date(tz, r.end.timestamp_millis()) + Duration::days(1) {
                days.insert(d);
                d += Duration::days(1);
            }
        }
        days
    }

    proptest! {
        /// Around the autumn change in Berlin, in any order, with gaps of days between.
        #[test]
        fn each_touched_day_is_found_once_whatever_the_order(
            v in proptest::collection::vec((0i64..40 * 24 * 60, 0i64..30 * 60), 0..40)
        ) {
            let tz: Tz = "Europe/Berlin".parse().unwrap();
            let base = DateTime::parse_from_rfc3339("2026-10-10T00:00:00Z").unwrap().timestamp_millis();
            let rows: Vec<StoredInterval> =
                v.iter().map(|&(s, l)| row(base + s * 60_000, base + (s + l) * 60_000)).collect();
            prop_assert_eq!(days_touched(tz, &rows), days_touched_one_by_one(tz, &rows));
        }
    }
}
