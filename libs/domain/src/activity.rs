//! The canonical activity: what every platform adapter translates its records into.
//!
//! A *session* is availability (logged in, waiting for work: online time); an
//! *engagement* is work (a trip, a delivery, a task: engaged time). The worker is
//! named by the platform's own reference; aggregation resolves it to a gigcover
//! `WorkerId` once the worker has linked that platform account.

use chrono::Duration;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::ids::{ExternalRef, PlatformId};
use crate::interval::Interval;
use crate::money::{Money, MoneyError};

/// Longest single activity we believe: a platform sending more is sending garbage.
pub const MAX_ACTIVITY_DURATION: Duration = Duration::hours(24);
/// Longest single distance we believe, in kilometres.
pub const MAX_DISTANCE_KM: Decimal = Decimal::from_parts(2000, 0, 0, false, 0);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Logged in and available: online time.
    Session,
    /// On a job (trip, delivery, task): engaged time.
    Engagement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    Completed,
    /// Accepted, then cancelled: the time was worked, the job was not finished.
    Cancelled,
}

/// A distance in kilometres, between 0 and `MAX_DISTANCE_KM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "Decimal", into = "Decimal")]
#[schema(value_type = String, example = "4.2")]
pub struct Distance(Decimal);

impl Distance {
    pub fn from_km(km: Decimal) -> Result<Self, String> {
        if km.is_sign_negative() && !km.is_zero() {
            Err("distance must not be negative".into())
        } else if km > MAX_DISTANCE_KM {
            Err(format!("distance must be at most {MAX_DISTANCE_KM} km"))
        } else {
            Ok(Self(km.normalize()))
        }
    }

    pub fn km(&self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Distance {
    type Error = String;
    fn try_from(km: Decimal) -> Result<Self, Self::Error> {
        Self::from_km(km)
    }
}

impl From<Distance> for Decimal {
    fn from(d: Distance) -> Decimal {
        d.0
    }
}

/// What the worker earned for one activity, all in one currency, each part non-negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RawEarnings")]
pub struct Earnings {
    pay: Money,
    tips: Money,
    bonus: Money,
    fees: Money,
}

#[derive(Deserialize)]
struct RawEarnings {
    pay: Money,
    tips: Money,
    bonus: Money,
    fees: Money,
}

impl TryFrom<RawEarnings> for Earnings {
    type Error = String;
    fn try_from(r: RawEarnings) -> Result<Self, Self::Error> {
        Earnings::new(r.pay, r.tips, r.bonus, r.fees)
    }
}

impl Earnings {
    pub fn new(pay: Money, tips: Money, bonus: Money, fees: Money) -> Result<Self, String> {
        let currency = pay.currency();
        for (name, part) in [("pay", pay), ("tips", tips), ("bonus", bonus), ("fees", fees)] {
            if part.currency() != currency {
                return Err(format!("{name} is in {}, pay in {currency}: one currency per activity", part.currency()));
            }
            if part.is_negative() {
                return Err(format!("{name} must not be negative"));
            }
        }
        Ok(Self { pay, tips, bonus, fees })
    }

    /// Earnings of zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        let z = Money::zero(currency);
        Self { pay: z, tips: z, bonus: z, fees: z }
    }

    pub fn currency(&self) -> Currency {
        self.pay.currency()
    }
    pub fn pay(&self) -> Money {
        self.pay
    }
    pub fn tips(&self) -> Money {
        self.tips
    }
    pub fn bonus(&self) -> Money {
        self.bonus
    }
    pub fn fees(&self) -> Money {
        self.fees
    }

    /// Pay + tips + bonus - fees: what reached the worker.
    pub fn net(&self) -> Result<Money, MoneyError> {
        self.pay.checked_add(&self.tips)?.checked_add(&self.bonus)?.checked_sub(&self.fees)
    }

    /// Adds another activity's earnings part by part.
    pub fn checked_add(&self, other: &Earnings) -> Result<Earnings, MoneyError> {
        Ok(Earnings {
            pay: self.pay.checked_add(&other.pay)?,
            tips: self.tips.checked_add(&other.tips)?,
            bonus: self.bonus.checked_add(&other.bonus)?,
            fees: self.fees.checked_add(&other.fees)?,
        })
    }
}

/// One thing a worker did on one platform, identified by (platform, external id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    pub platform: PlatformId,
    pub external_id: ExternalRef,
    /// The platform's reference for the worker (a platform account).
    pub worker_ref: ExternalRef,
    pub kind: ActivityKind,
    pub interval: Interval,
    pub status: ActivityStatus,
    pub distance: Option<Distance>,
    pub earnings: Option<Earnings>,
}

/// One problem with one field of a submitted record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Every problem found in a draft, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid activity: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
pub struct ActivityError(pub Vec<FieldProblem>);

/// What an adapter has gathered before validation; every field may still be missing.
#[derive(Debug, Clone, Default)]
pub struct ActivityDraft {
    pub platform: Option<PlatformId>,
    pub external_id: Option<String>,
    pub worker_ref: Option<String>,
    pub kind: Option<ActivityKind>,
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    pub status: Option<ActivityStatus>,
    pub distance_km: Option<Decimal>,
    pub earnings: Option<Result<Earnings, String>>,
}

impl TryFrom<ActivityDraft> for Activity {
    type Error = ActivityError;

    fn try_from(d: ActivityDraft) -> Result<Self, Self::Error> {
        let mut problems = Vec::new();
        let mut missing = |field: &str| problems.push(FieldProblem::new(field, "is required"));
        let platform = d.platform.or_else(|| {
            missing("platform");
            None
        });
        let kind = d.kind.or_else(|| {
            missing("kind");
            None
        });
        let start = d.start.or_else(|| {
            missing("start");
            None
        });
        let end = d.end.or_else(|| {
            missing("end");
            None
        });
        let external_id = match d.external_id.as_deref().map(ExternalRef::parse) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                problems.push(FieldProblem::new("external_id", e.to_string()));
                None
            }
            None => {
                problems.push(FieldProblem::new("external_id", "is required"));
                None
            }
        };
        let worker_ref = match d.worker_ref.as_deref().map(ExternalRef::parse) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                problems.push(FieldProblem::new("worker_ref", e.to_string()));
                None
            }
            None => {
                problems.push(FieldProblem::new("worker_ref", "is required"));
                None
            }
        };
        let interval = match (start, end) {
            (Some(s), Some(e)) => match Interval::new(s, e) {
                Ok(i) if i.duration() > MAX_ACTIVITY_DURATION => {
                    problems.push(FieldProblem::new("end", "an activity may last at most 24 hours"));
                    None
                }
                Ok(i) => Some(i),
                Err(err) => {
                    problems.push(FieldProblem::new("end", err.to_string()));
                    None
                }
            },
            _ => None,
        };
        let distance = match d.distance_km.map(Distance::from_km) {
            Some(Ok(dist)) => Some(dist),
            Some(Err(e)) => {
                problems.push(FieldProblem::new("distance", e));
                None
            }
            None => None,
        };
        let earnings = match d.earnings {
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                problems.push(FieldProblem::new("earnings", e));
                None
            }
            None => None,
        };
        match (platform, external_id, worker_ref, kind, interval) {
            (Some(platform), Some(external_id), Some(worker_ref), Some(kind), Some(interval))
                if problems.is_empty() =>
            {
                Ok(Activity {
                    platform,
                    external_id,
                    worker_ref,
                    kind,
                    interval,
                    status: d.status.unwrap_or(ActivityStatus::Completed),
                    distance,
                    earnings,
                })
            }
            _ => Err(ActivityError(problems)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use rust_decimal_macros::dec;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn eur(s: &str) -> Money {
        Money::parse(s, "EUR").unwrap()
    }

    fn draft() -> ActivityDraft {
        ActivityDraft {
            platform: Some(PlatformId::parse("rides-de").unwrap()),
            external_id: Some("trip-1".into()),
            worker_ref: Some("driver-9".into()),
            kind: Some(ActivityKind::Engagement),
            start: Some(t("2026-03-01T10:00:00Z")),
            end: Some(t("2026-03-01T10:30:00Z")),
            status: None,
            distance_km: Some(dec!(7.5)),
            earnings: Some(Earnings::new(eur("12.00"), eur("2.00"), eur("0"), eur("3.00"))),
        }
    }

    #[test]
    fn a_complete_draft_becomes_an_activity() {
        let a = Activity::try_from(draft()).unwrap();
        assert_eq!(a.status, ActivityStatus::Completed);
        assert_eq!(a.interval.duration(), Duration::minutes(30));
        assert_eq!(a.earnings.unwrap().net().unwrap(), eur("11.00"));
    }

    #[test]
    fn every_problem_of_a_draft_is_reported_at_once() {
        let bad = ActivityDraft {
            external_id: None,
            end: Some(t("2026-03-01T09:00:00Z")),
            distance_km: Some(dec!(-1)),
            ..draft()
        };
        let err = Activity::try_from(bad).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["external_id", "end", "distance"]);
    }

    #[test]
    fn an_activity_longer_than_a_day_is_refused() {
        let bad = ActivityDraft { end: Some(t("2026-03-02T10:00:01Z")), ..draft() };
        let err = Activity::try_from(bad).unwrap_err();
        assert_eq!(err.0[0].message, "an activity may last at most 24 hours");
    }

    #[test]
    fn earnings_refuse_negative_parts_and_mixed_currencies() {
        assert!(Earnings::new(eur("1"), eur("-0.01"), eur("0"), eur("0")).is_err());
        let usd = Money::parse("1", "USD").unwrap();
        let err = Earnings::new(eur("1"), usd, eur("0"), eur("0")).unwrap_err();
        assert!(err.contains("one currency"), "{err}");
    }

    #[test]
    fn distances_are_bounded() {
        assert!(Distance::from_km(dec!(0)).is_ok());
        assert!(Distance::from_km(dec!(2000.1)).is_err());
        assert!(serde_json::from_str::<Distance>("\"-3\"").is_err());
    }
}
