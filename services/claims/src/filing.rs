//! Filing a claim (worker), verified at once; reading claims (the worker, the insurer of
//! the policy, ops).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use gigcover_domain::FieldProblem;
use gigcover_kit::auth::{Authorized, RecordScope, roles};
use gigcover_kit::http::{Json, Query};
use gigcover_kit::{ApiError, ApiResult, idempotency};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::evidence::{self, Facts};
use crate::lifecycle::{Actor, Status};
use crate::state::ClaimsState;
use crate::store::{self, Change, Claim};
use crate::verify::ClaimType;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClaim {
    pub policy_id: Uuid,
    pub claim_type: ClaimType,
    /// Accident and equipment: when it happened.
    pub incident_at: Option<DateTime<Utc>>,
    /// Income loss: the incapacity period.
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub description: String,
    /// The reference the insurer puts on the payment (at most 35 characters). The account
    /// itself is the IBAN in the worker's personal data, never given here.
    pub bank_reference: Option<String>,
}

/// Two letters, two digits, then 10 to 30 letters or digits: an IBAN.
fn looks_like_iban(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let b = compact.as_bytes();
    (14..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_alphabetic)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric)
}

fn problems(c: &NewClaim, now: DateTime<Utc>) -> Vec<FieldProblem> {
    let mut p = Vec::new();
    if c.description.trim().is_empty() || c.description.len() > 4000 {
        p.push(FieldProblem::new("description", "1 to 4000 characters"));
    }
    if let Some(r) = &c.bank_reference {
        if r.trim().is_empty() || r.chars().count() > 35 {
            p.push(FieldProblem::new("bank_reference", "1 to 35 characters"));
        } else if looks_like_iban(r) {
            p.push(FieldProblem::new(
                "bank_reference",
                "looks like an IBAN: give your IBAN in your personal data (PUT /v1/workers/{id}/personal-data), \
                 where it is kept encrypted; this is only the payment's reference",
            ));
        }
    }
    match c.claim_type {
        ClaimType::Accident | ClaimType::Equipment => match c.incident_at {
            None => p.push(FieldProblem::new("incident_at", "required for accident and equipment claims")),
            Some(t) if t > now + Duration::minutes(5) => p.push(FieldProblem::new("incident_at", "is in the future")),
            Some(t) if t < now - Duration::days(3 * 365) => {
                p.push(FieldProblem::new("incident_at", "is more than three years ago"))
            }
            _ => {}
        },
        ClaimType::IncomeLoss => match (c.period_start, c.period_end) {
            (Some(s), Some(e)) if e <= s => p.push(FieldProblem::new("period_end", "must be after period_start")),
            (Some(s), Some(e)) if e - s > Duration::days(366) => {
                p.push(FieldProblem::new("period_end", "a period is at most a year"))
            }
            (Some(s), Some(_)) if s > now + Duration::minutes(5) => {
                p.push(FieldProblem::new("period_start", "is in the future"))
            }
            (Some(_), Some(_)) => {}
            _ => p.push(FieldProblem::new("period_start", "income loss claims give period_start and period_end")),
        },
    }
    p
}

/// Files a claim; it is verified at once and answered with the recommendation.
#[utoipa::path(post, path = "/v1/claims", tag = "claims", security(("bearer" = [])), request_body = NewClaim,
    params(("Idempotency-Key" = Option<String>, Header, description = "a replay returns the first answer")),
    responses((status = 201, body = Claim),
              (status = 404, description = "no such policy of the caller", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn file(
    caller: Authorized<roles::Worker>,
    req: HttpRequest,
    body: Json<NewClaim>,
    pool: web::Data<PgPool>,
    state: web::Data<ClaimsState>,
) -> ApiResult<HttpResponse> {
    let worker = caller.worker_id().map(|w| w.as_uuid()).ok_or_else(|| ApiError::not_found("policy"))?;
    let now = Utc::now();
    let problems = problems(&body, now);
    if !problems.is_empty() {
        return Err(ApiError::unprocessable("invalid_claim", "the claim has problems").with_errors(problems));
    }
    let key = idempotency::key(&req)?;
    let scope = format!("worker:{worker}");
    let request_hash = sha2::Sha256::digest(serde_json::to_vec(&*body).map_err(anyhow::Error::from)?).to_vec();
    let mut tx = pool.begin().await?;
    if let Some(key) = &key
        && let Some(first) = idempotency::find(&mut tx, &scope, key).await?
    {
        return first.replay(&request_hash);
    }
    let facts = Facts {
        id: None,
        worker,
        policy_id: body.policy_id,
        claim_type: body.claim_type,
        incident_at: body.incident_at,
        period_start: body.period_start,
        period_end: body.period_end,
    };
    let v = evidence::verify(&state.sources(), &mut tx, &facts).await?;
    // Whether the policy applies at all is a fact, not a judgement: refused at once.
    let refused: Vec<FieldProblem> = v
        .reasons
        .iter()
        .filter_map(|r| match r.code.as_str() {
            "policy_not_active" => Some(FieldProblem::new("policy_id", r.detail.clone())),
            "type_not_covered" => Some(FieldProblem::new("claim_type", r.detail.clone())),
            _ => None,
        })
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::unprocessable("policy_does_not_apply", "the policy does not cover this claim")
            .with_errors(refused));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO claims (id, worker_id, insurer_id, policy_id, claim_type, incident_at, period_start, period_end,
                             description, bank_reference, status, recommendation, reasons, evidence, benefit, currency,
                             decision_due)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'submitted', $11, $12, $13, $14, $15, $16)",
    )
    .bind(id)
    .bind(worker)
    .bind(&v.insurer_id)
    .bind(body.policy_id)
    .bind(body.claim_type.as_str())
    .bind(body.incident_at)
    .bind(body.period_start)
    .bind(body.period_end)
    .bind(body.description.trim())
    .bind(body.bank_reference.as_deref().map(str::trim))
    .bind(v.recommendation.as_str())
    .bind(sqlx::types::Json(&v.reasons))
    .bind(&v.evidence)
    .bind(v.benefit.as_ref().map(sqlx::types::Json))
    .bind(&v.currency)
    .bind(now + Duration::hours(v.decision_hours))
    .execute(&mut *tx)
    .await?;
    let subject = caller.subject.clone();
    let filed = Change {
        claim: id,
        to: Status::Submitted,
        actor: Actor::Worker,
        subject: Some(&subject),
        reason: Some("filed"),
        evidence: None,
    };
    store::record(&mut tx, filed).await?;
    let verified = v.status();
    let why = v.summary();
    let change = Change {
        claim: id,
        to: verified,
        actor: Actor::System,
        subject: None,
        reason: Some(&why),
        evidence: Some(&v.evidence),
    };
    store::record(&mut tx, change).await?;
    let claim = store::load(&mut tx, &RecordScope::of(&caller), id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("claim"))?;
    let answer = serde_json::to_value(&claim).map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        idempotency::remember(&mut tx, &scope, key, &request_hash, StatusCode::CREATED, &answer).await?;
    }
    let events =
        [crate::events::of(&claim, crate::events::FILED)?, crate::events::of(&claim, crate::events::VERIFIED)?];
    gigcover_feed::publish(tx, &events).await?;
    crate::metrics::get().filed(&claim.insurer_id, claim.claim_type.as_str(), claim.recommendation.as_str());
    Ok(HttpResponse::Created().json(answer))
}

/// One claim with its status history: its worker, its insurer, or ops.
#[utoipa::path(get, path = "/v1/claims/{id}", tag = "claims", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Claim), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let mut conn = pool.acquire().await?;
    let claim = store::load(&mut conn, &RecordScope::of(&caller), *id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("claim"))?;
    Ok(HttpResponse::Ok().json(claim))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only claims in this status.
    pub status: Option<Status>,
    /// At most this many (default and maximum 200), newest first.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClaimSummary {
    pub id: Uuid,
    pub worker_id: Uuid,
    pub insurer_id: String,
    pub claim_type: String,
    pub status: String,
    pub recommendation: String,
    pub decision_due: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// The caller's claims: a worker's own, an insurer's (ops: all), newest first.
#[utoipa::path(get, path = "/v1/claims", tag = "claims", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<ClaimSummary>), (status = 400, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    caller: Authorized<roles::Any>,
    query: Query<ListQuery>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let limit = i64::from(query.limit.unwrap_or(200).clamp(1, 200));
    let sql = format!(
        "SELECT id, worker_id, insurer_id, claim_type, status, recommendation, decision_due, created_at FROM claims c
         WHERE ($1::text IS NULL OR status = $1) AND {} ORDER BY created_at DESC LIMIT $5",
        RecordScope::condition("c", 2)
    );
    type Row = (Uuid, Uuid, String, String, String, String, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = RecordScope::of(&caller)
        .bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(query.status.map(Status::as_str)))
        .bind(limit)
        .fetch_all(pool.get_ref())
        .await?;
    let out: Vec<ClaimSummary> =
        rows.into_iter()
            .map(|(id, worker_id, insurer_id, claim_type, status, recommendation, decision_due, created_at)| {
                ClaimSummary { id, worker_id, insurer_id, claim_type, status, recommendation, decision_due, created_at }
            })
            .collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Every claim of one worker, whole (with history and benefit), across insurers: for the
/// worker themself, ops, and identity's export. Insurers use `GET /v1/claims`.
#[utoipa::path(get, path = "/v1/workers/{id}/claims", tag = "claims", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<Claim>), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn of_worker(
    caller: Authorized<roles::Any>,
    path: web::Path<String>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = caller.own_or_internal(&path)?;
    let scope = RecordScope::of(&caller);
    let mut conn = pool.acquire().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM claims WHERE worker_id = $1 ORDER BY created_at")
        .bind(worker)
        .fetch_all(&mut *conn)
        .await?;
    let mut claims = Vec::with_capacity(ids.len());
    for id in ids {
        claims.extend(store::load(&mut conn, &scope, id, false).await?);
    }
    Ok(HttpResponse::Ok().json(claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iban_is_not_a_payment_reference() {
        assert!(looks_like_iban("DE89 3704 0044 0532 0130 00"));
        assert!(looks_like_iban("GB29NWBK60161331926819"));
        assert!(!looks_like_iban("claim for my bike"));
        assert!(!looks_like_iban("INV-2026-11"));
    }
}
