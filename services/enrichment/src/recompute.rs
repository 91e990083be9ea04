//! From stored intervals to stored worker-days. The figures of a day depend only on the
//! intervals within a day of it (its context), so recomputing a few days after a late
//! event gives exactly what recomputing everything gives.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::engine::calendar::{DayWindow, local_date};
use crate::engine::day::{DayFigures, Share, figures};
use crate::engine::timeline::Timeline;
use crate::engine::{Kind, MS_PER_HOUR, Ms, Piece};
use crate::intervals::{Job, WorkerIntervals, kind};
use crate::store::{self, IntervalTime};

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

/// A worker's intervals around some days, sorted by start, with their platforms and
/// currencies in name order.
pub struct Loaded {
    pub platforms: Vec<String>,
    currencies: Vec<String>,
    pub pieces: Vec<Piece>,
    /// `jobs[i]` belongs to `pieces[i]` (zero where only the times were loaded).
    jobs: Vec<Job>,
    /// The longest interval, so a window's pieces are found by binary search on starts.
    longest: Ms,
    infer_gap: Ms,
    /// The timeline of all of them, which stored day figures come from (built on first use:
    /// reads that evaluate definitions per day never need it).
    whole: std::sync::OnceLock<Timeline>,
}

impl Loaded {
    pub fn new(intervals: WorkerIntervals, infer_gap: Ms) -> Self {
        let WorkerIntervals { platforms, currencies, pieces, jobs } = intervals.sorted();
        let longest = pieces.iter().map(|p| p.end - p.start).max().unwrap_or(0);
        Self { platforms, currencies, pieces, jobs, longest, infer_gap, whole: std::sync::OnceLock::new() }
    }

    /// Only the times (`store::load_times`): enough for timelines, not for `compute_day`,
    /// whose jobs' distance and earnings are then zero.
    pub fn times(times: &[IntervalTime], infer_gap: Ms) -> Self {
        let mut intervals = WorkerIntervals::default();
        for t in times {
            let span = (t.start.timestamp_millis(), t.end.timestamp_millis());
            intervals.push(&t.platform, kind(&t.kind), span, Job::default());
        }
        Self::new(intervals, infer_gap)
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

    /// Loads the times of the worker's intervals that any of the days `first..=last` may
    /// look at: what reads need (insured time, activity at an instant).
    pub async fn around(
        conn: &mut PgConnection,
        worker: Uuid,
        tz: Tz,
        (first, last): (NaiveDate, NaiveDate),
        infer_gap: Ms,
    ) -> sqlx::Result<Self> {
        let (from, to) = context(tz, first, last);
        Ok(Self::times(&store::load_times(conn, worker, from, to).await?, infer_gap))
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

/// The instants the days `first..=last` look at.
pub fn context(tz: Tz, first: NaiveDate, last: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = DayWindow::new(tz, first).start - CONTEXT_MS;
    let to = DayWindow::new(tz, last).end + CONTEXT_MS;
    let at = |ms: Ms| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    (at(from), at(to))
}

/// Everything stored for one worker-day, its names borrowed from the worker's [`Loaded`].
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerDay<'a> {
    pub date: NaiveDate,
    pub figures: DayFigures,
    pub jobs: i32,
    pub distance_km: Decimal,
    /// Per currency, in code order.
    pub earnings: Vec<(&'a str, EarningsSum)>,
    /// Per platform with time on the day, in name order.
    pub platforms: Vec<(&'a str, Share)>,
}

impl WorkerDay<'_> {
    /// The stored `earnings` column: an object by currency code.
    pub fn earnings_json(&self) -> String {
        json_object(&self.earnings)
    }

    /// The stored `platforms` column: an object by platform id.
    pub fn platforms_json(&self) -> String {
        json_object(&self.platforms)
    }
}

/// A JSON object from entries in key order (the text `serde_json` gives a `BTreeMap` of
/// them), the same on both write paths.
fn json_object<V: Serialize>(entries: &[(&str, V)]) -> String {
    struct Entries<'e, V>(&'e [(&'e str, V)]);
    impl<V: Serialize> Serialize for Entries<'_, V> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    // Maps of plain data always serialise.
    serde_json::to_string(&Entries(entries)).unwrap_or_else(|_| "null".to_owned())
}

/// The figures of one day, or `None` for a day without activity. Jobs, distance and
/// earnings count on the local day a job started.
pub fn compute_day(loaded: &Loaded, tz: Tz, date: NaiveDate) -> Option<WorkerDay<'_>> {
    let day = DayWindow::cached(tz, date);
    let figures = figures(loaded.whole(), &day);
    let mut jobs = 0;
    let mut distance_km = Decimal::ZERO;
    // A day's jobs are paid in one currency or a few.
    let mut earnings: Vec<(&str, EarningsSum)> = Vec::new();
    // The jobs that started on the day.
    let first = loaded.pieces.partition_point(|p| p.start < day.start);
    let last = loaded.pieces.partition_point(|p| p.start < day.end).max(first);
    for (_, job) in
        loaded.pieces[first..last].iter().zip(&loaded.jobs[first..last]).filter(|(p, _)| p.kind == Kind::Engagement)
    {
        jobs += 1;
        distance_km += job.distance_km;
        if let Some(currency) = job.currency.map(|c| loaded.currencies[c].as_str()) {
            match earnings.iter_mut().find(|(c, _)| *c == currency) {
                Some((_, sum)) => sum.add(&job.earnings),
                None => earnings.push((currency, job.earnings.clone())),
            }
        }
    }
    if figures.online_ms == 0 && jobs == 0 {
        return None;
    }
    earnings.sort_unstable_by_key(|(c, _)| *c);
    let platforms = loaded
        .platforms
        .iter()
        .zip(&figures.shares)
        .filter(|(_, s)| s.online_ms > 0 || s.engaged_ms > 0)
        .map(|(p, s)| (p.as_str(), *s))
        .collect();
    Some(WorkerDay { date, figures, jobs, distance_km, earnings, platforms })
}

/// Recomputes and stores the given local days of a worker (a day without activity is
/// removed), from `loaded`: every interval of the worker within the days' [`context`].
pub async fn recompute(
    conn: &mut PgConnection,
    worker: Uuid,
    tz: Tz,
    days: &BTreeSet<NaiveDate>,
    loaded: &Loaded,
) -> anyhow::Result<()> {
    let computed: Vec<WorkerDay> = days.iter().filter_map(|&d| compute_day(loaded, tz, d)).collect();
    let dates: Vec<NaiveDate> = days.iter().copied().collect();
    // One statement: the days left without activity go; the others are written where
    // they changed (a late job changes its own day, rarely the neighbours recomputed with
    // it). Whole rows are compared as text, the bytes a full recompute must match: numeric
    // equality ignores scale (3.5 = 3.50).
    sqlx::query(
        "WITH gone AS (DELETE FROM worker_days WHERE worker_id = $1 AND day = ANY($3) AND NOT day = ANY($4))
         INSERT INTO worker_days (worker_id, day, time_zone, online_ms, engaged_ms, multi_app_ms, night_engaged_ms,
                                  weekend_engaged_ms, online_inferred, jobs, distance_km, earnings, platforms)
         SELECT $1, u.day, $2, u.online, u.engaged, u.multi, u.night, u.weekend, u.inferred, u.jobs, u.distance,
                u.earnings, u.platforms
         FROM unnest($4::date[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bool[],
                     $11::int[], $12::numeric[], $13::text[], $14::text[])
              AS u(day, online, engaged, multi, night, weekend, inferred, jobs, distance, earnings, platforms)
         ON CONFLICT (worker_id, day) DO UPDATE SET
             time_zone = EXCLUDED.time_zone, online_ms = EXCLUDED.online_ms, engaged_ms = EXCLUDED.engaged_ms,
             multi_app_ms = EXCLUDED.multi_app_ms, night_engaged_ms = EXCLUDED.night_engaged_ms,
             weekend_engaged_ms = EXCLUDED.weekend_engaged_ms, online_inferred = EXCLUDED.online_inferred,
             jobs = EXCLUDED.jobs, distance_km = EXCLUDED.distance_km, earnings = EXCLUDED.earnings,
             platforms = EXCLUDED.platforms
         WHERE worker_days::text <> EXCLUDED::text",
    )
    .bind(worker)
    .bind(tz.name())
    .bind(&dates)
    .bind(computed.iter().map(|d| d.date).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.online_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.engaged_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.multi_app_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.night_engaged_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.weekend_engaged_ms).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.figures.online_inferred).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.jobs).collect::<Vec<_>>())
    .bind(computed.iter().map(|d| d.distance_km).collect::<Vec<_>>())
    .bind(computed.iter().map(WorkerDay::earnings_json).collect::<Vec<_>>())
    .bind(computed.iter().map(WorkerDay::platforms_json).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every local day a piece touches, with the day before and after (inferred online time
/// and earnings may reach a neighbour), in order.
fn days_touched(tz: Tz, pieces: &[Piece]) -> Vec<NaiveDate> {
    // Pieces come mostly in time order: remember the last day looked up.
    let mut known: Option<DayWindow> = None;
    let mut date_of = |t: Ms| match known {
        Some(d) if d.start <= t && t < d.end => d.date,
        _ => {
            let d = DayWindow::cached(tz, local_date(tz, t));
            known = Some(d);
            d.date
        }
    };
    let mut touched: Vec<(NaiveDate, NaiveDate)> = pieces.iter().map(|p| (date_of(p.start), date_of(p.end))).collect();
    touched.sort_unstable();
    // Each day once: pieces mostly share their days, so only the part of a piece's days
    // past the last one added is new.
    let mut days: Vec<NaiveDate> = Vec::new();
    for (first, last) in touched {
        let mut day = first.pred_opt().unwrap_or(first);
        if let Some(&added) = days.last()
            && day <= added
        {
            day = added.succ_opt().unwrap_or(added);
        }
        let until = last.succ_opt().unwrap_or(last);
        while day <= until && days.last() != Some(&day) {
            days.push(day);
            day = day.succ_opt().unwrap_or(day);
        }
    }
    days
}

/// Every day of one worker's activity, computed from all of its intervals.
pub fn worker_days(loaded: &Loaded, tz: Tz) -> impl Iterator<Item = WorkerDay<'_>> {
    days_touched(tz, &loaded.pieces).into_iter().filter_map(move |date| compute_day(loaded, tz, date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    /// Every day from the day before each piece's first to the day after its last.
    fn days_touched_one_by_one(tz: Tz, pieces: &[Piece]) -> Vec<NaiveDate> {
        let mut days = BTreeSet::new();
        for p in pieces {
            let mut d = local_date(tz, p.start) - Duration::days(1);
            while d <= local_date(tz, p.end) + Duration::days(1) {
                days.insert(d);
                d += Duration::days(1);
            }
        }
        days.into_iter().collect()
    }

    proptest! {
        /// Around the autumn change in Berlin, in any order, with gaps of days between.
        #[test]
        fn each_touched_day_is_found_once_whatever_the_order(
            v in proptest::collection::vec((0i64..40 * 24 * 60, 0i64..30 * 60), 0..40)
        ) {
            let tz: Tz = "Europe/Berlin".parse().unwrap();
            let base = DateTime::parse_from_rfc3339("2026-10-10T00:00:00Z").unwrap().timestamp_millis();
            let pieces: Vec<Piece> = v
                .iter()
                .map(|&(s, l)| Piece {
                    platform: 0,
                    kind: Kind::Engagement,
                    start: base + s * 60_000,
                    end: base + (s + l) * 60_000,
                })
                .collect();
            prop_assert_eq!(days_touched(tz, &pieces), days_touched_one_by_one(tz, &pieces));
        }
    }
}
