//! Products and their tariff versions, owned by an insurer tenant: every query here is
//! scoped to the caller's insurer, so a handler cannot forget it.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use gigcover_kit::auth::{Authorized, Principal, Role, roles};
use gigcover_kit::http::Json;
use gigcover_kit::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::tariff::Tariff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    Accident,
    IncomeProtection,
    Liability,
    Equipment,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Accident => "accident",
            ProductKind::IncomeProtection => "income_protection",
            ProductKind::Liability => "liability",
            ProductKind::Equipment => "equipment",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub kind: ProductKind,
    pub name: String,
    pub tariff: Tariff,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTariff {
    pub tariff: Tariff,
    /// When the version takes effect (default: now). Existing quotes never change.
    pub effective_from: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub insurer_id: String,
    pub kind: ProductKind,
    pub name: String,
    /// The version in effect now.
    pub tariff_version: i32,
    pub tariff: Tariff,
}

/// The insurer a caller acts for (only insurers manage products).
fn insurer(caller: &Principal) -> ApiResult<String> {
    match (caller.role, caller.tenant.as_deref()) {
        (Role::Insurer, Some(t)) => Ok(t.to_owned()),
        _ => Err(ApiError::forbidden("products are managed by their insurer")),
    }
}

fn check(tariff: &Tariff, kind: ProductKind) -> ApiResult<()> {
    let mut problems = tariff.problems();
    let fits = matches!(
        (kind, &tariff.basis),
        (ProductKind::Accident, crate::tariff::Basis::PerInsuredHour { .. })
            | (ProductKind::Liability | ProductKind::Equipment, crate::tariff::Basis::FixedMonthly { .. })
            | (ProductKind::IncomeProtection, crate::tariff::Basis::IncomeProtection { .. })
    );
    if !fits {
        problems.push(gigcover_domain::FieldProblem::new(
            "basis",
            "accident is priced per insured hour (per_insured_hour); liability and equipment at a fixed \
             monthly premium (fixed_monthly); income protection with a benefit (income_protection)",
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::unprocessable("invalid_tariff", "the tariff has problems").with_errors(problems))
    }
}

type Row = (Uuid, String, String, String, i32, sqlx::types::Json<Tariff>);

fn from_row((id, insurer_id, kind, name, tariff_version, tariff): Row) -> ApiResult<Product> {
    let kind = serde_json::from_value(serde_json::Value::String(kind)).map_err(anyhow::Error::from)?;
    Ok(Product { id, insurer_id, kind, name, tariff_version, tariff: tariff.0 })
}

/// Products in effect now, newest tariff version each; `insurer` scopes to one tenant.
pub async fn current(
    pool: &PgPool,
    insurer: Option<&str>,
    kind: Option<ProductKind>,
    id: Option<Uuid>,
) -> ApiResult<Vec<Product>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT DISTINCT ON (p.id) p.id, p.insurer_id, p.kind, p.name, t.version, t.document
         FROM products p JOIN tariff_versions t ON t.product_id = p.id AND t.effective_from <= now()
         WHERE ($1::text IS NULL OR p.insurer_id = $1) AND ($2::text IS NULL OR p.kind = $2)
           AND ($3::uuid IS NULL OR p.id = $3)
         ORDER BY p.id, t.version DESC",
    )
    .bind(insurer)
    .bind(kind.map(ProductKind::as_str))
    .bind(id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Creates a product with its first tariff version.
#[utoipa::path(post, path = "/v1/products", tag = "products", security(("bearer" = [])), request_body = NewProduct,
    responses((status = 201, body = Product),
              (status = 422, description = "every problem of the tariff listed", body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    caller: Authorized<roles::Insurer>,
    body: Json<NewProduct>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let insurer = insurer(&caller)?;
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(ApiError::unprocessable("invalid_product", "name is 1 to 200 characters")
            .with_errors(vec![gigcover_domain::FieldProblem::new("name", "1 to 200 characters")]));
    }
    check(&body.tariff, body.kind)?;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO products (id, insurer_id, kind, name) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(&insurer)
        .bind(body.kind.as_str())
        .bind(body.name.trim())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO tariff_versions (product_id, version, document, effective_from) VALUES ($1, 1, $2, now())",
    )
    .bind(id)
    .bind(sqlx::types::Json(&body.tariff))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let product = Product {
        id,
        insurer_id: insurer,
        kind: body.kind,
        name: body.name.trim().to_owned(),
        tariff_version: 1,
        tariff: body.tariff.clone(),
    };
    Ok(HttpResponse::Created().json(product))
}

/// Publishes the next tariff version of the insurer's own product.
#[utoipa::path(post, path = "/v1/products/{id}/tariffs", tag = "products", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NewTariff,
    responses((status = 201, description = "the new version"),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn publish(
    caller: Authorized<roles::Insurer>,
    id: web::Path<Uuid>,
    body: Json<NewTariff>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let insurer = insurer(&caller)?;
    let mut tx = pool.begin().await?;
    let kind: Option<String> =
        sqlx::query_scalar("SELECT kind FROM products WHERE id = $1 AND insurer_id = $2 FOR UPDATE")
            .bind(*id)
            .bind(&insurer)
            .fetch_optional(&mut *tx)
            .await?;
    let kind: ProductKind = kind
        .and_then(|k| serde_json::from_value(serde_json::Value::String(k)).ok())
        .ok_or_else(|| ApiError::not_found("product"))?;
    check(&body.tariff, kind)?;
    let version: i32 = sqlx::query_scalar(
        "INSERT INTO tariff_versions (product_id, version, document, effective_from)
         SELECT $1, COALESCE(max(version), 0) + 1, $2, COALESCE($3, now()) FROM tariff_versions WHERE product_id = $1
         RETURNING version",
    )
    .bind(*id)
    .bind(sqlx::types::Json(&body.tariff))
    .bind(body.effective_from)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"product_id": *id, "version": version})))
}

/// Products: an insurer sees its own; workers and ops see the marketplace.
#[utoipa::path(get, path = "/v1/products", tag = "products", security(("bearer" = [])),
    responses((status = 200, body = Vec<Product>)))]
pub async fn list(caller: Authorized<roles::Any>, pool: web::Data<PgPool>) -> ApiResult<HttpResponse> {
    let scope = match caller.role {
        Role::Insurer => Some(insurer(&caller)?),
        Role::Worker | Role::Ops | Role::Service => None,
        Role::Platform => return Err(ApiError::forbidden("products are for insurers, workers and ops")),
    };
    Ok(HttpResponse::Ok().json(current(&pool, scope.as_deref(), None, None).await?))
}

/// One product (another insurer's is "not found").
#[utoipa::path(get, path = "/v1/products/{id}", tag = "products", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Product), (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn get(
    caller: Authorized<roles::Any>,
    id: web::Path<Uuid>,
    pool: web::Data<PgPool>,
) -> ApiResult<HttpResponse> {
    let scope = match caller.role {
        Role::Insurer => Some(insurer(&caller)?),
        Role::Platform => return Err(ApiError::forbidden("products are for insurers, workers and ops")),
        _ => None,
    };
    let product =
        current(&pool, scope.as_deref(), None, Some(*id)).await?.pop().ok_or_else(|| ApiError::not_found("product"))?;
    Ok(HttpResponse::Ok().json(product))
}
