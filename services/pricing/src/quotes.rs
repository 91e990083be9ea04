//! Marketplace quotes: a worker's current profile (from enrichment) priced by every
//! insurer's product of a kind, or one insurer's; each quote frozen with its tariff
//! version, inputs and explanation.

use std::collections::HashMap;
use std::str::FromStr as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use gigcover_kit::auth::{Authorized, ConsentClient, ConsentScope, Role, roles};
use gigcover_kit::client::ServiceClient;
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult, idempotency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::products::{self, ProductKind};
use crate::tariff::{Line, RatingInputs, price};

/// How long a quote can be bound.
const VALID_DAYS: i64 = 7;

pub struct QuoteState {
    pub enrichment: ServiceClient,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub worker_id: Uuid,
    pub kind: ProductKind,
    /// Only this insurer's products (an insurer caller always gets only its own).
    pub insurer_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Quote {
    pub id: Uuid,
    pub insurer_id: String,
    pub product_id: Uuid,
    pub product_name: String,
    pub tariff_version: i32,
    /// Monthly premium.
    #[schema(value_type = String)]
    pub premium: Decimal,
    pub currency: String,
    pub valid_until: DateTime<Utc>,
    pub inputs: RatingInputs,
    /// Every step, summing exactly to the premium.
    pub explanation: Vec<Line>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Marketplace {
    pub worker_id: Uuid,
    pub kind: ProductKind,
    /// Cheapest first.
    pub quotes: Vec<Quote>,
}

fn decimal(v: &Value) -> Decimal {
    v.as_str().and_then(|s| Decimal::from_str(s).ok()).unwrap_or_default()
}

async fn inputs(enrichment: &ServiceClient, worker: Uuid, definition: &str) -> ApiResult<RatingInputs> {
    let profile: Value =
        enrichment.get_json(&format!("/v1/workers/{worker}/profile?definition={definition}")).await.map_err(|e| {
            ApiError::unavailable("profile_unavailable", format!("the worker's profile is unavailable: {e}"))
        })?;
    let w = &profile["last_12_weeks"];
    Ok(RatingInputs {
        avg_weekly_insured_hours: decimal(&w["avg_weekly_insured_hours"]),
        avg_weekly_engaged_hours: decimal(&w["avg_weekly_engaged_hours"]),
        night_share: decimal(&w["night_share"]),
        weekend_share: decimal(&w["weekend_share"]),
        platforms: w["platforms"].as_u64().and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
        regularity: decimal(&w["regularity"]),
    })
}

/// Prices a worker: the marketplace view (every insurer offering the kind) or one insurer.
#[utoipa::path(post, path = "/v1/quotes", tag = "quotes", security(("bearer" = [])), request_body = QuoteRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "a replay returns the first answer")),
    responses((status = 201, body = Marketplace),
              (status = 403, description = "an insurer without the worker's consent", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    caller: Authorized<roles::Any>,
    req: HttpRequest,
    body: Json<QuoteRequest>,
    pool: web::Data<PgPool>,
    state: web::Data<QuoteState>,
    consent: web::Data<ConsentClient>,
) -> ApiResult<HttpResponse> {
    let worker = body.worker_id;
    let insurer = match caller.role {
        Role::Worker if caller.worker_id().map(|w| w.as_uuid()) == Some(worker) => body.insurer_id.clone(),
        Role::Ops => body.insurer_id.clone(),
        Role::Insurer => {
            let own = caller.tenant.clone().ok_or_else(|| ApiError::forbidden("an insurer token names its insurer"))?;
            if body.insurer_id.as_ref().is_some_and(|i| *i != own) {
                return Err(ApiError::forbidden("an insurer quotes only its own products"));
            }
            consent.require(&caller, worker, ConsentScope::Hours, "POST /v1/quotes").await?;
            Some(own)
        }
        Role::Worker => return Err(ApiError::not_found("worker")),
        _ => return Err(ApiError::forbidden("quotes are for workers, insurers and ops")),
    };
    let key = idempotency::key(&req)?;
    let scope = format!("{}:{}", caller.role, caller.subject);
    let request_hash = crate::request_hash(&*body)?;
    let mut tx = pool.begin().await?;
    if let Some(key) = &key
        && let Some(first) = idempotency::find(&mut tx, &scope, key).await?
    {
        return first.replay(&request_hash);
    }
    let offered = products::current(&pool, insurer.as_deref(), Some(body.kind), None).await?;
    let mut by_definition: HashMap<String, RatingInputs> = HashMap::new();
    let now = Utc::now();
    let valid_until = now + Duration::days(VALID_DAYS);
    let mut quotes = Vec::with_capacity(offered.len());
    for product in offered {
        let definition = product.tariff.definition().unwrap_or(crate::DEFAULT_DEFINITION).to_owned();
        if !by_definition.contains_key(&definition) {
            let got = inputs(&state.enrichment, worker, &definition).await?;
            by_definition.insert(definition.clone(), got);
        }
        let rating = by_definition.get(&definition).cloned().unwrap_or_default();
        let priced = price(&product.tariff, &rating);
        quotes.push(Quote {
            id: Uuid::now_v7(),
            insurer_id: product.insurer_id,
            product_id: product.id,
            product_name: product.name,
            tariff_version: product.tariff_version,
            premium: priced.premium,
            currency: priced.currency.code().to_owned(),
            valid_until,
            inputs: rating,
            explanation: priced.lines,
        });
    }
    quotes.sort_by(|a, b| a.premium.cmp(&b.premium).then(a.insurer_id.cmp(&b.insurer_id)));
    for q in &quotes {
        sqlx::query(
            "INSERT INTO quotes (id, insurer_id, worker_id, product_id, tariff_version, premium, currency, inputs, lines, valid_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(q.id)
        .bind(&q.insurer_id)
        .bind(worker)
        .bind(q.product_id)
        .bind(q.tariff_version)
        .bind(q.premium)
        .bind(&q.currency)
        .bind(sqlx::types::Json(&q.inputs))
        .bind(sqlx::types::Json(&q.explanation))
        .bind(q.valid_until)
        .execute(&mut *tx)
        .await?;
    }
    let events = quotes
        .iter()
        .map(|q| {
            gigcover_feed::NewEvent::new(
                "quote.created",
                serde_json::json!({"quote_id": q.id, "insurer_id": q.insurer_id, "worker_id": worker,
                                   "product_id": q.product_id, "premium": q.premium, "currency": q.currency}),
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::from)?;
    let answer = serde_json::to_value(Marketplace { worker_id: worker, kind: body.kind, quotes })
        .map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        idempotency::remember(&mut tx, &scope, key, &request_hash, StatusCode::CREATED, &answer).await?;
    }
    gigcover_feed::publish(tx, &events).await?;
    Ok(HttpResponse::Created().json(answer))
}

/// One quote: its worker, its insurer, or ops (anyone else: not found).
#[utoipa::path(get, path = "/v1/quotes/{id}", tag = "quotes", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Quote), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    type Row = (
        Uuid,
        String,
        Uuid,
        Uuid,
        String,
        i32,
        Decimal,
        String,
        DateTime<Utc>,
        sqlx::types::Json<RatingInputs>,
        sqlx::types::Json<Vec<Line>>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT q.id, q.insurer_id, q.worker_id, q.product_id, p.name, q.tariff_version, q.premium, q.currency,
                q.valid_until, q.inputs, q.lines
         FROM quotes q JOIN products p ON p.id = q.product_id WHERE q.id = $1",
    )
    .bind(*id)
    .fetch_optional(pool.get_ref())
    .await?;
    let Some((
        id,
        insurer_id,
        worker_id,
        product_id,
        product_name,
        tariff_version,
        premium,
        currency,
        valid_until,
        inputs,
        lines,
    )) = row
    else {
        return Err(ApiError::not_found("quote"));
    };
    if !caller.may_see(worker_id, &insurer_id) {
        return Err(ApiError::not_found("quote"));
    }
    Ok(HttpResponse::Ok().json(Quote {
        id,
        insurer_id,
        product_id,
        product_name,
        tariff_version,
        premium,
        currency,
        valid_until,
        inputs: inputs.0,
        explanation: lines.0,
    }))
}
