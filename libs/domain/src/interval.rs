//! Half-open intervals of UTC instants, `[start, end)`, and their split into local days.
//!
//! A day is the span between two local midnights of a time zone, so it lasts 23, 24
//! or 25 hours around daylight-saving changes (and a zone whose clocks skip midnight
//! starts the day at the first instant that exists).

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    #[error("end ({end}) must be after start ({start})")]
    EndNotAfterStart { start: DateTime<Utc>, end: DateTime<Utc> },
}

/// `[start, end)` with `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RawInterval")]
pub struct Interval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawInterval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<RawInterval> for Interval {
    type Error = IntervalError;
    fn try_from(raw: RawInterval) -> Result<Self, Self::Error> {
        Interval::new(raw.start, raw.end)
    }
}

/// The part of an interval that falls on one local calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDayPiece {
    pub date: NaiveDate,
    pub interval: Interval,
}

impl Interval {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, IntervalError> {
        if end > start { Ok(Self { start, end }) } else { Err(IntervalError::EndNotAfterStart { start, end }) }
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// True when the two share some instant (touching intervals do not overlap).
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn intersection(&self, other: &Interval) -> Option<Interval> {
        Interval::new(self.start.max(other.start), self.end.min(other.end)).ok()
    }

    /// The interval cut at each local midnight of `tz`, in order; the pieces are
    /// contiguous and their durations add up to this interval's duration.
    pub fn split_at_local_midnight(&self, tz: Tz) -> Vec<LocalDayPiece> {
        let mut pieces = Vec::with_capacity(2);
        let mut cursor = self.start;
        while cursor < self.end {
            let date = cursor.with_timezone(&tz).date_naive();
            let next_day_start = local_day_start(tz, next_date(date));
            let piece_end = next_day_start.min(self.end);
            pieces.push(LocalDayPiece { date, interval: Interval { start: cursor, end: piece_end } });
            cursor = piece_end;
        }
        pieces
    }
}

fn next_date(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(NaiveDate::MAX)
}

/// The first instant of local calendar day `date` in `tz`: local midnight, or where
/// midnight falls in a daylight-saving gap, the first local time after the gap.
pub fn local_day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date, NaiveTime::MIN)
}

/// The instant local wall time `time` of `date` happens in `tz`: the earlier one where the
/// clock passes it twice, the first time after the gap where it never shows it.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let midnight = date.and_time(time);
    // A gap is at most a day long (Samoa skipped 2011-12-30 entirely); step by minutes.
    for minutes in 0..=(26 * 60) {
        let local = midnight + Duration::minutes(minutes);
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    // Unreachable for real zones; fall back to midnight at the zone's offset of that day.
    Utc.from_utc_datetime(&midnight)
}

/// Monday-based ISO weekday check for a local date: Saturday and Sunday.
pub fn is_weekend(date: NaiveDate) -> bool {
    date.weekday().number_from_monday() >= 6
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn iv(a: &str, b: &str) -> Interval {
        Interval::new(t(a), t(b)).unwrap()
    }

    #[test]
    fn an_interval_must_end_after_it_starts() {
        assert!(Interval::new(t("2026-01-01T10:00:00Z"), t("2026-01-01T10:00:00Z")).is_err());
        assert!(Interval::new(t("2026-01-01T10:00:00Z"), t("2026-01-01T09:00:00Z")).is_err());
        let bad = r#"{"start":"2026-01-01T10:00:00Z","end":"2026-01-01T09:00:00Z"}"#;
        assert!(serde_json::from_str::<Interval>(bad).is_err());
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        let a = iv("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z");
        let b = iv("2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z");
        assert!(!a.overlaps(&b));
        assert_eq!(a.intersection(&b), None);
    }

    #[test]
    fn a_night_shift_splits_at_local_midnight() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 22:00 to 02:00 Berlin time in winter (UTC+1).
        let pieces = iv("2026-01-15T21:00:00Z", "2026-01-16T01:00:00Z").split_at_local_midnight(berlin);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].date, NaiveDate::from_ymd_opt(2026, 1, 15).unwrap());
        assert_eq!(pieces[0].interval.duration(), Duration::hours(2));
        assert_eq!(pieces[1].date, NaiveDate::from_ymd_opt(2026, 1, 16).unwrap());
        assert_eq!(pieces[1].interval.duration(), Duration::hours(2));
    }

    #[test]
    fn days_around_daylight_saving_changes_last_23_and_25_hours() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let day = |y, m, d| {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            local_day_start(berlin, next_date(date)) - local_day_start(berlin, date)
        };
        assert_eq!(day(2026, 3, 29), Duration::hours(23));
        assert_eq!(day(2026, 10, 25), Duration::hours(25));
        assert_eq!(day(2026, 7, 1), Duration::hours(24));
    }

    #[test]
    fn where_midnight_does_not_exist_the_day_starts_after_the_gap() {
        // Chile moves clocks from 24:00 to 01:00 on the first Saturday night of September.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = local_day_start(santiago, date);
        assert_eq!(start.with_timezone(&santiago).time(), NaiveTime::from_hms_opt(1, 0, 0).unwrap());
        assert_eq!(local_day_start(santiago, next_date(date)) - start, Duration::hours(23));
    }

    #[test]
    fn a_whole_day_over_a_dst_change_is_one_piece() {
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let whole = Interval::new(local_day_start(la, date), local_day_start(la, next_date(date))).unwrap();
        let pieces = whole.split_at_local_midnight(la);
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].date, date);
        assert_eq!(pieces[0].interval.duration(), Duration::hours(25));
    }

    #[test]
    fn weekends_are_saturday_and_sunday() {
        assert!(is_weekend(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()));
        assert!(is_weekend(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()));
        assert!(!is_weekend(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()));
    }

    const ZONES: &[&str] =
        &["UTC", "Europe/Berlin", "America/Los_Angeles", "America/Santiago", "Asia/Kolkata", "Australia/Lord_Howe"];

    proptest! {
        #[test]
        fn splitting_preserves_the_total_and_keeps_pieces_contiguous_and_within_their_day(
            start in 1_700_000_000i64..1_900_000_000,
            len in 1i64..(5 * 86_400),
            zone in 0usize..6,
        ) {
            let tz: Tz = ZONES[zone].parse().unwrap();
            let whole = Interval::new(
                DateTime::from_timestamp(start, 0).unwrap(),
                DateTime::from_timestamp(start + len, 0).unwrap(),
            ).unwrap();
            let pieces = whole.split_at_local_midnight(tz);
            let total: Duration = pieces.iter().map(|p| p.interval.duration()).sum();
            prop_assert_eq!(total, whole.duration());
            prop_assert_eq!(pieces[0].interval.start(), whole.start());
            prop_assert_eq!(pieces.last().unwrap().interval.end(), whole.end());
            for pair in pieces.windows(2) {
                prop_assert_eq!(pair[0].interval.end(), pair[1].interval.start());
                prop_assert!(pair[0].date < pair[1].date);
            }
            for p in &pieces {
                prop_assert_eq!(p.interval.start().with_timezone(&tz).date_naive(), p.date);
                prop_assert!(p.interval.end() <= local_day_start(tz, next_date(p.date)));
            }
        }
    }
}
