//! Filing a claim (worker), verifying it on filing, and reading claims (the worker, the
//! insurer of the policy, ops).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use gigcover_domain::FieldProblem;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::client::{ClientError, ServiceClient};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult, idempotency};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use sqlx::PgPool;
use uuid::Uuid;

use crate::verify::{self, ClaimType, Reason, Recommendation};

pub struct ClaimsState {
    pub pricing: ServiceClient,
    pub enrichment: ServiceClient,
}

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
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    pub status: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    pub id: Uuid,
    pub worker_id: Uuid,
    pub insurer_id: String,
    pub policy_id: Uuid,
    pub claim_type: ClaimType,
    pub incident_at: Option<DateTime<Utc>>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    pub description: String,
    pub status: String,
    /// The automatic verification's recommendation; the insurer decides.
    pub recommendation: Recommendation,
    pub reasons: Vec<Reason>,
    pub history: Vec<StatusChange>,
}

fn problems(c: &NewClaim, now: DateTime<Utc>) -> Vec<FieldProblem> {
    let mut p = Vec::new();
    if c.description.trim().is_empty() || c.description.len() > 4000 {
        p.push(FieldProblem::new("description", "1 to 4000 characters"));
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
            (Some(_), Some(_)) => {}
            _ => p.push(FieldProblem::new("period_start", "income loss claims give period_start and period_end")),
        },
    }
    p
}

fn unavailable(what: &str) -> impl Fn(ClientError) -> ApiError + '_ {
    move |e| ApiError::unavailable("evidence_unavailable", format!("{what} could not be read: {e}; retry"))
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

    let policy: Value =
        state.pricing.get_json(&format!("/v1/policies/{}", body.policy_id)).await.map_err(|e| match e {
            ClientError::Status { status, .. } if status.as_u16() == 404 => ApiError::not_found("policy"),
            other => unavailable("the policy")(other),
        })?;
    if policy["worker_id"].as_str() != Some(worker.to_string().as_str()) {
        return Err(ApiError::not_found("policy"));
    }
    let at = body.incident_at.or(body.period_start).unwrap_or(now);
    let mut reasons = verify::policy_checks(&policy, body.claim_type, at);
    let mut evidence = serde_json::json!({"policy": policy});
    match (body.claim_type, body.incident_at) {
        (ClaimType::Accident, Some(t)) => {
            let mut path = format!(
                "/v1/workers/{worker}/activity-at?t={}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            );
            if let Some(d) = policy["definition"].as_str() {
                path.push_str("&definition=");
                path.push_str(d);
            }
            let activity: Value = state.enrichment.get_json(&path).await.map_err(unavailable("the work history"))?;
            reasons.extend(verify::activity_checks(&activity));
            evidence["activity_at_incident"] = activity;
        }
        (ClaimType::IncomeLoss, _) => reasons.push(Reason {
            code: "income_loss_needs_review".into(),
            supports: false,
            detail: "eligibility, waiting period and benefit are not verified automatically yet".into(),
        }),
        _ => {}
    }
    // The same worker and type, an open or paid claim, at an overlapping time.
    let (from, to) = match (body.incident_at, body.period_start, body.period_end) {
        (Some(t), _, _) => (t - Duration::hours(12), t + Duration::hours(12)),
        (None, Some(s), Some(e)) => (s, e),
        _ => (at, at),
    };
    let duplicate: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM claims WHERE worker_id = $1 AND claim_type = $2 AND status <> 'rejected'
           AND COALESCE(period_start, incident_at - interval '12 hours') < $4
           AND COALESCE(period_end, incident_at + interval '12 hours') > $3
         LIMIT 1",
    )
    .bind(worker)
    .bind(body.claim_type.as_str())
    .bind(from)
    .bind(to)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(other) = duplicate {
        reasons.push(Reason {
            code: "possible_duplicate".into(),
            supports: false,
            detail: format!("claim {other} is of the same type at an overlapping time"),
        });
    }
    let recommendation = verify::recommend(&reasons);
    let insurer = policy["insurer_id"].as_str().unwrap_or_default().to_owned();
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO claims (id, worker_id, insurer_id, policy_id, claim_type, incident_at, period_start, period_end,
                             description, status, recommendation, reasons, evidence)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'submitted', $10, $11, $12)",
    )
    .bind(id)
    .bind(worker)
    .bind(&insurer)
    .bind(body.policy_id)
    .bind(body.claim_type.as_str())
    .bind(body.incident_at)
    .bind(body.period_start)
    .bind(body.period_end)
    .bind(body.description.trim())
    .bind(serde_json::to_value(recommendation).map_err(anyhow::Error::from)?.as_str().unwrap_or("refer"))
    .bind(sqlx::types::Json(&reasons))
    .bind(&evidence)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO claim_status_history (claim_id, status, note) VALUES ($1, 'submitted', 'filed')")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let claim = load(&mut tx, id).await?.ok_or_else(|| ApiError::not_found("claim"))?;
    let answer = serde_json::to_value(&claim).map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        idempotency::remember(&mut tx, &scope, key, &request_hash, StatusCode::CREATED, &answer).await?;
    }
    let event = gigcover_feed::NewEvent::new(
        "claim.filed",
        serde_json::json!({"claim_id": id, "insurer_id": insurer, "claim_type": body.claim_type, "recommendation": recommendation}),
    )
    .map_err(anyhow::Error::from)?;
    gigcover_feed::publish(tx, &[event]).await?;
    Ok(HttpResponse::Created().json(answer))
}

type Row = (
    Uuid,
    Uuid,
    String,
    Uuid,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    String,
    String,
    String,
    sqlx::types::Json<Vec<Reason>>,
);

async fn load(conn: &mut sqlx::PgConnection, id: Uuid) -> ApiResult<Option<Claim>> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, worker_id, insurer_id, policy_id, claim_type, incident_at, period_start, period_end, description,
                status, recommendation, reasons FROM claims WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((
        id,
        worker_id,
        insurer_id,
        policy_id,
        claim_type,
        incident_at,
        period_start,
        period_end,
        description,
        status,
        recommendation,
        reasons,
    )) = row
    else {
        return Ok(None);
    };
    let history: Vec<(String, Option<String>, DateTime<Utc>)> =
        sqlx::query_as("SELECT status, note, at FROM claim_status_history WHERE claim_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Some(Claim {
        id,
        worker_id,
        insurer_id,
        policy_id,
        claim_type: serde_json::from_value(Value::String(claim_type)).map_err(anyhow::Error::from)?,
        incident_at,
        period_start,
        period_end,
        description,
        status,
        recommendation: serde_json::from_value(Value::String(recommendation)).map_err(anyhow::Error::from)?,
        reasons: reasons.0,
        history: history.into_iter().map(|(status, note, at)| StatusChange { status, note, at }).collect(),
    }))
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
    let claim = load(&mut conn, *id)
        .await?
        .filter(|c| caller.may_see(c.worker_id, &c.insurer_id))
        .ok_or_else(|| ApiError::not_found("claim"))?;
    Ok(HttpResponse::Ok().json(claim))
}
