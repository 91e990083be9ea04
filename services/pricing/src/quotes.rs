//! Marketplace quotes: a worker's current profile (from enrichment) priced by every
//! insurer's product of a kind, or one insurer's; each quote frozen with its tariff
//! version, inputs and explanation.

use std::collections::HashMap;
use std::str::FromStr as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use gigcover_kit::auth::{Authorized, ConsentClient, ConsentScope, RecordScope, Role, roles};
use gigcover_kit::client::{ClientError, ServiceClient};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult, idempotency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use gigcover_domain::{Currency, Money, Rounding};

use crate::products::{self, ProductKind};
use crate::tariff::{BenefitTerms, Line, RatingInputs, Tariff, hourly_rate, price};

/// How long a quote can be bound.
const VALID_DAYS: i64 = 7;

pub struct QuoteState {
    pub enrichment: ServiceClient,
    /// For the worker's age, when a tariff rates on it.
    pub identity: ServiceClient,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub worker_id: Uuid,
    pub kind: ProductKind,
    /// Only this insurer's products (an insurer caller always gets only its own).
    pub insurer_id: Option<String>,
    /// The vehicle the worker works with (tariffs may rate on it).
    pub vehicle: Option<Vehicle>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Vehicle {
    OnFoot,
    Bicycle,
    EBike,
    CargoBike,
    Scooter,
    Motorbike,
    Car,
    Van,
}

impl Vehicle {
    pub fn as_str(self) -> &'static str {
        match self {
            Vehicle::OnFoot => "on_foot",
            Vehicle::Bicycle => "bicycle",
            Vehicle::EBike => "e_bike",
            Vehicle::CargoBike => "cargo_bike",
            Vehicle::Scooter => "scooter",
            Vehicle::Motorbike => "motorbike",
            Vehicle::Car => "car",
            Vehicle::Van => "van",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub coverage: Coverage,
    /// The policy this quote renews, if it is a renewal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renews: Option<Uuid>,
}

/// What a quote (and the policy bound from it) covers and how it is billed, frozen with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coverage {
    /// The insured-time definition (`name` or `name@version`) cover and billing follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Per-hour products: the price of one insured hour after the rating factors; the
    /// monthly statement bills each day's insured hours at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub hourly_rate: Option<Decimal>,
    /// Income protection: the insured daily benefit today and its terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub benefit: Option<BenefitCoverage>,
    pub rounding: Rounding,
    /// Per-hour products: a month's bill is at least this and at most `max_premium`.
    #[schema(value_type = String)]
    pub min_premium: Decimal,
    #[schema(value_type = String)]
    pub max_premium: Decimal,
    /// Claims on the policy are decided within this many hours (the SLA).
    #[serde(default = "crate::tariff::default_claim_decision_hours")]
    pub claim_decision_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BenefitCoverage {
    /// Average daily net earnings over the reference window, as of the quote.
    #[schema(value_type = String)]
    pub avg_daily_net: Decimal,
    /// `percent` of it within the floor and the cap, rounded.
    #[schema(value_type = String)]
    pub daily_benefit: Decimal,
    pub terms: BenefitTerms,
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

/// A worker needs this many active days in the last 12 weeks to be priced.
pub const MIN_ACTIVE_DAYS: u64 = 5;

/// What a quote reads of a worker's enrichment profile (under one definition).
#[derive(Debug, Clone)]
struct ProfileFigures {
    rating: RatingInputs,
    /// Average daily net earnings over the last 4 and 12 weeks, per currency.
    daily_net: HashMap<(u32, String), Decimal>,
}

impl ProfileFigures {
    fn daily_net(&self, weeks: u32, currency: Currency) -> Decimal {
        self.daily_net.get(&(weeks, currency.code().to_owned())).copied().unwrap_or_default()
    }
}

async fn profile(enrichment: &ServiceClient, worker: Uuid, definition: &str) -> ApiResult<ProfileFigures> {
    let profile: Value = enrichment
        .get_json(&format!("/v1/workers/{worker}/profile?definition={definition}"))
        .await
        .map_err(|e| match e {
            ClientError::Status { status, .. } if status.as_u16() == 404 => ApiError::unprocessable(
                "insufficient_history",
                format!(
                    "the worker has no work history yet; a quote needs at least {MIN_ACTIVE_DAYS} active days \
                         in the last 12 weeks from a linked platform account"
                ),
            ),
            other => {
                ApiError::unavailable("profile_unavailable", format!("the worker's profile is unavailable: {other}"))
            }
        })?;
    let w = &profile["last_12_weeks"];
    let active = w["active_days"].as_u64().unwrap_or(0);
    if active < MIN_ACTIVE_DAYS {
        return Err(ApiError::unprocessable(
            "insufficient_history",
            format!(
                "the worker has {active} active days in the last 12 weeks; a quote needs at least {MIN_ACTIVE_DAYS} \
                 (activity from a linked platform account)"
            ),
        ));
    }
    let mut daily_net = HashMap::new();
    for (weeks, window) in [(4, &profile["last_4_weeks"]), (12, w)] {
        for e in window["earnings"].as_array().into_iter().flatten() {
            if let Some(currency) = e["currency"].as_str() {
                daily_net.insert((weeks, currency.to_owned()), decimal(&e["avg_daily_net"]));
            }
        }
    }
    Ok(ProfileFigures {
        rating: RatingInputs {
            avg_weekly_insured_hours: decimal(&w["avg_weekly_insured_hours"]),
            avg_weekly_engaged_hours: decimal(&w["avg_weekly_engaged_hours"]),
            night_share: decimal(&w["night_share"]),
            weekend_share: decimal(&w["weekend_share"]),
            platforms: w["platforms"].as_u64().and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
            regularity: decimal(&w["regularity"]),
            tenure_weeks: tenure_weeks(&profile),
            age_years: None,
            vehicle: None,
            market: profile["time_zone"].as_str().map(str::to_owned),
        },
        daily_net,
    })
}

/// Whole weeks from the worker's first active day to the profile's day.
fn tenure_weeks(profile: &Value) -> Decimal {
    let day = |k: &str| profile[k].as_str().and_then(|d| d.parse::<chrono::NaiveDate>().ok());
    match (day("first_active_day"), day("as_of")) {
        (Some(first), Some(as_of)) if as_of >= first => Decimal::from((as_of - first).num_days() / 7),
        _ => Decimal::ZERO,
    }
}

/// The worker's age in years from identity (`None`: no date of birth given).
async fn age(identity: &ServiceClient, worker: Uuid) -> ApiResult<Option<u32>> {
    let answer: Value = identity.get_json(&format!("/v1/workers/{worker}/age")).await.map_err(|e| {
        ApiError::unavailable("identity_unavailable", format!("the worker's age could not be read: {e}"))
    })?;
    Ok(answer["age_years"].as_u64().and_then(|a| u32::try_from(a).ok()))
}

/// What the worker declares and what identity holds, for tariffs that rate on them.
pub(crate) struct Declared<'a> {
    pub identity: &'a ServiceClient,
    pub vehicle: Option<Vehicle>,
}

/// What a quote covers, beyond its premium.
fn coverage(tariff: &Tariff, priced: &crate::tariff::Priced, figures: &ProfileFigures) -> Coverage {
    let benefit = tariff.benefit().map(|terms| {
        let avg = figures.daily_net(terms.reference_weeks, tariff.currency);
        let daily = Money::new(terms.daily_benefit(avg), tariff.currency).round(tariff.rounding);
        BenefitCoverage { avg_daily_net: avg, daily_benefit: daily.amount(), terms: terms.clone() }
    });
    Coverage {
        definition: tariff.definition().map(str::to_owned),
        hourly_rate: hourly_rate(&tariff.basis, &priced.lines),
        benefit,
        rounding: tariff.rounding,
        min_premium: tariff.min_premium,
        max_premium: tariff.max_premium,
        claim_decision_hours: tariff.claim_decision_hours,
    }
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
            // Income protection's benefit follows the worker's earnings.
            let needs = match body.kind {
                ProductKind::IncomeProtection => ConsentScope::HoursAndEarnings,
                _ => ConsentScope::Hours,
            };
            consent.require(&caller, worker, needs, "POST /v1/quotes").await?;
            Some(own)
        }
        Role::Worker => return Err(ApiError::not_found("worker")),
        _ => return Err(ApiError::forbidden("quotes are for workers, insurers and ops")),
    };
    let key = idempotency::key(&req)?;
    let scope = format!("{}:{}", caller.role, caller.subject);
    let request_hash = crate::request_hash(&*body)?;
    // With a key, its lock is held from the lookup to the commit (a concurrent request with
    // the same key waits, then replays); without one, no connection is held while pricing.
    let mut held = None;
    if let Some(key) = &key {
        let mut tx = pool.begin().await?;
        if let Some(first) = idempotency::find(&mut tx, &scope, key).await? {
            return first.replay(&request_hash);
        }
        held = Some(tx);
    }
    let offered = products::current(&pool, insurer.as_deref(), Some(body.kind), None).await?;
    let declared = Declared { identity: &state.identity, vehicle: body.vehicle };
    let quotes = price_offers(&state.enrichment, &declared, worker, offered, None).await?;
    let answer = serde_json::to_value(Marketplace { worker_id: worker, kind: body.kind, quotes: quotes.clone() })
        .map_err(anyhow::Error::from)?;
    let mut tx = match held {
        Some(tx) => tx,
        None => pool.begin().await?,
    };
    if let Some(key) = &key {
        idempotency::remember(&mut tx, &scope, key, &request_hash, StatusCode::CREATED, &answer).await?;
    }
    store(&mut tx, worker, &quotes).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(answer))
}

/// Prices each offered product on the worker's profile (read once per definition), cheapest
/// first.
pub(crate) async fn price_offers(
    enrichment: &ServiceClient,
    declared: &Declared<'_>,
    worker: Uuid,
    offered: Vec<products::Product>,
    renews: Option<Uuid>,
) -> ApiResult<Vec<Quote>> {
    let rates_on_age =
        offered.iter().any(|p| p.tariff.factors.iter().any(|f| f.input == crate::tariff::FactorInput::AgeYears));
    let age_years = if rates_on_age { age(declared.identity, worker).await? } else { None };
    let mut by_definition: HashMap<String, ProfileFigures> = HashMap::new();
    let valid_until = Utc::now() + Duration::days(VALID_DAYS);
    let mut quotes = Vec::with_capacity(offered.len());
    for product in offered {
        let definition = product.tariff.definition().unwrap_or(crate::DEFAULT_DEFINITION).to_owned();
        if !by_definition.contains_key(&definition) {
            let got = profile(enrichment, worker, &definition).await?;
            by_definition.insert(definition.clone(), got);
        }
        let Some(figures) = by_definition.get_mut(&definition) else { continue };
        figures.rating.age_years = age_years;
        figures.rating.vehicle = declared.vehicle.map(|v| v.as_str().to_owned());
        let figures = &*figures;
        let priced = price(&product.tariff, &figures.rating).map_err(|m| {
            ApiError::unprocessable(
                "missing_rating_fact",
                format!("{}'s tariff rates on {}: {}", product.name, m.input, m.what),
            )
            .with_errors(vec![gigcover_domain::FieldProblem::new(m.input, m.what.clone())])
        })?;
        quotes.push(Quote {
            id: Uuid::now_v7(),
            insurer_id: product.insurer_id,
            product_id: product.id,
            product_name: product.name,
            tariff_version: product.tariff_version,
            premium: priced.premium,
            currency: priced.currency.code().to_owned(),
            valid_until,
            inputs: figures.rating.clone(),
            coverage: coverage(&product.tariff, &priced, figures),
            explanation: priced.lines,
            renews,
        });
    }
    quotes.sort_by(|a, b| a.premium.cmp(&b.premium).then(a.insurer_id.cmp(&b.insurer_id)));
    Ok(quotes)
}

/// Stores quotes and puts `quote.created` on the feed, in the caller's transaction.
pub(crate) async fn store(tx: &mut sqlx::PgConnection, worker: Uuid, quotes: &[Quote]) -> ApiResult<()> {
    for q in quotes {
        sqlx::query(
            "INSERT INTO quotes (id, insurer_id, worker_id, product_id, tariff_version, premium, currency, inputs, lines,
                                 valid_until, coverage, renews)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
        .bind(sqlx::types::Json(&q.coverage))
        .bind(q.renews)
        .execute(&mut *tx)
        .await?;
    }
    let events = quotes
        .iter()
        .map(|q| {
            gigcover_feed::NewEvent::new(
                "quote.created",
                serde_json::json!({"quote_id": q.id, "insurer_id": q.insurer_id, "worker_id": worker,
                                   "product_id": q.product_id, "premium": q.premium, "currency": q.currency,
                                   "renews": q.renews}),
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::from)?;
    gigcover_feed::publish_within(tx, &events).await?;
    for q in quotes {
        crate::metrics::get().quoted(&q.insurer_id);
    }
    Ok(())
}

/// One quote: its worker, its insurer, or ops (anyone else: not found).
#[utoipa::path(get, path = "/v1/quotes/{id}", tag = "quotes", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Quote), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let quote = load(&pool, &RecordScope::of(&caller), *id).await?.ok_or_else(|| ApiError::not_found("quote"))?;
    Ok(HttpResponse::Ok().json(quote))
}

#[derive(sqlx::FromRow)]
struct QuoteRow {
    id: Uuid,
    insurer_id: String,
    product_id: Uuid,
    product_name: String,
    tariff_version: i32,
    premium: Decimal,
    currency: String,
    valid_until: DateTime<Utc>,
    inputs: sqlx::types::Json<RatingInputs>,
    lines: sqlx::types::Json<Vec<Line>>,
    coverage: sqlx::types::Json<Coverage>,
    renews: Option<Uuid>,
}

/// One quote the caller may see.
pub(crate) async fn load(pool: &PgPool, scope: &RecordScope, id: Uuid) -> ApiResult<Option<Quote>> {
    let sql = format!(
        "SELECT q.id, q.insurer_id, q.product_id, p.name AS product_name, q.tariff_version, q.premium, q.currency,
                q.valid_until, q.inputs, q.lines, q.coverage, q.renews
         FROM quotes q JOIN products p ON p.id = q.product_id WHERE q.id = $1 AND {}",
        RecordScope::condition("q", 2)
    );
    let row: Option<QuoteRow> =
        scope.bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id)).fetch_optional(pool).await?;
    Ok(row.map(|r| Quote {
        id: r.id,
        insurer_id: r.insurer_id,
        product_id: r.product_id,
        product_name: r.product_name,
        tariff_version: r.tariff_version,
        premium: r.premium,
        currency: r.currency,
        valid_until: r.valid_until,
        inputs: r.inputs.0,
        explanation: r.lines.0,
        coverage: r.coverage.0,
        renews: r.renews,
    }))
}
