//! `GET /v1/workers/{id}/activities?from=&to=&limit=&cursor=`: a worker's activities of
//! all linked platforms overlapping a time range, oldest first, paged with an opaque cursor.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use gigcover_kit::auth::{ReadsWorker, needs};
use gigcover_kit::http::Query;
use gigcover_kit::{ApiError, ApiResult};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::state::IngestState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// Activities ending after this instant (RFC 3339).
    from: DateTime<Utc>,
    /// Activities starting before this instant.
    to: DateTime<Utc>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityView {
    pub platform: String,
    pub external_id: String,
    pub kind: String,
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[schema(value_type = Option<String>)]
    pub distance_km: Option<Decimal>,
    pub currency: Option<String>,
    #[schema(value_type = Option<String>)]
    pub pay: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub tips: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub bonus: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub fees: Option<Decimal>,
    pub version: i32,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityPage {
    pub activities: Vec<ActivityView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

type Row = (
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<Decimal>,
    Option<String>,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
    Option<Decimal>,
    i32,
);

fn encode_cursor(start: DateTime<Utc>, platform: &str, external_id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}\n{platform}\n{external_id}", start.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> ApiResult<(DateTime<Utc>, String, String)> {
    let bad = || ApiError::bad_request("invalid_query", "cursor is not one this API gave out");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let mut parts = text.splitn(3, '\n');
    let micros: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let start = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    Ok((start, parts.next().ok_or_else(bad)?.to_owned(), parts.next().ok_or_else(bad)?.to_owned()))
}

/// A worker's activities in a time range (retracted ones excluded).
#[utoipa::path(get, path = "/v1/workers/{id}/activities", tag = "activities", security(("bearer" = [])),
    params(("id" = String, Path), Range),
    responses((status = 200, body = ActivityPage), (status = 400, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    reader: ReadsWorker<needs::ActivityDetail>,
    req: HttpRequest,
    state: web::Data<IngestState>,
) -> ApiResult<HttpResponse> {
    let range = Query::<Range>::parse(&req)?;
    let worker = reader.worker;
    if range.to <= range.from {
        return Err(ApiError::bad_request("invalid_query", "to must be after from"));
    }
    let limit = range.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit must be between 1 and 1000"));
    }
    let after = range.cursor.as_deref().map(decode_cursor).transpose()?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT platform_id, external_id, kind, status, starts_at, ends_at, distance_km, currency, pay, tips, bonus, fees, version
         FROM activities
         WHERE worker_id = $1 AND NOT retracted AND starts_at < $3 AND ends_at > $2
           AND ($4::timestamptz IS NULL OR (starts_at, platform_id, external_id) > ($4, $5, $6))
         ORDER BY starts_at, platform_id, external_id
         LIMIT $7",
    )
    .bind(worker)
    .bind(range.from)
    .bind(range.to)
    .bind(after.as_ref().map(|a| a.0))
    .bind(after.as_ref().map(|a| a.1.as_str()))
    .bind(after.as_ref().map(|a| a.2.as_str()))
    .bind(i64::from(limit) + 1)
    .fetch_all(&state.pool)
    .await?;
    let more = rows.len() > limit as usize;
    let activities: Vec<ActivityView> = rows
        .into_iter()
        .take(limit as usize)
        .map(
            |(
                platform,
                external_id,
                kind,
                status,
                start,
                end,
                distance_km,
                currency,
                pay,
                tips,
                bonus,
                fees,
                version,
            )| ActivityView {
                platform,
                external_id,
                kind,
                status,
                start,
                end,
                distance_km,
                currency,
                pay,
                tips,
                bonus,
                fees,
                version,
            },
        )
        .collect();
    let next_cursor =
        more.then(|| activities.last().map(|a| encode_cursor(a.start, &a.platform, &a.external_id))).flatten();
    Ok(HttpResponse::Ok().json(ActivityPage { activities, next_cursor }))
}
