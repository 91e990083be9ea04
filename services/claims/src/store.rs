//! Claims as stored: reading one (scoped to who may see it), and every status change with
//! its actor, reason and evidence. The tenant rule lives in the query (`RecordScope`).

use chrono::{DateTime, Utc};
use gigcover_domain::{Currency, Money};
use gigcover_kit::ApiResult;
use gigcover_kit::auth::RecordScope;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::lifecycle::{Actor, Status};
use crate::verify::{Benefit, ClaimType, Reason, Recommendation};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    pub status: Status,
    pub actor: Actor,
    /// Why: a reason code, a note, or the recommendation that moved it.
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: Uuid,
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub bank_reference: Option<String>,
    /// The policy's currency: amounts are approved and paid in it.
    pub currency: Option<Currency>,
    pub status: Status,
    /// The automatic verification's recommendation: automated checks recommend, a person
    /// at the insurer decides.
    pub recommendation: Recommendation,
    pub reasons: Vec<Reason>,
    /// Income loss: the benefit the policy's terms give, with every input.
    pub benefit: Option<Benefit>,
    /// What the insurer approved, and what it reports it paid.
    pub approved_amount: Option<Money>,
    pub paid_amount: Option<Money>,
    pub payment_reference: Option<String>,
    /// The insurer decides by then (the product's SLA).
    pub decision_due: DateTime<Utc>,
    pub sla_breached: bool,
    pub verified_at: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
    pub history: Vec<StatusChange>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    worker_id: Uuid,
    insurer_id: String,
    policy_id: Uuid,
    claim_type: String,
    incident_at: Option<DateTime<Utc>>,
    period_start: Option<DateTime<Utc>>,
    period_end: Option<DateTime<Utc>>,
    description: String,
    bank_reference: Option<String>,
    status: String,
    recommendation: String,
    reasons: sqlx::types::Json<Vec<Reason>>,
    benefit: Option<sqlx::types::Json<Benefit>>,
    currency: Option<String>,
    approved_amount: Option<Decimal>,
    paid_amount: Option<Decimal>,
    payment_reference: Option<String>,
    decision_due: DateTime<Utc>,
    sla_breached_at: Option<DateTime<Utc>>,
    verified_at: DateTime<Utc>,
}

fn parse<T: serde::de::DeserializeOwned>(s: String) -> anyhow::Result<T> {
    Ok(serde_json::from_value(Value::String(s))?)
}

/// One claim the caller may see (`lock`: for update, in the caller's transaction).
pub async fn load(conn: &mut PgConnection, scope: &RecordScope, id: Uuid, lock: bool) -> ApiResult<Option<Claim>> {
    let sql = format!(
        "SELECT id, worker_id, insurer_id, policy_id, claim_type, incident_at, period_start, period_end, description,
                bank_reference, status, recommendation, reasons, benefit, currency, approved_amount, paid_amount,
                payment_reference, decision_due, sla_breached_at, verified_at
         FROM claims c WHERE id = $1 AND {}{}",
        RecordScope::condition("c", 2),
        if lock { " FOR UPDATE" } else { "" }
    );
    let row: Option<Row> =
        scope.bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id)).fetch_optional(&mut *conn).await?;
    let Some(r) = row else { return Ok(None) };
    let history: Vec<(String, String, Option<String>, DateTime<Utc>)> =
        sqlx::query_as("SELECT status, actor, reason, at FROM claim_status_history WHERE claim_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let attachments: Vec<(Uuid, String, i64, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, content_type, size_bytes, sha256, created_at FROM claim_attachments WHERE claim_id = $1 ORDER BY created_at",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let currency = r.currency.as_deref().and_then(|c| Currency::parse(c).ok());
    let money = |amount: Option<Decimal>| amount.zip(currency).map(|(a, c)| Money::new(a, c));
    Ok(Some(Claim {
        id: r.id,
        worker_id: r.worker_id,
        insurer_id: r.insurer_id,
        policy_id: r.policy_id,
        claim_type: parse(r.claim_type)?,
        incident_at: r.incident_at,
        period_start: r.period_start,
        period_end: r.period_end,
        description: r.description,
        bank_reference: r.bank_reference,
        currency,
        status: parse(r.status)?,
        recommendation: parse(r.recommendation)?,
        reasons: r.reasons.0,
        benefit: r.benefit.map(|b| b.0),
        approved_amount: money(r.approved_amount),
        paid_amount: money(r.paid_amount),
        payment_reference: r.payment_reference,
        decision_due: r.decision_due,
        sla_breached: r.sla_breached_at.is_some(),
        verified_at: r.verified_at,
        attachments: attachments
            .into_iter()
            .map(|(id, content_type, size_bytes, sha256, uploaded_at)| Attachment {
                id,
                content_type,
                size_bytes,
                sha256,
                uploaded_at,
            })
            .collect(),
        history: history
            .into_iter()
            .map(|(status, actor, reason, at)| {
                Ok(StatusChange { status: parse(status)?, actor: parse(actor)?, reason, at })
            })
            .collect::<anyhow::Result<_>>()?,
    }))
}

/// One status change, as it is recorded.
pub struct Change<'a> {
    pub claim: Uuid,
    pub to: Status,
    pub actor: Actor,
    /// The token subject of a worker or insurer actor.
    pub subject: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub evidence: Option<&'a Value>,
}

/// Sets the claim's status and records the change (the lifecycle was checked by the caller).
pub async fn record(conn: &mut PgConnection, change: Change<'_>) -> ApiResult<()> {
    sqlx::query("UPDATE claims SET status = $2 WHERE id = $1")
        .bind(change.claim)
        .bind(change.to.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO claim_status_history (claim_id, status, actor, subject, reason, evidence) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(change.claim)
    .bind(change.to.as_str())
    .bind(change.actor.as_str())
    .bind(change.subject)
    .bind(change.reason)
    .bind(change.evidence)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
