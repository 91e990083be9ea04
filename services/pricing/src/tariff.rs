//! Tariffs as data and the premium they give, explained line by line.
//!
//! A monthly premium starts from a base (a rate per insured hour times the worker's
//! average monthly insured hours, or a fixed monthly amount); each rating factor then
//! multiplies the running amount by the factor of the band the worker's value falls in;
//! the minimum and maximum bound it; the currency's rounding ends it. Every step is a line
//! whose amount is exactly what it added, so the lines sum to the premium exactly.

pub use gigcover_domain::BenefitTerms;
use std::collections::BTreeMap;

use gigcover_domain::{Currency, FieldProblem, Rounding};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a product is priced before factors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Basis {
    /// Accident cover: a rate per insured hour under a named insured-time definition.
    PerInsuredHour {
        #[schema(value_type = String)]
        rate: Decimal,
        /// `name` or `name@version` of an enrichment insured-time definition.
        definition: String,
    },
    /// Liability, equipment: a fixed monthly premium.
    FixedMonthly {
        #[schema(value_type = String)]
        premium: Decimal,
    },
    /// Income protection (sick pay): a fixed monthly premium for a daily benefit that
    /// follows the worker's average daily earnings.
    IncomeProtection {
        #[schema(value_type = String)]
        premium: Decimal,
        benefit: BenefitTerms,
    },
}

/// A rating factor: which profile figure it reads, and its bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorInput {
    /// Share of engaged time at night (0 to 1), last 12 weeks.
    NightShare,
    /// Share of engaged time at weekends (0 to 1).
    WeekendShare,
    /// Average weekly engaged hours.
    WeeklyHours,
    /// Number of platforms worked on.
    Platforms,
    /// Share of weeks active (0 to 1).
    Regularity,
    /// Weeks since the worker's first activity on any platform.
    TenureWeeks,
    /// The worker's age in years (from their date of birth, held by identity).
    AgeYears,
    /// The vehicle the worker declares in the quote request (classes).
    Vehicle,
    /// The worker's market: the time zone of their platforms (classes, e.g. `Europe/Berlin`).
    Market,
}

impl FactorInput {
    /// Whether the input is a category (priced by `classes`) rather than a number (`bands`).
    pub fn is_category(self) -> bool {
        matches!(self, FactorInput::Vehicle | FactorInput::Market)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FactorInput::NightShare => "night_share",
            FactorInput::WeekendShare => "weekend_share",
            FactorInput::WeeklyHours => "weekly_hours",
            FactorInput::Platforms => "platforms",
            FactorInput::Regularity => "regularity",
            FactorInput::TenureWeeks => "tenure_weeks",
            FactorInput::AgeYears => "age_years",
            FactorInput::Vehicle => "vehicle",
            FactorInput::Market => "market",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// The band applies from this value up (to the next band's `from`).
    #[schema(value_type = String)]
    pub from: Decimal,
    #[schema(value_type = String)]
    pub factor: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    pub input: FactorInput,
    /// Numeric inputs: ascending bands, the first from 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<Band>,
    /// Categorical inputs: the factor of each class; `other` for any class not listed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub classes: BTreeMap<String, Decimal>,
}

/// One version of a tariff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    pub currency: Currency,
    pub basis: Basis,
    #[serde(default)]
    pub factors: Vec<Factor>,
    #[schema(value_type = String)]
    pub min_premium: Decimal,
    #[schema(value_type = String)]
    pub max_premium: Decimal,
    #[serde(default)]
    pub rounding: Rounding,
    /// The insurer decides a claim on a policy of this tariff within this many hours.
    #[serde(default = "default_claim_decision_hours")]
    pub claim_decision_hours: u32,
}

pub fn default_claim_decision_hours() -> u32 {
    120
}

impl Tariff {
    /// Every problem, each naming its field.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut p = Vec::new();
        match &self.basis {
            Basis::PerInsuredHour { rate, definition } => {
                if *rate <= Decimal::ZERO || *rate > Decimal::from(1000) {
                    p.push(FieldProblem::new("basis.per_insured_hour.rate", "must be above 0 and at most 1000"));
                }
                if definition.trim().is_empty() || definition.len() > 80 {
                    p.push(FieldProblem::new("basis.per_insured_hour.definition", "names an insured-time definition"));
                }
            }
            Basis::FixedMonthly { premium } => {
                if *premium <= Decimal::ZERO || *premium > Decimal::from(100_000) {
                    p.push(FieldProblem::new("basis.fixed_monthly.premium", "must be above 0 and at most 100000"));
                }
            }
            Basis::IncomeProtection { premium, benefit } => {
                if *premium <= Decimal::ZERO || *premium > Decimal::from(100_000) {
                    p.push(FieldProblem::new("basis.income_protection.premium", "must be above 0 and at most 100000"));
                }
                p.extend(benefit.problems("basis.income_protection.benefit"));
            }
        }
        let mut seen = Vec::new();
        for (i, f) in self.factors.iter().enumerate() {
            if seen.contains(&f.input) {
                p.push(FieldProblem::new(format!("factors[{i}].input"), "each input at most once"));
            }
            seen.push(f.input);
            if f.input.is_category() {
                if f.classes.is_empty() || !f.bands.is_empty() {
                    p.push(FieldProblem::new(
                        format!("factors[{i}].classes"),
                        "a categorical input has classes, not bands",
                    ));
                }
                for (class, factor) in &f.classes {
                    if *factor <= Decimal::ZERO || *factor > Decimal::from(10) {
                        p.push(FieldProblem::new(
                            format!("factors[{i}].classes.{class}"),
                            "must be above 0 and at most 10",
                        ));
                    }
                }
                continue;
            }
            if !f.classes.is_empty() {
                p.push(FieldProblem::new(format!("factors[{i}].classes"), "a numeric input has bands, not classes"));
            }
            if f.bands.is_empty() {
                p.push(FieldProblem::new(format!("factors[{i}].bands"), "at least one band"));
            }
            if f.bands.first().is_some_and(|b| b.from != Decimal::ZERO) {
                p.push(FieldProblem::new(format!("factors[{i}].bands[0].from"), "the first band starts at 0"));
            }
            for (j, b) in f.bands.iter().enumerate() {
                if j > 0 && b.from <= f.bands[j - 1].from {
                    p.push(FieldProblem::new(format!("factors[{i}].bands[{j}].from"), "bands ascend strictly"));
                }
                if b.factor <= Decimal::ZERO || b.factor > Decimal::from(10) {
                    p.push(FieldProblem::new(
                        format!("factors[{i}].bands[{j}].factor"),
                        "must be above 0 and at most 10",
                    ));
                }
            }
        }
        if self.min_premium < Decimal::ZERO {
            p.push(FieldProblem::new("min_premium", "must not be negative"));
        }
        if self.max_premium < self.min_premium {
            p.push(FieldProblem::new("max_premium", "must not be below min_premium"));
        }
        if !(1..=720).contains(&self.claim_decision_hours) {
            p.push(FieldProblem::new("claim_decision_hours", "1 to 720"));
        }
        p
    }

    /// The insured-time definition the tariff rates on, or counts eligibility under.
    pub fn definition(&self) -> Option<&str> {
        match &self.basis {
            Basis::PerInsuredHour { definition, .. } => Some(definition),
            Basis::IncomeProtection { benefit, .. } => benefit.definition.as_deref(),
            Basis::FixedMonthly { .. } => None,
        }
    }

    /// The income protection benefit, if the tariff is one.
    pub fn benefit(&self) -> Option<&BenefitTerms> {
        match &self.basis {
            Basis::IncomeProtection { benefit, .. } => Some(benefit),
            _ => None,
        }
    }
}

/// The figures of a worker's profile a tariff reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RatingInputs {
    #[schema(value_type = String)]
    pub avg_weekly_insured_hours: Decimal,
    #[schema(value_type = String)]
    pub avg_weekly_engaged_hours: Decimal,
    #[schema(value_type = String)]
    pub night_share: Decimal,
    #[schema(value_type = String)]
    pub weekend_share: Decimal,
    pub platforms: u32,
    #[schema(value_type = String)]
    pub regularity: Decimal,
    #[serde(default)]
    #[schema(value_type = String)]
    pub tenure_weeks: Decimal,
    /// Read from identity only when a tariff rates on age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_years: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
}

/// A rating input's value for one worker.
enum InputValue<'a> {
    Number(Decimal),
    Category(&'a str),
}

/// A tariff rates on something the quote does not have (or a class it does not price).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {what}")]
pub struct MissingFact {
    pub input: &'static str,
    pub what: String,
}

impl RatingInputs {
    fn value(&self, input: FactorInput) -> Result<InputValue<'_>, MissingFact> {
        let missing = |what: &str| MissingFact { input: input.as_str(), what: what.to_owned() };
        Ok(match input {
            FactorInput::NightShare => InputValue::Number(self.night_share),
            FactorInput::WeekendShare => InputValue::Number(self.weekend_share),
            FactorInput::WeeklyHours => InputValue::Number(self.avg_weekly_engaged_hours),
            FactorInput::Platforms => InputValue::Number(Decimal::from(self.platforms)),
            FactorInput::Regularity => InputValue::Number(self.regularity),
            FactorInput::TenureWeeks => InputValue::Number(self.tenure_weeks),
            FactorInput::AgeYears => InputValue::Number(Decimal::from(self.age_years.ok_or_else(|| {
                missing("the worker's date of birth is needed (personal data, PUT /v1/workers/{id}/personal-data)")
            })?)),
            FactorInput::Vehicle => InputValue::Category(
                self.vehicle.as_deref().ok_or_else(|| missing("give the vehicle in the quote request"))?,
            ),
            FactorInput::Market => InputValue::Category(
                self.market.as_deref().ok_or_else(|| missing("the worker's market is not known yet"))?,
            ),
        })
    }
}

/// One line of the explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Line {
    /// `base`, a factor input (`night_share`, ...), `minimum_premium`, `maximum_premium` or `rounding`.
    pub item: String,
    /// The worker's value the line used (for the base: monthly insured hours).
    #[schema(value_type = Option<String>)]
    pub input: Option<Decimal>,
    /// The band's (or class's) factor.
    #[schema(value_type = Option<String>)]
    pub factor: Option<Decimal>,
    /// For a categorical input: the worker's class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// What the line adds to the premium (exact; the lines sum to the premium).
    #[schema(value_type = String)]
    pub amount: Decimal,
}

/// A monthly premium and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Priced {
    #[schema(value_type = String)]
    pub premium: Decimal,
    pub currency: Currency,
    pub lines: Vec<Line>,
}

/// The price of one insured hour after the rating factors (usage-based billing bills each
/// day's insured hours at it), from a per-hour premium's explanation: the base rate times
/// every factor. `None` for premiums not priced per hour.
pub fn hourly_rate(basis: &Basis, lines: &[Line]) -> Option<Decimal> {
    let Basis::PerInsuredHour { rate, .. } = basis else { return None };
    Some(lines.iter().filter(|l| l.item != "base").filter_map(|l| l.factor).fold(*rate, |r, f| r * f))
}

/// Weeks per month on average (52 / 12).
fn weeks_per_month() -> Decimal {
    Decimal::from(52) / Decimal::from(12)
}

pub fn price(tariff: &Tariff, inputs: &RatingInputs) -> Result<Priced, MissingFact> {
    let mut lines = Vec::new();
    let base = match &tariff.basis {
        Basis::PerInsuredHour { rate, .. } => {
            let monthly_hours = (inputs.avg_weekly_insured_hours * weeks_per_month()).round_dp(4);
            lines.push(Line {
                item: "base".into(),
                input: Some(monthly_hours),
                factor: Some(*rate),
                category: None,
                amount: *rate * monthly_hours,
            });
            *rate * monthly_hours
        }
        Basis::FixedMonthly { premium } | Basis::IncomeProtection { premium, .. } => {
            lines.push(Line { item: "base".into(), input: None, factor: None, category: None, amount: *premium });
            *premium
        }
    };
    let mut running = base;
    for f in &tariff.factors {
        let (input, category, factor) = match inputs.value(f.input)? {
            InputValue::Number(value) => {
                let band = f.bands.iter().rev().find(|b| b.from <= value).or(f.bands.first());
                (Some(value), None, band.map_or(Decimal::ONE, |b| b.factor))
            }
            InputValue::Category(class) => {
                let factor =
                    f.classes.get(class).or_else(|| f.classes.get("other")).copied().ok_or_else(|| MissingFact {
                        input: f.input.as_str(),
                        what: format!("the tariff prices no class `{class}` (and no `other`)"),
                    })?;
                (None, Some(class.to_owned()), factor)
            }
        };
        let amount = running * (factor - Decimal::ONE);
        running += amount;
        lines.push(Line { item: f.input.as_str().to_owned(), input, factor: Some(factor), category, amount });
    }
    let bounded = running.max(tariff.min_premium).min(tariff.max_premium);
    if bounded != running {
        let item = if bounded > running { "minimum_premium" } else { "maximum_premium" };
        lines.push(Line { item: item.into(), input: None, factor: None, category: None, amount: bounded - running });
    }
    let premium = gigcover_domain::Money::new(bounded, tariff.currency).round(tariff.rounding).amount();
    if premium != bounded {
        lines.push(Line {
            item: "rounding".into(),
            input: None,
            factor: None,
            category: None,
            amount: premium - bounded,
        });
    }
    Ok(Priced { premium, currency: tariff.currency, lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn accident() -> Tariff {
        serde_json::from_value(serde_json::json!({
            "currency": "EUR",
            "basis": {"per_insured_hour": {"rate": "0.40", "definition": "job-plus-15m"}},
            "factors": [
                {"input": "night_share", "bands": [{"from": "0", "factor": "1"}, {"from": "0.25", "factor": "1.3"}]},
                {"input": "weekly_hours", "bands": [{"from": "0", "factor": "1.1"}, {"from": "20", "factor": "0.95"}]}
            ],
            "min_premium": "3.00", "max_premium": "150.00", "rounding": "half_up"
        }))
        .unwrap()
    }

    #[test]
    fn a_premium_is_explained_line_by_line_to_the_cent() {
        let inputs = RatingInputs {
            avg_weekly_insured_hours: dec!(25),
            avg_weekly_engaged_hours: dec!(22),
            night_share: dec!(0.3),
            ..RatingInputs::default()
        };
        let p = price(&accident(), &inputs).unwrap();
        // 25 h/week x 52/12 = 108.3333 h; x 0.40 = 43.33332; x 1.3 = +12.999996; x 0.95 = -2.816666...
        assert_eq!(p.lines[0].input, Some(dec!(108.3333)));
        assert_eq!(
            p.lines.iter().map(|l| l.item.as_str()).collect::<Vec<_>>(),
            ["base", "night_share", "weekly_hours", "rounding"]
        );
        assert_eq!(p.premium, dec!(53.52));
        assert_eq!(p.lines.iter().map(|l| l.amount).sum::<Decimal>(), p.premium);
    }

    fn income_protection() -> Tariff {
        serde_json::from_value(serde_json::json!({
            "currency": "EUR",
            "basis": {"income_protection": {"premium": "18.00", "benefit": {
                "percent": "60", "floor": "20", "cap": "80", "reference_weeks": 12,
                "min_insured_hours": "40", "min_jobs": 20, "waiting_days": 3, "max_days": 30}}},
            "factors": [
                {"input": "regularity", "bands": [{"from": "0", "factor": "1.25"}, {"from": "0.75", "factor": "1"}]},
                {"input": "platforms", "bands": [{"from": "0", "factor": "1"}, {"from": "2", "factor": "0.9"}]}
            ],
            "min_premium": "10.00", "max_premium": "60.00", "rounding": "half_even"
        }))
        .unwrap()
    }

    #[test]
    fn an_income_protection_premium_and_its_daily_benefit_by_hand() {
        // Irregular (0.5), two platforms: 18.00 x 1.25 = 22.50 (+4.50); x 0.9 = 20.25 (-2.25).
        let inputs = RatingInputs { regularity: dec!(0.5), platforms: 2, ..RatingInputs::default() };
        let p = price(&income_protection(), &inputs).unwrap();
        let amounts: Vec<Decimal> = p.lines.iter().map(|l| l.amount).collect();
        assert_eq!(amounts, [dec!(18.00), dec!(4.50), dec!(-2.250)]);
        assert_eq!(p.premium, dec!(20.25));
        let terms = income_protection().benefit().cloned().unwrap();
        // 60 % of 95.50 = 57.30; of 20 = 12 -> the floor 20; of 200 = 120 -> the cap 80.
        assert_eq!(terms.daily_benefit(dec!(95.50)), dec!(57.3000));
        assert_eq!(terms.daily_benefit(dec!(20)), dec!(20));
        assert_eq!(terms.daily_benefit(dec!(200)), dec!(80));
    }

    #[test]
    fn a_fixed_premium_over_the_maximum_is_capped_on_a_line() {
        let liability: Tariff = serde_json::from_value(serde_json::json!({
            "currency": "GBP", "basis": {"fixed_monthly": {"premium": "9.99"}},
            "factors": [{"input": "weekly_hours", "bands": [{"from": "0", "factor": "1"}, {"from": "40", "factor": "1.5"}]}],
            "min_premium": "5", "max_premium": "12.50"
        }))
        .unwrap();
        // 45 h/week: 9.99 x 1.5 = 14.985 (+4.995), capped at 12.50 (-2.485).
        let p =
            price(&liability, &RatingInputs { avg_weekly_engaged_hours: dec!(45), ..RatingInputs::default() }).unwrap();
        let items: Vec<(&str, Decimal)> = p.lines.iter().map(|l| (l.item.as_str(), l.amount)).collect();
        assert_eq!(items, [("base", dec!(9.99)), ("weekly_hours", dec!(4.995)), ("maximum_premium", dec!(-2.485))]);
        assert_eq!(p.premium, dec!(12.50));
    }

    #[test]
    fn the_hourly_rate_is_the_base_rate_times_every_factor() {
        let inputs = RatingInputs { night_share: dec!(0.3), avg_weekly_engaged_hours: dec!(22), ..Default::default() };
        let t = accident();
        // 0.40 x 1.3 x 0.95 = 0.494; rounding and bounds lines carry no factor.
        assert_eq!(hourly_rate(&t.basis, &price(&t, &inputs).unwrap().lines), Some(dec!(0.494)));
        assert_eq!(hourly_rate(&income_protection().basis, &[]), None);
    }

    #[test]
    fn an_income_protection_tariff_lists_every_benefit_problem() {
        let mut t = income_protection();
        if let Basis::IncomeProtection { benefit, .. } = &mut t.basis {
            benefit.percent = dec!(120);
            benefit.cap = dec!(10);
            benefit.reference_weeks = 6;
            benefit.max_days = 0;
        }
        let fields: Vec<String> = t.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "basis.income_protection.benefit.percent",
                "basis.income_protection.benefit.cap",
                "basis.income_protection.benefit.reference_weeks",
                "basis.income_protection.benefit.max_days"
            ]
        );
    }

    #[test]
    fn categorical_factors_price_by_class_and_a_missing_fact_is_named() {
        let t: Tariff = serde_json::from_value(serde_json::json!({
            "currency": "EUR", "basis": {"fixed_monthly": {"premium": "10.00"}},
            "factors": [
                {"input": "vehicle", "classes": {"bicycle": "1.2", "car": "0.9", "other": "1"}},
                {"input": "market", "classes": {"Europe/Berlin": "1.1"}},
                {"input": "age_years", "bands": [{"from": "0", "factor": "1.3"}, {"from": "25", "factor": "1"}]},
                {"input": "tenure_weeks", "bands": [{"from": "0", "factor": "1.1"}, {"from": "26", "factor": "1"}]}
            ],
            "min_premium": "1", "max_premium": "100"
        }))
        .unwrap();
        assert!(t.problems().is_empty(), "{:?}", t.problems());
        let mut inputs = RatingInputs {
            vehicle: Some("bicycle".into()),
            market: Some("Europe/Berlin".into()),
            age_years: Some(22),
            tenure_weeks: dec!(30),
            ..RatingInputs::default()
        };
        // 10.00 x 1.2 = 12.00 (+2.00); x 1.1 = 13.20 (+1.20); x 1.3 (under 25) = 17.16 (+3.96); tenure 30 w: x 1.
        let p = price(&t, &inputs).unwrap();
        assert_eq!(p.premium, dec!(17.16));
        assert_eq!(p.lines[1].category.as_deref(), Some("bicycle"));
        assert_eq!(p.lines.iter().map(|l| l.amount).sum::<Decimal>(), p.premium);
        inputs.vehicle = Some("van".into());
        assert_eq!(price(&t, &inputs).unwrap().lines[1].factor, Some(dec!(1)), "an unlisted class is `other`");
        inputs.market = Some("Europe/Paris".into());
        assert_eq!(price(&t, &inputs).unwrap_err().input, "market", "no class and no `other`");
        inputs.market = Some("Europe/Berlin".into());
        inputs.age_years = None;
        assert!(price(&t, &inputs).unwrap_err().what.contains("date of birth"));
        inputs.age_years = Some(30);
        inputs.vehicle = None;
        assert_eq!(price(&t, &inputs).unwrap_err().input, "vehicle");
    }

    #[test]
    fn a_category_needs_classes_and_a_number_bands() {
        let t: Tariff = serde_json::from_value(serde_json::json!({
            "currency": "EUR", "basis": {"fixed_monthly": {"premium": "10.00"}},
            "factors": [{"input": "vehicle", "bands": [{"from": "0", "factor": "1"}]},
                        {"input": "age_years", "classes": {"young": "1.2"}}],
            "min_premium": "1", "max_premium": "100"
        }))
        .unwrap();
        let fields: Vec<String> = t.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["factors[0].classes", "factors[1].classes", "factors[1].bands"]);
    }

    #[test]
    fn the_minimum_applies_and_is_a_line() {
        let p = price(&accident(), &RatingInputs::default()).unwrap();
        assert_eq!(p.premium, dec!(3.00));
        assert!(p.lines.iter().any(|l| l.item == "minimum_premium"));
        assert_eq!(p.lines.iter().map(|l| l.amount).sum::<Decimal>(), p.premium);
    }

    #[test]
    fn every_problem_is_listed() {
        let bad: Tariff = serde_json::from_value(serde_json::json!({
            "currency": "EUR", "basis": {"per_insured_hour": {"rate": "0", "definition": ""}},
            "factors": [{"input": "night_share", "bands": [{"from": "0.1", "factor": "0"}]},
                        {"input": "night_share", "bands": []}],
            "min_premium": "10", "max_premium": "5"
        }))
        .unwrap();
        let fields: Vec<String> = bad.problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "basis.per_insured_hour.rate",
                "basis.per_insured_hour.definition",
                "factors[0].bands[0].from",
                "factors[0].bands[0].factor",
                "factors[1].input",
                "factors[1].bands",
                "max_premium"
            ]
        );
    }

    proptest! {
        #[test]
        fn the_lines_always_sum_to_the_premium_and_the_same_inputs_give_the_same_premium(
            hours in 0u32..8000, night in 0u32..100, weekly in 0u32..600
        ) {
            let inputs = RatingInputs {
                avg_weekly_insured_hours: Decimal::new(i64::from(hours), 2),
                avg_weekly_engaged_hours: Decimal::new(i64::from(weekly), 1),
                night_share: Decimal::new(i64::from(night), 2),
                ..RatingInputs::default()
            };
            let p = price(&accident(), &inputs).unwrap();
            prop_assert_eq!(p.lines.iter().map(|l| l.amount).sum::<Decimal>(), p.premium);
            prop_assert_eq!(price(&accident(), &inputs).unwrap(), p.clone());
            prop_assert!(p.premium >= dec!(3.00) && p.premium <= dec!(150.00));
        }
    }
}
