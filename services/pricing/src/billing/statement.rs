//! One month's statement of a per-hour policy, composed from insured hours per day.
//!
//! Rounding: every line (day, minimum, maximum, adjustment) is rounded by the tariff's rule
//! to the currency's minor unit; the total is the sum of the rounded lines, so it always
//! adds up. The monthly minimum and maximum premiums are prorated by the share of the
//! month's days the policy covers.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use gigcover_domain::{Currency, Money, Rounding};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    /// The month is open or within its grace period: figures may still change.
    Provisional,
    /// Closed for good; later changes go on the next statement as adjustments.
    Final,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayLine {
    pub day: NaiveDate,
    #[schema(value_type = String)]
    pub insured_hours: Decimal,
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// A day of a finalised statement whose insured hours changed since it was billed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Adjustment {
    pub day: NaiveDate,
    #[schema(value_type = String)]
    pub billed_hours: Decimal,
    #[schema(value_type = String)]
    pub insured_hours: Decimal,
    /// The difference billed now (negative: a credit).
    #[schema(value_type = String)]
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Statement {
    pub policy_id: Uuid,
    pub insurer_id: String,
    pub worker_id: Uuid,
    /// The month's first day (local to the worker's market).
    pub month: NaiveDate,
    pub status: StatementStatus,
    pub currency: Currency,
    pub time_zone: String,
    #[schema(value_type = String)]
    pub hourly_rate: Decimal,
    pub lines: Vec<DayLine>,
    /// What the prorated monthly minimum added, if it applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub minimum_applied: Option<Decimal>,
    /// What the prorated monthly maximum took off (negative), if it applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub maximum_applied: Option<Decimal>,
    pub adjustments: Vec<Adjustment>,
    /// The sum of every rounded line.
    #[schema(value_type = String)]
    pub total: Decimal,
    /// When the statement becomes (or became) final.
    pub finalizes_at: DateTime<Utc>,
}

/// What billing reads of a policy.
#[derive(Debug, Clone)]
pub struct Terms {
    pub policy_id: Uuid,
    pub insurer_id: String,
    pub worker_id: Uuid,
    pub currency: Currency,
    pub hourly_rate: Decimal,
    pub rounding: Rounding,
    pub min_premium: Decimal,
    pub max_premium: Decimal,
}

/// The first day of `day`'s month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the next month.
pub fn next_month(month: NaiveDate) -> NaiveDate {
    month.checked_add_months(Months::new(1)).unwrap_or(month)
}

fn days_in_month(month: NaiveDate) -> i64 {
    (next_month(month) - month).num_days()
}

/// Composes the statement of `month`: a line for each covered day of it (`covered`,
/// inclusive), at `hours` of that day (0 when absent), and an adjustment for each billed
/// day (`billed`: of earlier, finalised statements) whose hours are now different.
pub fn compose(
    terms: &Terms,
    month: NaiveDate,
    covered: (NaiveDate, NaiveDate),
    hours: &BTreeMap<NaiveDate, Decimal>,
    billed: &BTreeMap<NaiveDate, Decimal>,
) -> (Vec<DayLine>, Option<Decimal>, Option<Decimal>, Vec<Adjustment>, Decimal) {
    let round = |amount: Decimal| Money::new(amount, terms.currency).round(terms.rounding).amount();
    let first = covered.0.max(month);
    let last = covered.1.min(next_month(month) - Duration::days(1));
    let mut lines = Vec::new();
    let mut day = first;
    while day <= last {
        let insured_hours = hours.get(&day).copied().unwrap_or_default();
        lines.push(DayLine { day, insured_hours, amount: round(insured_hours * terms.hourly_rate) });
        day += Duration::days(1);
    }
    let subtotal: Decimal = lines.iter().map(|l| l.amount).sum();
    let (mut minimum, mut maximum) = (None, None);
    if !lines.is_empty() {
        let share = Decimal::from(lines.len() as i64) / Decimal::from(days_in_month(month));
        let (low, high) = (round(terms.min_premium * share), round(terms.max_premium * share));
        if subtotal < low {
            minimum = Some(low - subtotal);
        } else if subtotal > high {
            maximum = Some(high - subtotal);
        }
    }
    let adjustments: Vec<Adjustment> = billed
        .iter()
        .filter_map(|(day, billed_hours)| {
            let insured_hours = hours.get(day).copied().unwrap_or_default();
            (insured_hours != *billed_hours).then(|| Adjustment {
                day: *day,
                billed_hours: *billed_hours,
                insured_hours,
                amount: round((insured_hours - *billed_hours) * terms.hourly_rate),
            })
        })
        .collect();
    let total = subtotal
        + minimum.unwrap_or_default()
        + maximum.unwrap_or_default()
        + adjustments.iter().map(|a| a.amount).sum::<Decimal>();
    (lines, minimum, maximum, adjustments, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn terms() -> Terms {
        Terms {
            policy_id: Uuid::nil(),
            insurer_id: "acme".into(),
            worker_id: Uuid::nil(),
            currency: Currency::parse("EUR").unwrap(),
            hourly_rate: dec!(0.494),
            rounding: Rounding::HalfEven,
            min_premium: dec!(3.00),
            max_premium: dec!(150.00),
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn each_covered_day_is_a_rounded_line_and_the_total_is_their_sum() {
        // Covered from 20 to 30 November: 11 days; 5.25 h on the 21st, 8.5 h on the 22nd.
        let hours =
            BTreeMap::from([(d("2026-11-21"), dec!(5.25)), (d("2026-11-22"), dec!(8.5)), (d("2026-12-01"), dec!(9))]);
        let (lines, min, max, adjustments, total) =
            compose(&terms(), d("2026-11-01"), (d("2026-11-20"), d("2026-12-19")), &hours, &BTreeMap::new());
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[0], DayLine { day: d("2026-11-20"), insured_hours: dec!(0), amount: dec!(0) });
        // 5.25 x 0.494 = 2.5935 -> 2.59; 8.5 x 0.494 = 4.199 -> 4.20.
        assert_eq!(lines[1].amount, dec!(2.59));
        assert_eq!(lines[2].amount, dec!(4.20));
        // Prorated minimum 3.00 x 11/30 = 1.10 is below 6.79: not applied.
        assert_eq!((min, max), (None, None));
        assert!(adjustments.is_empty());
        assert_eq!(total, dec!(6.79));
    }

    #[test]
    fn the_prorated_minimum_and_maximum_are_lines() {
        let (_, min, _, _, total) =
            compose(&terms(), d("2026-11-01"), (d("2026-11-16"), d("2026-11-30")), &BTreeMap::new(), &BTreeMap::new());
        // 3.00 x 15/30 = 1.50.
        assert_eq!((min, total), (Some(dec!(1.50)), dec!(1.50)));
        let busy: BTreeMap<NaiveDate, Decimal> =
            (1..=30).map(|n| (d("2026-11-01") + Duration::days(n - 1), dec!(12))).collect();
        let (_, _, max, _, total) =
            compose(&terms(), d("2026-11-01"), (d("2026-11-01"), d("2026-11-30")), &busy, &BTreeMap::new());
        // 30 x 12 h x 0.494 = 30 x 5.93 = 177.90, capped at 150.00.
        assert_eq!((max, total), (Some(dec!(-27.90)), dec!(150.00)));
    }

    #[test]
    fn a_billed_day_whose_hours_changed_is_adjusted_by_the_difference() {
        let billed = BTreeMap::from([(d("2026-10-10"), dec!(2)), (d("2026-10-11"), dec!(3))]);
        let hours = BTreeMap::from([(d("2026-10-10"), dec!(4.5)), (d("2026-10-11"), dec!(3))]);
        let (lines, _, _, adjustments, total) =
            compose(&terms(), d("2026-11-01"), (d("2026-10-01"), d("2026-10-31")), &hours, &billed);
        assert!(lines.is_empty(), "November is not covered");
        // 2.5 h more x 0.494 = 1.235 -> 1.24 (half-even: 1.235 -> 1.24).
        assert_eq!(
            adjustments,
            [Adjustment { day: d("2026-10-10"), billed_hours: dec!(2), insured_hours: dec!(4.5), amount: dec!(1.24) }]
        );
        assert_eq!(total, dec!(1.24));
    }
}
