//! Policies: a worker binds a valid, unexpired quote of theirs (once: binding it again
//! answers the same policy); cancelling refunds the unused part of a fixed monthly premium
//! pro rata. `policy.bound` and `policy.cancelled` go on the feed with the change.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Months, Utc};
use gigcover_domain::{Currency, Money};
use gigcover_feed::NewEvent;
use gigcover_kit::auth::{Authorized, RecordScope, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult, idempotency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::quotes::Coverage;

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
    /// What the policy covers and how it is billed, frozen from its quote.
    #[schema(value_type = Coverage)]
    pub coverage: sqlx::types::Json<Coverage>,
    /// The policy this one renews.
    pub renews: Option<Uuid>,
}

/// `lapsed` is an active policy past its end, computed on read so it is never stale.
const COLUMNS: &str = "id, quote_id, insurer_id, worker_id, product_id, tariff_version, kind, premium, currency,
    CASE WHEN status = 'active' AND ends_at <= now() THEN 'lapsed' ELSE status END AS status,
    starts_at, ends_at, cancelled_at, refund, definition, coverage, renews";

/// One policy the caller may see (`lock`: for update, in the caller's transaction).
pub(crate) async fn load(
    conn: &mut sqlx::PgConnection,
    scope: &RecordScope,
    id: Uuid,
    lock: bool,
) -> ApiResult<Option<Policy>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM policies p WHERE id = $1 AND {}{}",
        RecordScope::condition("p", 2),
        if lock { " FOR UPDATE" } else { "" }
    );
    Ok(scope.bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id)).fetch_optional(conn).await?)
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
    type QuoteRow = (Uuid, Uuid, i32, Decimal, String, DateTime<Utc>, String, Option<Uuid>);
    let records = RecordScope::of(&caller);
    let quote: Option<QuoteRow> = sqlx::query_as(
        "SELECT q.worker_id, q.product_id, q.tariff_version, q.premium, q.currency, q.valid_until, p.kind, q.renews
         FROM quotes q JOIN products p ON p.id = q.product_id WHERE q.id = $1 FOR UPDATE OF q",
    )
    .bind(body.quote_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((owner, product, version, premium, currency, valid_until, kind, renews)) = quote else {
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
        let policy = load(&mut tx, &records, id, false).await?.ok_or_else(|| ApiError::not_found("policy"))?;
        return Ok(HttpResponse::Ok().json(policy));
    }
    let now = Utc::now();
    if valid_until <= now {
        return Err(ApiError::conflict("quote_expired", "the quote has expired; ask for a new one"));
    }
    let quote =
        crate::quotes::load(&pool, &records, body.quote_id).await?.ok_or_else(|| ApiError::not_found("quote"))?;
    // A renewal starts where the policy it renews ends (or now, if that has passed).
    let starts = match renews {
        Some(old) => {
            let old = load(&mut tx, &records, old, true).await?.ok_or_else(|| ApiError::not_found("policy"))?;
            if old.status == "cancelled" {
                return Err(ApiError::conflict("not_renewable", "the policy it renews was cancelled"));
            }
            let renewed: Option<Uuid> = sqlx::query_scalar("SELECT id FROM policies WHERE renews = $1")
                .bind(old.id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(other) = renewed {
                return Err(ApiError::conflict("already_renewed", format!("policy {other} already renews it")));
            }
            old.ends_at.max(now)
        }
        None => now,
    };
    let ends = starts.checked_add_months(Months::new(1)).ok_or_else(|| anyhow::anyhow!("date overflow"))?;
    let policy: Policy = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO policies (id, quote_id, insurer_id, worker_id, product_id, tariff_version, kind, premium, currency,
                               status, starts_at, ends_at, definition, coverage, renews)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11, $12, $13, $14) RETURNING {COLUMNS}"
    )))
    .bind(Uuid::now_v7())
    .bind(body.quote_id)
    .bind(&quote.insurer_id)
    .bind(worker)
    .bind(product)
    .bind(version)
    .bind(&kind)
    .bind(premium)
    .bind(&currency)
    .bind(starts)
    .bind(ends)
    .bind(&quote.coverage.definition)
    .bind(sqlx::types::Json(&quote.coverage))
    .bind(renews)
    .fetch_one(&mut *tx)
    .await?;
    let event = NewEvent::new("policy.bound", &policy).map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        let answer = serde_json::to_value(&policy).map_err(anyhow::Error::from)?;
        idempotency::remember(&mut tx, &scope, key, &request_hash, StatusCode::CREATED, &answer).await?;
    }
    gigcover_feed::publish(tx, &[event]).await?;
    crate::metrics::get().bound(&policy.insurer_id);
    Ok(HttpResponse::Created().json(policy))
}

/// The unused part of a fixed monthly premium, rounded by the tariff's rule (accident cover
/// is billed on its insured hours, so cancelling it refunds nothing: it stops the billing).
pub fn refund(policy: &Policy, at: DateTime<Utc>) -> Decimal {
    if !matches!(policy.kind.as_str(), "liability" | "equipment" | "income_protection") || at >= policy.ends_at {
        return Decimal::ZERO;
    }
    let total = (policy.ends_at - policy.starts_at).num_seconds().max(1);
    let left = (policy.ends_at - at.max(policy.starts_at)).num_seconds().max(0);
    let amount = policy.premium * Decimal::from(left) / Decimal::from(total);
    match Currency::parse(&policy.currency) {
        Ok(currency) => Money::new(amount, currency).round(policy.coverage.rounding).amount(),
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
    let policy =
        load(&mut tx, &RecordScope::of(&caller), *id, true).await?.ok_or_else(|| ApiError::not_found("policy"))?;
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
    crate::metrics::get().cancelled(&policy.insurer_id);
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
    let policy =
        load(&mut conn, &RecordScope::of(&caller), *id, false).await?.ok_or_else(|| ApiError::not_found("policy"))?;
    Ok(HttpResponse::Ok().json(policy))
}

/// Renewal: a new quote for the same product, on its tariff in effect now and the worker's
/// current profile; binding it starts the new policy where this one ends.
#[utoipa::path(post, path = "/v1/policies/{id}/renew", tag = "policies", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 201, body = crate::quotes::Quote),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "cancelled, or renewed already", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "not enough history", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn renew(
    caller: Authorized<roles::Worker>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
    state: web::Data<crate::quotes::QuoteState>,
) -> ApiResult<HttpResponse> {
    let mut conn = pool.acquire().await?;
    let policy =
        load(&mut conn, &RecordScope::of(&caller), *id, false).await?.ok_or_else(|| ApiError::not_found("policy"))?;
    drop(conn);
    if policy.status == "cancelled" {
        return Err(ApiError::conflict("not_renewable", "a cancelled policy is not renewed"));
    }
    let product = crate::products::current(&pool, None, None, Some(policy.product_id))
        .await?
        .pop()
        .ok_or_else(|| ApiError::conflict("not_renewable", "the product is no longer offered"))?;
    // The renewal keeps what the worker declared for the policy it renews.
    let original = crate::quotes::load(&pool, &RecordScope::of(&caller), policy.quote_id).await?;
    let vehicle =
        original.and_then(|q| q.inputs.vehicle).and_then(|v| serde_json::from_value(serde_json::Value::String(v)).ok());
    let declared = crate::quotes::Declared { identity: &state.identity, vehicle };
    let quotes =
        crate::quotes::price_offers(&state.enrichment, &declared, policy.worker_id, vec![product], Some(policy.id))
            .await?;
    let mut tx = pool.begin().await?;
    crate::quotes::store(&mut tx, policy.worker_id, &quotes).await?;
    tx.commit().await?;
    let quote = quotes.into_iter().next().ok_or_else(|| anyhow::anyhow!("a product priced into no quote"))?;
    Ok(HttpResponse::Created().json(quote))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gigcover_domain::Rounding;

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
            coverage: sqlx::types::Json(Coverage {
                definition: None,
                hourly_rate: None,
                benefit: None,
                rounding: Rounding::HalfEven,
                min_premium: Decimal::ZERO,
                max_premium: Decimal::ONE_HUNDRED,
                claim_decision_hours: 120,
            }),
            renews: None,
        };
        // 20 of 30 days left: 20.00 of 30.00.
        assert_eq!(refund(&p, "2026-11-11T00:00:00Z".parse().unwrap()), Decimal::new(2000, 2));
        assert_eq!(refund(&p, "2026-12-05T00:00:00Z".parse().unwrap()), Decimal::ZERO);
        p.kind = "accident".into();
        assert_eq!(refund(&p, "2026-11-11T00:00:00Z".parse().unwrap()), Decimal::ZERO);
    }
}
