//! Claim attachments: the worker uploads photos and documents (allow-listed content types,
//! size-limited) to their claim; the object goes to the object store first, then its row
//! is written and the claim verified again, in one transaction. The worker and the insurer
//! read them back.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use futures::StreamExt as _;
use gigcover_kit::auth::{Authorized, RecordScope, roles};
use gigcover_kit::{ApiError, ApiResult};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::lifecycle::Status;
use crate::reverify;
use crate::settings::ALLOWED_CONTENT_TYPES;
use crate::state::ClaimsState;
use crate::store::{self, Attachment};

fn content_type(req: &HttpRequest) -> ApiResult<String> {
    let given = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = given.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if ALLOWED_CONTENT_TYPES.contains(&essence.as_str()) {
        Ok(essence)
    } else {
        Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            format!("an attachment is one of {}; got `{given}`", ALLOWED_CONTENT_TYPES.join(", ")),
        ))
    }
}

/// The body, refused as soon as it passes `limit`.
async fn read_limited(mut payload: web::Payload, limit: usize) -> ApiResult<web::Bytes> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("unreadable_body", format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError::unprocessable("empty_attachment", "the attachment is empty"));
    }
    Ok(body.freeze())
}

/// Uploads an attachment to the caller's claim (the body is the file).
#[utoipa::path(post, path = "/v1/claims/{id}/attachments", tag = "claims", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "application/pdf", description = "image/jpeg, image/png, image/heic or application/pdf"),
    responses((status = 201, body = Attachment),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "the claim is closed to evidence", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 413, body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
              (status = 415, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn upload(
    caller: Authorized<roles::Worker>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    payload: web::Payload,
    pool: web::Data<PgPool>,
    state: web::Data<ClaimsState>,
) -> ApiResult<HttpResponse> {
    let scope = RecordScope::of(&caller);
    let content_type = content_type(&req)?;
    {
        let mut conn = pool.acquire().await?;
        let claim = store::load(&mut conn, &scope, *id, false).await?.ok_or_else(|| ApiError::not_found("claim"))?;
        if matches!(claim.status, Status::Closed) {
            return Err(ApiError::conflict("claim_closed", "the claim is closed"));
        }
        if claim.attachments.len() as i64 >= state.settings.attachments_per_claim {
            return Err(ApiError::conflict(
                "too_many_attachments",
                format!("a claim has at most {} attachments", state.settings.attachments_per_claim),
            ));
        }
    }
    let bytes = read_limited(payload, state.settings.attachment_limit_bytes).await?;
    let attachment = Uuid::now_v7();
    let key = format!("claims/{}/{attachment}", *id);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as i64;
    state.objects.put(&key, &content_type, bytes).await.map_err(|e| {
        ApiError::unavailable("object_store_unavailable", format!("the attachment could not be stored: {e}; retry"))
    })?;
    let mut tx = pool.begin().await?;
    let claim = store::load(&mut tx, &scope, *id, true).await?.ok_or_else(|| ApiError::not_found("claim"))?;
    sqlx::query(
        "INSERT INTO claim_attachments (id, claim_id, content_type, size_bytes, sha256, object_key) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(attachment)
    .bind(claim.id)
    .bind(&content_type)
    .bind(size)
    .bind(&sha256)
    .bind(&key)
    .execute(&mut *tx)
    .await?;
    reverify::reverify(&state, &mut tx, &claim, "a new attachment").await?;
    tx.commit().await?;
    let uploaded_at = chrono::Utc::now();
    Ok(HttpResponse::Created().json(Attachment { id: attachment, content_type, size_bytes: size, sha256, uploaded_at }))
}

/// One attachment's content: the claim's worker or insurer (or ops).
#[utoipa::path(get, path = "/v1/claims/{id}/attachments/{attachment}", tag = "claims", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("attachment" = Uuid, Path)),
    responses((status = 200, description = "the file"),
              (status = 404, body = gigcover_kit::error::Problem, content_type = "application/problem+json")))]
pub async fn download(
    caller: Authorized<roles::Any>,
    path: web::Path<(Uuid, Uuid)>,
    pool: web::Data<PgPool>,
    state: web::Data<ClaimsState>,
) -> ApiResult<HttpResponse> {
    let (claim, attachment) = path.into_inner();
    let sql = format!(
        "SELECT a.object_key, a.content_type FROM claim_attachments a JOIN claims c ON c.id = a.claim_id
         WHERE a.id = $1 AND a.claim_id = $5 AND {}",
        RecordScope::condition("c", 2)
    );
    let row: Option<(String, String)> = RecordScope::of(&caller)
        .bind(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(attachment))
        .bind(claim)
        .fetch_optional(pool.get_ref())
        .await?;
    let (key, content_type) = row.ok_or_else(|| ApiError::not_found("attachment"))?;
    let bytes = state
        .objects
        .get(&key)
        .await
        .map_err(|e| {
            ApiError::unavailable("object_store_unavailable", format!("the attachment could not be read: {e}"))
        })?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("content-disposition", "attachment"))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(bytes))
}
