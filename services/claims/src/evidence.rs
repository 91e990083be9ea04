//! Gathering the evidence a claim is verified on, and verifying it: the policy from
//! pricing; for an accident, the worker's activity at the incident under the policy's
//! insured-time definition; for income loss, their insured hours and jobs in the 8 weeks
//! before, any work during the incapacity and their average daily earnings (all from
//! enrichment); and any open or paid claim of the same type at an overlapping time. Run on
//! filing and again when new evidence arrives.

use std::str::FromStr as _;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use gigcover_domain::{BenefitTerms, Currency, Rounding};
use gigcover_kit::client::{ClientError, ServiceClient};
use gigcover_kit::{ApiError, ApiResult};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::lifecycle::Status;
use crate::verify::{self, Benefit, ClaimType, IncomeLossFacts, Reason, Recommendation};

/// What a claim says, as verification needs it.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The claim itself, when re-verifying (it is not its own duplicate).
    pub id: Option<Uuid>,
    pub worker: Uuid,
    pub policy_id: Uuid,
    pub claim_type: ClaimType,
    pub incident_at: Option<DateTime<Utc>>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Verification {
    pub insurer_id: String,
    pub currency: Option<String>,
    pub reasons: Vec<Reason>,
    pub recommendation: Recommendation,
    pub benefit: Option<Benefit>,
    pub evidence: Value,
    /// The product's decision SLA.
    pub decision_hours: i64,
}

impl Verification {
    /// `verified` when every check supports the claim, else `flagged`.
    pub fn status(&self) -> Status {
        if self.recommendation == Recommendation::Approve { Status::Verified } else { Status::Flagged }
    }

    /// The recommendation and the codes of the checks that did not support the claim.
    pub fn summary(&self) -> String {
        let against: Vec<&str> = self.reasons.iter().filter(|r| !r.supports).map(|r| r.code.as_str()).collect();
        if against.is_empty() {
            format!("recommend {}: every check supports the claim", self.recommendation.as_str())
        } else {
            format!("recommend {}: {}", self.recommendation.as_str(), against.join(", "))
        }
    }
}

fn unavailable(what: &str) -> impl Fn(ClientError) -> ApiError + '_ {
    move |e| ApiError::unavailable("evidence_unavailable", format!("{what} could not be read: {e}; retry"))
}

fn decimal(v: &Value) -> Decimal {
    v.as_str().and_then(|s| Decimal::from_str(s).ok()).unwrap_or_default()
}

pub struct Sources<'a> {
    pub pricing: &'a ServiceClient,
    pub enrichment: &'a ServiceClient,
}

/// The policy, if it is the worker's (another worker's policy is "not found").
async fn policy(sources: &Sources<'_>, facts: &Facts) -> ApiResult<Value> {
    let policy: Value =
        sources.pricing.get_json(&format!("/v1/policies/{}", facts.policy_id)).await.map_err(|e| match e {
            ClientError::Status { status, .. } if status.as_u16() == 404 => ApiError::not_found("policy"),
            other => unavailable("the policy")(other),
        })?;
    if policy["worker_id"].as_str() != Some(facts.worker.to_string().as_str()) {
        return Err(ApiError::not_found("policy"));
    }
    Ok(policy)
}

pub async fn verify(sources: &Sources<'_>, conn: &mut PgConnection, facts: &Facts) -> ApiResult<Verification> {
    let policy = policy(sources, facts).await?;
    let at = facts.incident_at.or(facts.period_start).unwrap_or_else(Utc::now);
    let mut reasons = verify::policy_checks(&policy, facts.claim_type, at);
    let mut evidence = json!({"policy": policy});
    let mut benefit = None;
    let currency = policy["currency"].as_str().map(str::to_owned);
    match facts.claim_type {
        ClaimType::Accident => {
            if let Some(t) = facts.incident_at {
                let activity = activity_at(sources.enrichment, facts.worker, t, policy["definition"].as_str()).await?;
                reasons.extend(verify::activity_checks(&activity));
                evidence["activity_at_incident"] = activity;
            }
        }
        ClaimType::IncomeLoss => {
            let terms: Option<BenefitTerms> =
                serde_json::from_value(policy["coverage"]["benefit"]["terms"].clone()).ok();
            if let (Some(terms), Some(start), Some(end), Some(currency)) =
                (terms, facts.period_start, facts.period_end, currency.as_deref().and_then(|c| Currency::parse(c).ok()))
            {
                let rounding: Rounding =
                    serde_json::from_value(policy["coverage"]["rounding"].clone()).unwrap_or_default();
                let definition = terms
                    .definition
                    .clone()
                    .or_else(|| policy["definition"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "job-plus-15m".into());
                let (facts, seen) =
                    income_loss_facts(sources.enrichment, facts.worker, start, end, &terms, &definition, currency)
                        .await?;
                let (found, b) = verify::income_loss_checks(&terms, &facts, currency, rounding);
                reasons.extend(found);
                evidence["income_loss"] = seen;
                benefit = Some(b);
            }
        }
        ClaimType::Equipment => {}
    }
    if let Some(other) = duplicate(conn, facts, at).await? {
        reasons.push(Reason {
            code: "possible_duplicate".into(),
            supports: false,
            detail: format!("claim {other} is of the same type at an overlapping time"),
        });
    }
    Ok(Verification {
        insurer_id: policy["insurer_id"].as_str().unwrap_or_default().to_owned(),
        currency,
        recommendation: verify::recommend(&reasons),
        reasons,
        benefit,
        decision_hours: policy["coverage"]["claim_decision_hours"].as_i64().unwrap_or(120),
        evidence,
    })
}

async fn activity_at(
    enrichment: &ServiceClient,
    worker: Uuid,
    t: DateTime<Utc>,
    definition: Option<&str>,
) -> ApiResult<Value> {
    let mut path =
        format!("/v1/workers/{worker}/activity-at?t={}", t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    if let Some(d) = definition {
        path.push_str("&definition=");
        path.push_str(d);
    }
    enrichment.get_json(&path).await.map_err(unavailable("the work history"))
}

/// The income-loss figures, and what was read (kept as the evidence).
async fn income_loss_facts(
    enrichment: &ServiceClient,
    worker: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    terms: &BenefitTerms,
    definition: &str,
    currency: Currency,
) -> ApiResult<(IncomeLossFacts, Value)> {
    // Local days either side in UTC hold every local day of the period.
    let during: Value = enrichment
        .get_json(&format!(
            "/v1/workers/{worker}/hours?from={}&to={}",
            start.date_naive() - Duration::days(1),
            end.date_naive() + Duration::days(1)
        ))
        .await
        .map_err(unavailable("the work history"))?;
    let tz: Tz = during["time_zone"].as_str().and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::UTC);
    let first = start.with_timezone(&tz).date_naive();
    let last = (end - Duration::milliseconds(1)).with_timezone(&tz).date_naive().max(first);
    let worked_days: Vec<(NaiveDate, Decimal)> = during["periods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["start"].as_str()?.parse::<NaiveDate>().ok()?, decimal(&p["engaged_hours"]))))
        .filter(|(d, h)| *d >= first && *d <= last && *h > Decimal::ZERO)
        .collect();
    let before: Value = enrichment
        .get_json(&format!(
            "/v1/workers/{worker}/hours?from={}&to={}&definition={definition}&granularity=month",
            first - Duration::weeks(8),
            first - Duration::days(1)
        ))
        .await
        .map_err(unavailable("the work history"))?;
    let periods = before["periods"].as_array().cloned().unwrap_or_default();
    let insured_hours_8w: Decimal = periods.iter().map(|p| decimal(&p["insured_hours"])).sum();
    let jobs_8w: i64 = periods.iter().filter_map(|p| p["jobs"].as_i64()).sum();
    let profile: Value = enrichment
        .get_json(&format!("/v1/workers/{worker}/profile?as_of={}&definition={definition}", first - Duration::days(1)))
        .await
        .map_err(unavailable("the earnings history"))?;
    let window = &profile[format!("last_{}_weeks", terms.reference_weeks)];
    let avg_daily_net = window["earnings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["currency"].as_str() == Some(currency.code()))
        .map(|e| decimal(&e["avg_daily_net"]))
        .unwrap_or_default();
    let incapacity_days = u32::try_from((last - first).num_days() + 1).unwrap_or(0);
    let seen = json!({
        "time_zone": tz.name(), "first_day": first, "last_day": last, "definition": definition,
        "insured_hours_8w": insured_hours_8w, "jobs_8w": jobs_8w,
        "reference_window": {"from": window["from"], "to": window["to"], "avg_daily_net": avg_daily_net,
                             "active_days": window["active_days"]},
        "worked_days": worked_days.iter().map(|(d, h)| json!({"day": d, "engaged_hours": h})).collect::<Vec<_>>(),
    });
    Ok((IncomeLossFacts { insured_hours_8w, jobs_8w, incapacity_days, worked_days, avg_daily_net }, seen))
}

/// An open or paid claim of the same worker and type at an overlapping time, filed before
/// this one (so the first of two is never the duplicate).
async fn duplicate(conn: &mut PgConnection, facts: &Facts, at: DateTime<Utc>) -> ApiResult<Option<Uuid>> {
    let (from, to) = match (facts.incident_at, facts.period_start, facts.period_end) {
        (Some(t), _, _) => (t - Duration::hours(12), t + Duration::hours(12)),
        (None, Some(s), Some(e)) => (s, e),
        _ => (at, at),
    };
    Ok(sqlx::query_scalar(
        "SELECT id FROM claims WHERE worker_id = $1 AND claim_type = $2
           AND status <> 'rejected' AND NOT (status = 'closed' AND paid_amount IS NULL)
           AND id IS DISTINCT FROM $5
           AND created_at < COALESCE((SELECT created_at FROM claims WHERE id = $5), 'infinity')
           AND COALESCE(period_start, incident_at - interval '12 hours') < $4
           AND COALESCE(period_end, incident_at + interval '12 hours') > $3
         ORDER BY created_at LIMIT 1",
    )
    .bind(facts.worker)
    .bind(facts.claim_type.as_str())
    .bind(from)
    .bind(to)
    .bind(facts.id)
    .fetch_optional(&mut *conn)
    .await?)
}
