//! Local days of a worker's market time zone, as windows of UTC milliseconds.

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use gigcover_domain::{is_weekend, local_day_start, local_instant};

use super::{Ms, Span};

/// One local calendar day: `[start, end)` from local midnight to the next (23 or 25 hours
/// long on a daylight-saving change), and its night hours (00:00-06:00 and 22:00-24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWindow {
    pub date: NaiveDate,
    pub start: Ms,
    pub end: Ms,
    pub nights: [Span; 2],
    pub weekend: bool,
}

impl DayWindow {
    pub fn new(tz: Tz, date: NaiveDate) -> Self {
        let next = date + Duration::days(1);
        let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
        let start = ms(local_day_start(tz, date));
        let end = ms(local_day_start(tz, next));
        let six = ms(local_instant(tz, date, NaiveTime::from_hms_opt(6, 0, 0).unwrap_or(NaiveTime::MIN)));
        let ten = ms(local_instant(tz, date, NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(NaiveTime::MIN)));
        Self { date, start, end, nights: [(start, six.min(end)), (ten.max(start), end)], weekend: is_weekend(date) }
    }

    /// [`DayWindow::new`], remembered per thread (time-zone arithmetic is the costly part of
    /// a day, and every worker of a market shares the same days).
    pub fn cached(tz: Tz, date: NaiveDate) -> Self {
        // A fast, fixed hash: the keys are (zone, date) pairs of a bounded range, and the
        // cache is cleared past 100,000 of them.
        type Days = std::collections::HashMap<(Tz, NaiveDate), DayWindow, foldhash::fast::FixedState>;
        thread_local! {
            static DAYS: std::cell::RefCell<Days> = std::cell::RefCell::new(Days::default());
        }
        DAYS.with(|days| {
            let mut days = days.borrow_mut();
            if days.len() > 100_000 {
                days.clear();
            }
            *days.entry((tz, date)).or_insert_with(|| DayWindow::new(tz, date))
        })
    }

    pub fn span(&self) -> Span {
        (self.start, self.end)
    }
}

/// The local date of instant `t` (milliseconds) in `tz`.
pub fn local_date(tz: Tz, t: Ms) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(t).unwrap_or_default().with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spring_forward_day_has_23_hours_and_nights_in_local_time() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let d = DayWindow::new(tz, NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        assert_eq!(d.end - d.start, 23 * 3_600_000);
        // 00:00-06:00 local is five real hours that night (02:00-03:00 does not exist).
        assert_eq!(d.nights[0].1 - d.nights[0].0, 5 * 3_600_000);
        assert_eq!(d.nights[1].1 - d.nights[1].0, 2 * 3_600_000);
        assert!(d.weekend);
        let fall = DayWindow::new(tz, NaiveDate::from_ymd_opt(2026, 10, 25).unwrap());
        assert_eq!(fall.end - fall.start, 25 * 3_600_000);
    }
}
