//! Income protection's benefit terms: what a policy pays per day of incapacity, and who
//! may claim. Pricing quotes them; claims pay by them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::FieldProblem;

/// What an income protection policy pays for a day of incapacity, and who may claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BenefitTerms {
    /// Percentage of the average daily net earnings paid per day (0 to 100).
    #[schema(value_type = String)]
    pub percent: Decimal,
    /// The daily benefit is at least this...
    #[schema(value_type = String)]
    pub floor: Decimal,
    /// ...and at most this.
    #[schema(value_type = String)]
    pub cap: Decimal,
    /// The earnings window the average is taken over: 4 or 12 weeks before the incapacity.
    pub reference_weeks: u32,
    /// Eligibility: at least this many insured hours in the 8 weeks before the incapacity...
    #[schema(value_type = String)]
    pub min_insured_hours: Decimal,
    /// ...or at least this many jobs.
    pub min_jobs: u32,
    /// Days of incapacity not paid at the start.
    pub waiting_days: u32,
    /// Days paid at most for one incapacity.
    pub max_days: u32,
    /// The insured-time definition eligibility counts hours under (default `job-plus-15m`).
    #[serde(default)]
    pub definition: Option<String>,
}

impl BenefitTerms {
    /// Every problem, each field named under `prefix`.
    pub fn problems(&self, prefix: &str) -> Vec<FieldProblem> {
        let mut p = Vec::new();
        let f = |name: &str| format!("{prefix}.{name}");
        if self.percent <= Decimal::ZERO || self.percent > Decimal::ONE_HUNDRED {
            p.push(FieldProblem::new(f("percent"), "must be above 0 and at most 100"));
        }
        if self.floor < Decimal::ZERO {
            p.push(FieldProblem::new(f("floor"), "must not be negative"));
        }
        if self.cap <= Decimal::ZERO || self.cap < self.floor {
            p.push(FieldProblem::new(f("cap"), "must be above 0 and not below floor"));
        }
        if !matches!(self.reference_weeks, 4 | 12) {
            p.push(FieldProblem::new(f("reference_weeks"), "4 or 12"));
        }
        if self.min_insured_hours < Decimal::ZERO {
            p.push(FieldProblem::new(f("min_insured_hours"), "must not be negative"));
        }
        if self.waiting_days > 90 {
            p.push(FieldProblem::new(f("waiting_days"), "at most 90"));
        }
        if self.max_days == 0 || self.max_days > 730 {
            p.push(FieldProblem::new(f("max_days"), "1 to 730"));
        }
        if self.definition.as_ref().is_some_and(|d| d.trim().is_empty() || d.len() > 80) {
            p.push(FieldProblem::new(f("definition"), "names an insured-time definition"));
        }
        p
    }

    /// The daily benefit for an average daily net earning: `percent` of it, within
    /// `[floor, cap]`, unrounded (the claim rounds the total).
    pub fn daily_benefit(&self, avg_daily_net: Decimal) -> Decimal {
        (avg_daily_net * self.percent / Decimal::ONE_HUNDRED).max(self.floor).min(self.cap)
    }

    /// The days paid for an incapacity of `days` days: after the waiting period, at most
    /// `max_days`.
    pub fn payable_days(&self, days: u32) -> u32 {
        days.saturating_sub(self.waiting_days).min(self.max_days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_period_comes_off_and_the_maximum_caps() {
        let t: BenefitTerms = serde_json::from_value(serde_json::json!({
            "percent": "60", "floor": "20", "cap": "80", "reference_weeks": 12,
            "min_insured_hours": "40", "min_jobs": 20, "waiting_days": 3, "max_days": 30}))
        .unwrap();
        assert_eq!(t.payable_days(2), 0);
        assert_eq!(t.payable_days(10), 7);
        assert_eq!(t.payable_days(40), 30);
        assert!(t.problems("benefit").is_empty());
    }
}
