//! Automatic verification: a recommendation with reason codes, never a decision. Each
//! check reads the evidence we hold: the policy (pricing) and the worker's activity at the
//! incident (enrichment's `activity-at`, under the policy's insured-time definition).

use chrono::{DateTime, Utc};
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
    out.push(if in_force {
        reason("policy_active", true, "the policy was in force at the incident")
    } else {
        reason("policy_not_active", false, "the policy was not in force at the incident")
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

/// Approve when every finding supports the claim; reject when the policy does not apply;
/// otherwise a person looks (refer).
pub fn recommend(reasons: &[Reason]) -> Recommendation {
    if reasons.iter().all(|r| r.supports) {
        Recommendation::Approve
    } else if reasons.iter().any(|r| !r.supports && matches!(r.code.as_str(), "policy_not_active" | "type_not_covered"))
    {
        Recommendation::Reject
    } else {
        Recommendation::Refer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
