//! Policies: a worker binds a valid, unexpired quote of theirs (once: binding it again
//! answers the same policy); cancelling refunds the unused part of a fixed monthly premium
//! pro rata. `policy.bound` and `policy.cancelled` go on the feed with the change.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Months, Utc};
use gigcover_domain::{Currency, Money, Rounding};
use gigcover_feed::NewEvent;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult, idempotency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bind {
    pub quote_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Policy {
    pub id: Uuid,
    pub quote_id: Uuid,
    pub insurer_id: String,
    pub worker_id: Uuid,
    pub product_id: Uuid,
    pub tariff_version: i32,
    pub kind: String,
    /// Monthly premium.
    #[schema(value_type = String)]
    pub premium: Decimal,
    pub currency: String,
    /// `active`, `cancelled` or `lapsed`.
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>)]
    pub refund: Option<Decimal>,
    /// The insured-time definition of the frozen tariff version (accident cover).
    pub definition: Option<String>,
}

const COLUMNS: &str =
    "id, quote_id, insurer_id, worker_id, product_id, tariff_version, kind, premium, currency, status,
                       starts_at, ends_at, cancelled_at, refund, definition";

async fn load(conn: &mut sqlx::PgConnection, id: Uuid, lock: bool) -> ApiResult<Option<Policy>> {
    let sql = format!("SELECT {COLUMNS} FROM policies WHERE id = $1{}", if lock { " FOR UPDATE" } else { "" });
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(conn).await?)
}

/// Binds a quote into a policy covering the next month.
#[utoipa::path(post, path = "/v1/policies", tag = "policies", security(("bearer" = [])), request_body = Bind,
    params(("Idempotency-Key" = Option<String>, Header, description = "a replay returns the first answer")),
    responses((status = 201, body = Policy), (status = 200, description = "the quote was bound before: the same policy", body = Policy),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "the quote expired", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn bind(
    caller: Authorized<roles::Worker>,
    req: HttpRequest,
    body: Json<Bind>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let worker = caller.worker_id().map(|w| w.as_uuid()).ok_or_else(|| ApiError::not_found("quote"))?;
    let key = idempotency::key(&req)?;
    let scope = format!("worker:{worker}");
    let request_hash = crate::request_hash(&*body)?;
    let mut tx = pool.begin().await?;
    if let Some(key) = &key
        && let Some(first) = idempotency::find(&mut tx, &scope, key).await?
    {
        return first.replay(&request_hash);
    }
    type QuoteRow = (String, Uuid, Uuid, i32, Decimal, String, DateTime<Utc>, String, Option<String>);
    let quote: Option<QuoteRow> = sqlx::query_as(
        "SELECT q.insurer_id, q.worker_id, q.product_id, q.tariff_version, q.premium, q.currency, q.valid_until, p.kind,
                t.document -> 'basis' -> 'per_insured_hour' ->> 'definition'
         FROM quotes q JOIN products p ON p.id = q.product_id
              JOIN tariff_versions t ON t.product_id = q.product_id AND t.version = q.tariff_version
         WHERE q.id = $1 FOR UPDATE OF q",
    )
    .bind(body.quote_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((insurer, owner, product, version, premium, currency, valid_until, kind, definition)) = quote else {
        return Err(ApiError::not_found("quote"));
    };
    if owner != worker {
        return Err(ApiError::not_found("quote"));
    }
    let existing: Option<Uuid> = sqlx::query_scalar("SELECT id FROM policies WHERE quote_id = $1")
        .bind(body.quote_id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(id) = existing {
        let policy = load(&mut tx, id, false).await?.ok_or_else(|| ApiError::not_found("policy"))?;
        return Ok(HttpResponse::Ok().json(policy));
    }
    let now = Utc::now();
    if valid_until <= now {
        return Err(ApiError::conflict("quote_expired", "the quote has expired; ask for a new one"));
    }
    let ends = now.checked_add_months(Months::new(1)).ok_or_else(|| anyhow::anyhow!("date overflow"))?;
    let policy: Policy = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO policies (id, quote_id, insurer_id, worker_id, product_id, tariff_version, kind, premium, currency,
                               status, starts_at, ends_at, definition)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12) RETURNING {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(body.quote_id)
    .bind(&insurer)
    .bind(worker)
    .bind(product)
    .bind(version)
    .bind(&kind)
    .bind(premium)
    .bind(&currency)
    .bind(now)
    .bind(ends)
    .bind(&definition)
    .fetch_one(&mut *tx)
    .await?;
    let event = NewEvent::new("policy.bound", &policy).map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        let answer = serde_json::to_value(&policy).map_err(anyhow::Error::from)?;
        idempotency::remember(&mut tx, &scope, key, &request_hash, StatusCode::CREATED, &answer).await?;
    }
    gigcover_feed::publish(tx, &[event]).await?;
    Ok(HttpResponse::Created().json(policy))
}

/// The unused part of a fixed monthly premium, to the cent (accident cover is priced per
/// insured hour and refunds nothing).
pub fn refund(policy: &Policy, at: DateTime<Utc>) -> Decimal {
    if !matches!(policy.kind.as_str(), "liability" | "equipment") || at >= policy.ends_at {
        return Decimal::ZERO;
    }
    let total = (policy.ends_at - policy.starts_at).num_seconds().max(1);
    let left = (policy.ends_at - at.max(policy.starts_at)).num_seconds().max(0);
    let amount = policy.premium * Decimal::from(left) / Decimal::from(total);
    match Currency::parse(&policy.currency) {
        Ok(currency) => Money::new(amount, currency).round(Rounding::HalfEven).amount(),
        Err(_) => amount.round_dp(2),
    }
}

/// Cancels an active policy (its worker or its insurer), refunding pro rata.
#[utoipa::path(post, path = "/v1/policies/{id}/cancel", tag = "policies", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Policy), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "not active", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let mut tx = pool.begin().await?;
    let policy = load(&mut tx, *id, true)
        .await?
        .filter(|p| caller.may_see(p.worker_id, &p.insurer_id))
        .ok_or_else(|| ApiError::not_found("policy"))?;
    if policy.status != "active" {
        return Err(ApiError::conflict("not_active", format!("the policy is {}", policy.status)));
    }
    let now = Utc::now();
    let policy: Policy = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE policies SET status = 'cancelled', cancelled_at = $2, refund = $3 WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(*id)
    .bind(now)
    .bind(refund(&policy, now))
    .fetch_one(&mut *tx)
    .await?;
    let event = NewEvent::new("policy.cancelled", &policy).map_err(anyhow::Error::from)?;
    gigcover_feed::publish(tx, &[event]).await?;
    Ok(HttpResponse::Ok().json(policy))
}

/// One policy: its worker, its insurer, or ops.
#[utoipa::path(get, path = "/v1/policies/{id}", tag = "policies", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Policy), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let mut conn = pool.acquire().await?;
    let policy = load(&mut conn, *id, false)
        .await?
        .filter(|p| caller.may_see(p.worker_id, &p.insurer_id))
        .ok_or_else(|| ApiError::not_found("policy"))?;
    Ok(HttpResponse::Ok().json(policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_premium_refunds_the_unused_part_and_accident_cover_nothing() {
        let start: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let mut p = Policy {
            id: Uuid::nil(),
            quote_id: Uuid::nil(),
            insurer_id: "acme".into(),
            worker_id: Uuid::nil(),
            product_id: Uuid::nil(),
            tariff_version: 1,
            kind: "liability".into(),
            premium: Decimal::new(3000, 2),
            currency: "EUR".into(),
            status: "active".into(),
            starts_at: start,
            ends_at: "2026-12-01T00:00:00Z".parse().unwrap(),
            cancelled_at: None,
            refund: None,
            definition: None,
        };
        // 20 of 30 days left: 20.00 of 30.00.
        assert_eq!(refund(&p, "2026-11-11T00:00:00Z".parse().unwrap()), Decimal::new(2000, 2));
        assert_eq!(refund(&p, "2026-12-05T00:00:00Z".parse().unwrap()), Decimal::ZERO);
        p.kind = "accident".into();
        assert_eq!(refund(&p, "2026-11-11T00:00:00Z".parse().unwrap()), Decimal::ZERO);
    }
}
