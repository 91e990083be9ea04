//! Automatic verification: a recommendation with reason codes, never a decision. Each
//! check reads the evidence we hold: the policy (pricing), the worker's activity at the
//! incident (enrichment's `activity-at`, under the policy's insured-time definition), and
//! for income loss their hours, jobs and earnings before and during the incapacity.

use chrono::{DateTime, NaiveDate, Utc};
use gigcover_domain::{BenefitTerms, Currency, Money, Rounding};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the claim says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimType {
    Accident,
    IncomeLoss,
    Equipment,
}

impl ClaimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimType::Accident => "accident",
            ClaimType::IncomeLoss => "income_loss",
            ClaimType::Equipment => "equipment",
        }
    }

    /// The product kind that covers it.
    pub fn covered_by(self) -> &'static str {
        match self {
            ClaimType::Accident => "accident",
            ClaimType::IncomeLoss => "income_protection",
            ClaimType::Equipment => "equipment",
        }
    }
}

/// One finding of the verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// e.g. `policy_active`, `policy_not_active`, `insured_at_incident`, `not_insured_at_incident`.
    pub code: String,
    /// Whether the finding supports the claim.
    pub supports: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Approve,
    Refer,
    Reject,
}

impl Recommendation {
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Approve => "approve",
            Recommendation::Refer => "refer",
            Recommendation::Reject => "reject",
        }
    }
}

fn reason(code: &str, supports: bool, detail: impl Into<String>) -> Reason {
    Reason { code: code.into(), supports, detail: detail.into() }
}

/// The evidence about the policy at `at`: active, and covering the claim type.
pub fn policy_checks(policy: &Value, claim: ClaimType, at: DateTime<Utc>) -> Vec<Reason> {
    let mut out = Vec::new();
    let starts = policy["starts_at"].as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let ends = policy["ends_at"].as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let cancelled = policy["cancelled_at"].as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
    let in_force =
        matches!((starts, ends), (Some(s), Some(e)) if s <= at && at < e) && cancelled.is_none_or(|c| at < c);
    let span = |t: Option<DateTime<Utc>>| t.map_or_else(|| "?".to_owned(), |t| t.to_rfc3339());
    out.push(if in_force {
        reason("policy_active", true, "the policy was in force at the incident")
    } else {
        let detail = match cancelled {
            Some(c) if c <= at => {
                format!("the policy was cancelled at {} (before {})", c.to_rfc3339(), at.to_rfc3339())
            }
            _ => format!("the policy covers {} to {}, not {}", span(starts), span(ends), at.to_rfc3339()),
        };
        reason("policy_not_active", false, detail)
    });
    let kind = policy["kind"].as_str().unwrap_or_default();
    out.push(if kind == claim.covered_by() {
        reason("type_covered", true, format!("a {kind} policy covers {} claims", claim.as_str()))
    } else {
        reason("type_not_covered", false, format!("a {kind} policy does not cover {} claims", claim.as_str()))
    });
    out
}

/// The evidence of enrichment's `activity-at` for an accident.
pub fn activity_checks(activity: &Value) -> Vec<Reason> {
    let insured = activity["insured"].as_array().and_then(|a| a.first()).and_then(|i| i["insured"].as_bool());
    let platforms: Vec<&str> = activity["platforms_engaged"]
        .as_array()
        .or(activity["platforms_online"].as_array())
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match insured {
        Some(true) => vec![reason(
            "insured_at_incident",
            true,
            format!("insured time at the incident, working on {}", platforms.join(", ")),
        )],
        Some(false) if activity["online"].as_bool() == Some(true) => vec![reason(
            "online_not_insured_at_incident",
            false,
            format!("online on {} but not in insured time under the policy's definition", platforms.join(", ")),
        )],
        _ => vec![reason("not_working_at_incident", false, "no platform activity at the incident")],
    }
}

/// What the worker did before and during an incapacity, as enrichment reports it.
#[derive(Debug, Clone, Default)]
pub struct IncomeLossFacts {
    /// Insured hours and jobs in the 8 weeks before the incapacity.
    pub insured_hours_8w: Decimal,
    pub jobs_8w: i64,
    /// Days of the incapacity (local), and the engaged hours on each day worked in it.
    pub incapacity_days: u32,
    pub worked_days: Vec<(NaiveDate, Decimal)>,
    /// Average daily net earnings over the terms' reference window, in the policy's currency.
    pub avg_daily_net: Decimal,
}

/// The income-loss benefit and every input it used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Benefit {
    pub reference_weeks: u32,
    #[schema(value_type = String)]
    pub avg_daily_net: Decimal,
    #[schema(value_type = String)]
    pub percent: Decimal,
    #[schema(value_type = String)]
    pub floor: Decimal,
    #[schema(value_type = String)]
    pub cap: Decimal,
    /// min(cap, max(floor, percent x avg_daily_net)), unrounded.
    #[schema(value_type = String)]
    pub daily_benefit: Decimal,
    pub incapacity_days: u32,
    pub waiting_days: u32,
    pub max_days: u32,
    pub payable_days: u32,
    /// daily_benefit x payable_days, rounded by the product's rule.
    pub amount: Money,
    pub rounding: Rounding,
}

/// Eligibility, waiting period, duration, activity while incapacitated, and the benefit.
pub fn income_loss_checks(
    terms: &BenefitTerms,
    facts: &IncomeLossFacts,
    currency: Currency,
    rounding: Rounding,
) -> (Vec<Reason>, Benefit) {
    let mut out = Vec::new();
    let hours_ok = facts.insured_hours_8w >= terms.min_insured_hours;
    let jobs_ok = facts.jobs_8w >= i64::from(terms.min_jobs);
    let figures = format!(
        "{} insured hours and {} jobs in the 8 weeks before (needs {} hours or {} jobs)",
        facts.insured_hours_8w.normalize(),
        facts.jobs_8w,
        terms.min_insured_hours.normalize(),
        terms.min_jobs
    );
    out.push(if hours_ok || jobs_ok {
        reason("eligible", true, figures)
    } else {
        reason("not_eligible", false, figures)
    });
    let payable_days = terms.payable_days(facts.incapacity_days);
    if payable_days == 0 {
        out.push(reason(
            "within_waiting_period",
            false,
            format!(
                "{} days of incapacity, all within the {}-day waiting period",
                facts.incapacity_days, terms.waiting_days
            ),
        ));
    }
    if facts.incapacity_days.saturating_sub(terms.waiting_days) > terms.max_days {
        out.push(reason(
            "maximum_duration_reached",
            true,
            format!("{} days of incapacity; at most {} are paid", facts.incapacity_days, terms.max_days),
        ));
    }
    if facts.worked_days.is_empty() {
        out.push(reason("no_activity_during_incapacity", true, "no platform activity during the incapacity"));
    } else {
        let days: Vec<String> =
            facts.worked_days.iter().map(|(d, h)| format!("{d} ({} h engaged)", h.normalize())).collect();
        out.push(reason(
            "activity_during_incapacity",
            false,
            format!("worked during the incapacity: {}", days.join(", ")),
        ));
    }
    let daily_benefit = terms.daily_benefit(facts.avg_daily_net);
    let amount = Money::new(daily_benefit * Decimal::from(payable_days), currency).round(rounding);
    let benefit = Benefit {
        reference_weeks: terms.reference_weeks,
        avg_daily_net: facts.avg_daily_net,
        percent: terms.percent,
        floor: terms.floor,
        cap: terms.cap,
        daily_benefit,
        incapacity_days: facts.incapacity_days,
        waiting_days: terms.waiting_days,
        max_days: terms.max_days,
        payable_days,
        amount,
        rounding,
    };
    (out, benefit)
}

/// Approve when every finding supports the claim; reject when the policy does not apply
/// or the worker is not eligible; otherwise a person looks (refer).
pub fn recommend(reasons: &[Reason]) -> Recommendation {
    if reasons.iter().all(|r| r.supports) {
        Recommendation::Approve
    } else if reasons
        .iter()
        .any(|r| !r.supports && matches!(r.code.as_str(), "policy_not_active" | "type_not_covered" | "not_eligible"))
    {
        Recommendation::Reject
    } else {
        Recommendation::Refer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn terms() -> BenefitTerms {
        serde_json::from_value(json!({
            "percent": "60", "floor": "20", "cap": "80", "reference_weeks": 12,
            "min_insured_hours": "40", "min_jobs": 20, "waiting_days": 3, "max_days": 30}))
        .unwrap()
    }

    #[test]
    fn an_eligible_incapacity_is_paid_after_the_waiting_period_to_the_cent() {
        let facts = IncomeLossFacts {
            insured_hours_8w: dec!(61.25),
            jobs_8w: 12,
            incapacity_days: 10,
            worked_days: vec![],
            avg_daily_net: dec!(97.43),
        };
        let eur = Currency::parse("EUR").unwrap();
        let (reasons, benefit) = income_loss_checks(&terms(), &facts, eur, Rounding::HalfEven);
        assert_eq!(recommend(&reasons), Recommendation::Approve, "{reasons:?}");
        // 60 % of 97.43 = 58.458 a day; 10 days less 3 waiting = 7; 409.206 -> 409.21.
        assert_eq!(benefit.daily_benefit, dec!(58.458));
        assert_eq!(benefit.payable_days, 7);
        assert_eq!(benefit.amount, Money::new(dec!(409.21), eur));
    }

    #[test]
    fn work_during_the_incapacity_is_flagged_and_too_little_history_rejected() {
        let eur = Currency::parse("EUR").unwrap();
        let worked = IncomeLossFacts {
            insured_hours_8w: dec!(100),
            incapacity_days: 5,
            worked_days: vec![("2026-11-03".parse().unwrap(), dec!(2.5))],
            avg_daily_net: dec!(10),
            ..IncomeLossFacts::default()
        };
        let (reasons, benefit) = income_loss_checks(&terms(), &worked, eur, Rounding::HalfEven);
        assert!(
            reasons.iter().any(|r| r.code == "activity_during_incapacity" && r.detail.contains("2026-11-03 (2.5 h"))
        );
        assert_eq!(recommend(&reasons), Recommendation::Refer);
        // The floor: 60 % of 10 = 6 -> 20 a day, 2 payable days.
        assert_eq!(benefit.amount, Money::new(dec!(40.00), eur));
        let new = IncomeLossFacts { insured_hours_8w: dec!(12), jobs_8w: 3, incapacity_days: 2, ..worked };
        let (reasons, benefit) = income_loss_checks(&terms(), &new, eur, Rounding::HalfEven);
        assert!(reasons.iter().any(|r| r.code == "within_waiting_period"));
        assert_eq!(recommend(&reasons), Recommendation::Reject);
        assert_eq!(benefit.payable_days, 0);
    }

    #[test]
    fn an_accident_in_insured_time_on_an_active_accident_policy_is_recommended_for_approval() {
        let policy =
            json!({"kind": "accident", "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"});
        let at: DateTime<Utc> = "2026-11-10T09:45:00Z".parse().unwrap();
        let mut reasons = policy_checks(&policy, ClaimType::Accident, at);
        reasons.extend(activity_checks(&json!({"online": true, "platforms_engaged": ["eats"],
                                               "insured": [{"definition": "job-plus-15m@1", "insured": true}]})));
        assert_eq!(recommend(&reasons), Recommendation::Approve);
        let late: DateTime<Utc> = "2026-12-02T00:00:00Z".parse().unwrap();
        assert_eq!(recommend(&policy_checks(&policy, ClaimType::Accident, late)), Recommendation::Reject);
        assert_eq!(recommend(&policy_checks(&policy, ClaimType::Equipment, at)), Recommendation::Reject);
        let idle = activity_checks(&json!({"online": false, "insured": [{"insured": false}]}));
        assert_eq!(idle[0].code, "not_working_at_incident");
        assert_eq!(recommend(&[policy_checks(&policy, ClaimType::Accident, at), idle].concat()), Recommendation::Refer);
    }
}
